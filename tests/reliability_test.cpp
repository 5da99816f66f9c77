// Reliability: callables that fail on every path (no terminate, no thread left
// running), host/device pointer mix-ups, more than 2^31 elements, and a
// bounded concurrency soak that watches the process's thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::backend;
using parmap::test::env_var;
using parmap::test::process_threads;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int cores() { return static_cast<int>(std::max(1U, std::thread::hardware_concurrency())); }

// Waits (up to 2 s) for threads that were told to finish to be gone.
int settled_threads(int at_most) {
  int now = process_threads();
  for (int i = 0; i < 200 && now > at_most; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = process_threads();
  }
  return now;
}

struct failing_call {
  const char* path;
  std::function<void()> call;   // must throw task_error
  std::size_t expected_index;
};

// Each path a callable can take, each failing at several indices at once: the
// lowest reaches the caller as task_error with the cause; after the call no
// thread of its own is left.
TEST(FailingCallables, EveryPathReportsTheLowestIndexAndLeavesNoThread) {
  std::vector<int> big(200000);
  std::iota(big.begin(), big.end(), 0);
  const std::vector<int> small = {0, 1, 2, 3, 4, 5, 6, 7};
  auto throws_at = [](std::vector<int> bad) {
    return [bad](int v) {
      if (std::find(bad.begin(), bad.end(), v) != bad.end()) {
        throw std::runtime_error("fails at " + std::to_string(v));
      }
      return v;
    };
  };
  const std::vector<failing_call> calls = {
      {"cpu, serial", [&] { (void)parmap::map(throws_at({150000, 9000}), big, {.n_jobs = 1}); }, 9000},
      {"cpu, parallel", [&] { (void)parmap::map(throws_at({199999, 100001, 3}), big, {.where = backend::cpu}); }, 3},
      {"automatic, cheap", [&] { (void)parmap::map(throws_at({123456, 50}), big); }, 50},
      {"automatic, expensive small map",
       [&] {
         (void)parmap::map(
             [](int v) {
               std::this_thread::sleep_for(std::chrono::milliseconds(2));
               if (v == 6 || v == 2) throw std::runtime_error("slow and failing");
               return v;
             },
             small, {.n_jobs = 4});
       },
       2},
      {"blocking",
       [&] {
         (void)parmap::map(parmap::blocking([](int v) {
                             std::this_thread::sleep_for(std::chrono::milliseconds(1));
                             if (v == 5 || v == 7) throw std::runtime_error("blocking failure");
                             return v;
                           }),
                           small);
       },
       5},
      {"tasks",
       [&] {
         std::vector<parmap::task<int>> tasks;
         for (int i = 0; i < 8; ++i) {
           tasks.push_back(parmap::delayed(
               [](int v) {
                 if (v >= 4) throw 7;  // not a std::exception
                 return v;
               },
               i));
         }
         (void)parmap::parallel(std::move(tasks), {.n_jobs = 3});
       },
       4},
      {"map_inplace", [&] {
         std::vector<int> copy = big;
         parmap::map_inplace(throws_at({77}), copy);
       },
       77},
  };
  for (const auto& c : calls) {
    SCOPED_TRACE(c.path);
    try {
      c.call();  // warm-up: OpenMP's thread pool exists from here on
    } catch (const parmap::task_error&) {
    }
    const int before = process_threads();
    try {
      c.call();
      ADD_FAILURE() << "no exception";
    } catch (const parmap::task_error& e) {
      EXPECT_EQ(e.index(), c.expected_index) << e.what();
      EXPECT_TRUE(static_cast<bool>(e.cause()));
    } catch (...) {
      ADD_FAILURE() << "an exception other than task_error";
    }
    EXPECT_LE(settled_threads(before), before) << "threads left running after the call";
  }
}

// A map inside a callable that fails: the outer index, and as cause the inner
// task_error with the inner index.
TEST(FailingCallables, InsideANestedMap) {
  const std::vector<int> outer(64, 0);
  std::vector<int> ids(outer.size());
  std::iota(ids.begin(), ids.end(), 0);
  try {
    (void)parmap::map(
        [](int i) {
          std::vector<int> inner(1000);
          std::iota(inner.begin(), inner.end(), 0);
          const auto r = parmap::map(
              [i](int j) {
                if (i == 37 && j == 500) throw std::runtime_error("inner failure");
                return j;
              },
              inner);
          return r.back();
        },
        ids, {.n_jobs = 2});
    FAIL() << "no exception";
  } catch (const parmap::task_error& e) {
    EXPECT_EQ(e.index(), 37U);
    try {
      std::rethrow_exception(e.cause());
    } catch (const parmap::task_error& inner) {
      EXPECT_EQ(inner.index(), 500U);
      EXPECT_TRUE(contains(inner.what(), "inner failure")) << inner.what();
    }
  }
}

