// A consumer compiled without -fopenmp (parmap's OpenMP is private): a plain
// lambda over 2^20 doubles with n_jobs = 2 runs on 2 threads, and the report
// names the threads that ran it (a parmap built without OpenMP runs it
// serially, and says so).
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
  const bool openmp = r.reason.find("OpenMP, 2 threads") != std::string::npos;
  const bool serial = r.reason.find("built without OpenMP: serial") != std::string::npos;
  if (!ok || (openmp && seen.size() != 2) || (serial && seen.size() != 1) || openmp == serial) {
    std::fprintf(stderr, "no_openmp_consumer: the report does not name the %zu threads that ran\n", seen.size());
    return 1;
  }
  std::printf("no_openmp_consumer: all checks passed\n");
  return 0;
}
