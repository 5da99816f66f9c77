// The notebook parmap started from, in C++: a slow `slow_square` (prints,
// sleeps one second, prints, returns a*a) mapped over linspace(0, 10, 4),
//   1. serially (4 s; only with --serial),
//   2. marked blocking: parmap::map(parmap::blocking(slow_square), xs),
//   3. unmarked, joblib style: scoped_backend(cpu, -1) + delayed / parallel,
// each printing the notebook's lines as they happen, the result and the wall time.
//   seed_slow_square [--serial] [--check-tasks]
// --check-tasks also times 64 CPU-bound tasks of ~20 ms against the ideal
// (total CPU work / cores), to show CPU-bound work is not oversubscribed.
#include <parmap/parmap.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

double slow_square(double a) {
  // One printf per line: lines from concurrent calls never tear.
  std::printf("squaring %g...\n", a);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double squared = a * a;
  std::printf("%g squared! result: %g\n", a, squared);
  std::fflush(stdout);
  return squared;
}

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = a + (b - a) * i / (n - 1);
  return v;
}

// "[0, 11.1111, 44.4444, 100]" and the exact doubles as Python prints them.
void print_result(const std::vector<double>& r) {
  std::string short_form = "[";
  std::string exact = "[";
  for (std::size_t i = 0; i < r.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", r[i]);
    short_form += (i ? ", " : "") + std::string(buf);
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, r[i]);  // shortest round trip, like repr
    std::string s(buf, end);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    exact += (i ? ", " : "") + s;
  }
  std::printf("%s]\n%s]\n", short_form.c_str(), exact.c_str());
}

bool expected(const std::vector<double>& r) {
  const auto xs = linspace(0, 10, 4);
  if (r.size() != xs.size()) return false;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r[i] != xs[i] * xs[i]) return false;
  }
  return true;
}

template <class F>
std::vector<double> timed(const char* title, F&& run, double& seconds) {
  std::printf("\n== %s\n", title);
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run();
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  print_result(r);
  std::printf("wall time: %.3f s\n", seconds);
  std::fflush(stdout);
  return r;
}

double spin_ms(int ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  double acc = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 1000; ++i) acc += std::sqrt(static_cast<double>(i) + acc * 1e-9);
  }
  return acc;
}

}  // namespace

int main(int argc, char** argv) {
  bool serial = false;
  bool check_tasks = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--serial") == 0) {
      serial = true;
    } else if (std::strcmp(argv[i], "--check-tasks") == 0) {
      check_tasks = true;
    } else {
      std::fprintf(stderr, "usage: %s [--serial] [--check-tasks]\n", argv[0]);
      return 2;
    }
  }
  const auto xs = linspace(0, 10, 4);
  bool ok = true;
  double t = 0;

  if (serial) {
    ok &= expected(timed("serial loop: [slow_square(a) for a in linspace(0, 10, 4)]", [&] {
      std::vector<double> r;
      for (double a : xs) r.push_back(slow_square(a));
      return r;
    }, t));
  }

  double t_blocking = 0;
  ok &= expected(timed("parmap::map(parmap::blocking(slow_square), xs)",
                       [&] { return parmap::map(parmap::blocking(slow_square), xs); }, t_blocking));

  double t_tasks = 0;
  ok &= expected(timed("scoped_backend(cpu, -1) + delayed(slow_square)(a) + parallel (unmarked)", [&] {
    parmap::scoped_backend guard(parmap::backend::cpu, -1);  // with parallel_backend("loky", n_jobs=-1)
    std::vector<parmap::task<double>> futures;
    for (double a : xs) futures.push_back(parmap::delayed(slow_square, a));
    return parmap::parallel(std::move(futures));
  }, t_tasks));

  std::printf("\nseed: blocking %.3f s (limit 1.05 s), unmarked tasks %.3f s (limit 1.10 s)\n", t_blocking,
              t_tasks);
  if (check_tasks) {
    constexpr int tasks = 64;
    constexpr int ms = 20;
    std::vector<parmap::task<double>> work;
    for (int i = 0; i < tasks; ++i) work.push_back(parmap::delayed(spin_ms, ms));
    parmap::report r;
    const auto t0 = std::chrono::steady_clock::now();
    (void)parmap::parallel(std::move(work), {.out_report = &r});
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
    const double ideal = tasks * ms * 1e-3 / cores;
    std::printf("cpu-bound: %d tasks x %d ms on %u cores: %.3f s, ideal %.3f s, ratio %.3f (limit 1.15); %s\n",
                tasks, ms, cores, wall, ideal, wall / ideal, r.reason.c_str());
  }
  if (!ok) {
    std::fprintf(stderr, "seed_slow_square: wrong result\n");
    return 1;
  }
  return 0;
}