// Residency is asked of the driver (never declared by the caller), so a host
// pointer is staged and a device pointer used in place; the wrong uses are
// refused with a typed exception.
TEST(PointerMixUps, HostAndDeviceMemoryAreToldApart) {
#if defined(PARMAP_TEST_SIM)
  parmap::test::sim_backend sim;
  parmap::test::use_backend use(sim);
  std::vector<float> host(1000);
  std::iota(host.begin(), host.end(), 0.0F);
  parmap::device_array<float> d(host);
  parmap::device_array<float> other(host.size());

  // Device memory where host memory is expected.
  EXPECT_THROW(d.upload(std::span<const float>(other.span())), std::invalid_argument);
  EXPECT_THROW(d.download(other.span()), std::invalid_argument);
  try {
    d.download(other.span());
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "GPU memory")) << e.what();
  }
  EXPECT_THROW(parmap::map_inplace(parmap::ops::square, d.span(), {.where = backend::cpu}),
               parmap::backend_unavailable);
  EXPECT_THROW((void)parmap::map([](float v) { return v; }, std::span<const float>(d.span())),
               parmap::backend_unavailable);
  EXPECT_EQ(d.to_vector(), host) << "refused calls modified the device data";

  // A pointer into the middle of a device allocation is device memory too.
  parmap::report r;
  parmap::map_inplace(parmap::ops::negate, d.span().subspan(10, 100), {.out_report = &r});
  EXPECT_EQ(r.used, backend::gpu) << r.reason;
  const auto back = d.to_vector();
  for (std::size_t i = 0; i < back.size(); ++i) {
    ASSERT_EQ(back[i], (i >= 10 && i < 110) ? -host[i] : host[i]) << i;
  }

  // Host in, device out and device in, host out: staged on the side that needs it.
  parmap::map(parmap::ops::square, std::span<const float>(host), other.span());
  EXPECT_EQ(other.to_vector()[999], 999.0F * 999.0F);
  std::vector<float> host_out(host.size());
  parmap::map(parmap::ops::shift(1.0F), std::span<const float>(other.span()),
              std::span<float>(host_out));
  EXPECT_EQ(host_out[3], 10.0F);
#else
  GTEST_SKIP() << "needs the simulated GPU";
#endif
}

std::uint64_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  while (f >> key >> kb) {
    if (key == "MemAvailable:") return kb * 1024;
    f.ignore(64, '\n');
  }
  return 0;
}

// Indices past 2^31: an int8 map of 2^31 + 3 elements in place (2 GiB).
TEST(Large, MoreThan2Pow31Elements) {
  constexpr std::size_t n = (std::size_t{1} << 31) + 3;
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "two minutes under ThreadSanitizer; run in the other builds";
#endif
  if (available_memory_bytes() < 6 * (std::uint64_t{1} << 30)) {
    GTEST_SKIP() << "needs 6 GiB of free memory";
  }
  std::vector<std::int8_t> v(n);  // zeros
  v[(std::size_t{1} << 31) - 1] = 10;
  v[std::size_t{1} << 31] = 20;
  v[n - 1] = -128;
  parmap::report r;
  parmap::map_inplace(parmap::ops::shift(std::int8_t{1}), std::span<std::int8_t>(v),
                      {.where = backend::cpu, .out_report = &r});
  EXPECT_EQ(r.n, n);
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[(std::size_t{1} << 31) - 1], 11);
  EXPECT_EQ(v[std::size_t{1} << 31], 21);
  EXPECT_EQ(v[n - 2], 1);
  EXPECT_EQ(v[n - 1], -127);
  EXPECT_EQ(static_cast<std::size_t>(std::count(v.begin(), v.end(), std::int8_t{1})), n - 3);
}

// 8 threads x 200 calls mixing paths, sizes, scopes, blocking calls, tasks,
// nested and failing maps (with the simulated GPU installed where built), the
// environment steering automatic mode; every result checked; the process's
// thread count watched throughout and bounded.
TEST(Soak, EightThreadsMixedCalls) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 200;
  constexpr int kBlockingCap = 4;
  const env_var min("PARMAP_GPU_MIN_ELEMENTS", "2048");
  const env_var cap("PARMAP_MAX_BLOCKING", "4");
  const env_var be("PARMAP_BACKEND", nullptr);
#if defined(PARMAP_TEST_SIM)
  parmap::test::sim_backend sim;
  const parmap::test::use_backend use(sim);
  const bool gpu = true;
#else
  const bool gpu = parmap::gpu_available();
