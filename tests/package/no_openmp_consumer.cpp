// A consumer compiled without -fopenmp (parmap's OpenMP is private): a plain
// lambda over 2^20 doubles still runs on the threads the report names.
#include <parmap/parmap.hpp>

#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#if defined(_OPENMP)
#error "this consumer must be compiled without OpenMP"
#endif

int main() {
  std::vector<double> x(std::size_t{1} << 20, 1.5);
  std::mutex mutex;
  std::set<std::thread::id> seen;
  const auto f = [&](double v) {
    const std::lock_guard lock(mutex);
    seen.insert(std::this_thread::get_id());
    return v * v;
  };
  parmap::report r;
  const std::vector<double> y = parmap::map(f, x, {.n_jobs = 2, .out_report = &r});
  bool ok = y.size() == x.size();
  for (std::size_t i = 0; ok && i < y.size(); ++i) ok = y[i] == 2.25;
  std::printf("no_openmp_consumer: %zu threads ran the lambda; report: %s (%s)\n", seen.size(),
              parmap::to_string(r.used), r.reason.c_str());
  const std::string want = "OpenMP, " + std::to_string(seen.size()) + " threads";
  if (!ok || seen.size() != 2 || r.reason.find(want) == std::string::npos) {
    std::fprintf(stderr, "no_openmp_consumer: expected 2 threads and a report saying \"%s\"\n", want.c_str());
    return 1;
  }
  std::printf("no_openmp_consumer: all checks passed\n");
  return 0;
}