#endif
  // A first thread, joined: ThreadSanitizer starts its own background thread
  // at the first thread creation, which is not ours to count.
  std::thread([] {}).join();
  const int baseline = process_threads();
  std::atomic<bool> stop{false};
  std::atomic<int> peak{baseline};
  std::thread monitor([&] {
    while (!stop.load()) {
      const int t = process_threads();
      int p = peak.load();
      while (t > p && !peak.compare_exchange_weak(p, t)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });

  std::atomic<int> wrong{0};
  std::mutex first_mutex;
  std::string first_wrong;
  auto fail = [&](int t, int c, const std::string& what) {
    if (wrong++ == 0) {
      const std::lock_guard lock(first_mutex);
      first_wrong = "thread " + std::to_string(t) + " call " + std::to_string(c) + ": " + what;
    }
  };
  const std::uint64_t seed = std::random_device{}();
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
      auto pick = [&rng](std::size_t k) { return static_cast<std::size_t>(rng() % k); };
      const int jobs[] = {1, 2, -1};
      for (int c = 0; c < kCalls; ++c) {
        const std::size_t n = pick(2) != 0 ? pick(100) : pick(150000);
        const int n_jobs = jobs[pick(3)];
        try {
          switch (pick(8)) {
            case 0: {  // a device op, any backend
              std::vector<float> x(n);
              std::iota(x.begin(), x.end(), -50.0F);
              const backend where[] = {backend::automatic, backend::cpu, backend::gpu};
              const backend w = where[pick(gpu ? 3 : 2)];
              const auto y = parmap::map(parmap::ops::square, x, {.where = w, .n_jobs = n_jobs});
              for (std::size_t i = 0; i < n; ++i) {
                if (y[i] != x[i] * x[i]) {
                  fail(t, c, "square");
                  break;
                }
              }
              break;
            }
            case 1: {  // in place under a scope
              const parmap::scoped_backend scope(pick(2) != 0 ? backend::cpu : backend::automatic,
                                                 n_jobs);
              std::vector<double> x(n, 3.0);
              parmap::map_inplace(parmap::ops::affine(2.0, 1.0), x);
              if (std::any_of(x.begin(), x.end(), [](double v) { return v != 7.0; })) {
                fail(t, c, "affine in place");
              }
              break;
            }
            case 2: {  // an arbitrary callable
              std::vector<std::int64_t> x(n);
              std::iota(x.begin(), x.end(), std::int64_t{t});
              const auto y = parmap::map([](std::int64_t v) { return v * 3 - 1; }, x, {.n_jobs = n_jobs});
              for (std::size_t i = 0; i < n; ++i) {
                if (y[i] != x[i] * 3 - 1) {
                  fail(t, c, "int64 lambda");
                  break;
                }
              }
              break;
            }
            case 3: {  // blocking
              std::vector<int> x(24);
              std::iota(x.begin(), x.end(), 0);
              const auto y = parmap::map(parmap::blocking([](int v) {
                                           std::this_thread::sleep_for(std::chrono::microseconds(200));
                                           return v * 2;
                                         }),
                                         x, {.n_jobs = pick(2) != 0 ? kBlockingCap : -1});
              if (y.back() != 46 || y.front() != 0) fail(t, c, "blocking");
              break;
            }
            case 4: {  // tasks
              std::vector<parmap::task<int>> tasks;
              for (int i = 0; i < 16; ++i) tasks.push_back(parmap::delayed([](int a, int b) { return a * b; }, i, t));
              const auto r = parmap::parallel(std::move(tasks), {.n_jobs = n_jobs});
              if (r.size() != 16 || r[15] != 15 * t) fail(t, c, "tasks");
              break;
            }
            case 5: {  // failing
              std::vector<int> x(n + 1);
              std::iota(x.begin(), x.end(), 0);
              const int bad = static_cast<int>(pick(n + 1));
              try {
                (void)parmap::map(
                    [bad](int v) {
                      if (v >= bad) throw std::runtime_error("soak failure");
                      return v;
                    },
                    x, {.n_jobs = n_jobs});
                fail(t, c, "no exception");
              } catch (const parmap::task_error& e) {
                if (e.index() != static_cast<std::size_t>(bad)) fail(t, c, "wrong failing index");
              }
              break;
            }
            case 6: {  // nested
              std::vector<int> x(8, static_cast<int>(n % 1000));
              const auto y = parmap::map(
                  [](int m) {
                    const auto inner = parmap::map([](int v) { return v + 1; }, std::vector<int>(static_cast<std::size_t>(m), 1));
                    return std::accumulate(inner.begin(), inner.end(), 0);
                  },
                  x, {.n_jobs = n_jobs});
              if (y[7] != 2 * x[7]) fail(t, c, "nested");
              break;
            }
            default: {  // transcendental on the CPU, bit for bit with libm
              std::vector<double> x(n);
              std::iota(x.begin(), x.end(), -20.0);
              const auto y = parmap::map(parmap::ops::exp, x, {.where = backend::cpu, .n_jobs = n_jobs});
              for (std::size_t i = 0; i < n; ++i) {
                if (y[i] != std::exp(x[i])) {
                  fail(t, c, "exp");
                  break;
                }
              }
              break;
            }
          }
        } catch (const std::exception& e) {
          fail(t, c, std::string("unexpected exception: ") + e.what());
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  stop = true;
  monitor.join();
  EXPECT_EQ(wrong.load(), 0) << first_wrong << " (seed " << seed << ")";
  // Callers, the monitor, per caller an idle OpenMP team and the workers of a
  // task loop (cores, or the blocking cap), slack. A thread leaked per call
  // would pass it within a few hundred of the 1600 calls.
  const int bound = baseline + kThreads + 1 + kThreads * (2 * cores() + kBlockingCap) + 8;
  EXPECT_LE(peak.load(), bound) << "baseline " << baseline;
  EXPECT_LE(settled_threads(baseline), baseline) << "threads left after the callers joined";
}

}  // namespace
