// Blocking callables, joblib-style tasks, the growing task loop, progress bar,
// nested and concurrent use. Times are bounded only to prove concurrency, with
// wide margins.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using parmap::test::env_var;
using parmap::test::process_threads;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Tracks how many calls are in flight at once.
struct concurrency {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  void enter() {
    const int v = ++now;
    int p = peak.load();
    while (v > p && !peak.compare_exchange_weak(p, v)) {
    }
  }
  void leave() { --now; }
};

int cores() { return std::max(1U, std::thread::hardware_concurrency()); }

TEST(Blocking, MarkedCallsOverlap) {
  std::vector<int> xs = {0, 1, 2, 3, 4, 5, 6, 7};
  const auto t0 = clock_type::now();
  parmap::report r;
  const auto out = parmap::map(parmap::blocking([](int v) {
                                 std::this_thread::sleep_for(std::chrono::milliseconds(200));
                                 return v * 10;
                               }),
                               xs, {.out_report = &r});
  const double wall = seconds_since(t0);
  EXPECT_LT(wall, 0.6) << "8 x 200 ms blocking calls did not overlap";
  EXPECT_EQ(out, (std::vector<int>{0, 10, 20, 30, 40, 50, 60, 70}));
  EXPECT_EQ(r.used, parmap::backend::cpu);
  EXPECT_NE(r.reason.find("8 calls in flight"), std::string::npos) << r.reason;
}

TEST(Blocking, UnmarkedTasksAreDetectedAndGrow) {
  std::vector<parmap::task<int>> tasks;
  for (int i = 0; i < 8; ++i) {
    tasks.push_back(parmap::delayed(
        [](int v) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          return v + 1;
        },
        i));
  }
  const auto t0 = clock_type::now();
  const auto out = parmap::parallel(std::move(tasks));
  EXPECT_LT(seconds_since(t0), 0.6) << "unmarked sleeping tasks were not given more workers";
  EXPECT_EQ(out, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(Blocking, UnmarkedSmallMapGrowsAfterTheFirstElement) {
  // Element 0 runs (timed) on the caller; the rest go to a growing task loop.
  const std::vector<int> xs = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const auto t0 = clock_type::now();
  const auto out = parmap::map(
      [](int v) {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        return v;
      },
      xs);
  EXPECT_LT(seconds_since(t0), 0.75) << "9 x 150 ms unmarked calls ran one or two at a time";
  EXPECT_EQ(out, xs);
}

TEST(Blocking, CpuBoundTasksAreNotOversubscribed) {
  concurrency c;
  std::vector<parmap::task<double>> tasks;
  for (int i = 0; i < 24; ++i) {
    tasks.push_back(parmap::delayed([&c] {
      c.enter();
      const auto end = clock_type::now() + std::chrono::milliseconds(30);
      double acc = 0;
      while (clock_type::now() < end) acc += 1e-9;
      c.leave();
      return acc;
    }));
  }
  (void)parmap::parallel(std::move(tasks));
  EXPECT_LE(c.peak.load(), cores());
  EXPECT_GE(c.peak.load(), 1);
}

TEST(Blocking, NJobsBoundsCallsInFlight) {
  concurrency c;
  std::vector<int> xs(10, 1);
  auto f = parmap::blocking([&c](int v) {
    c.enter();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    c.leave();
    return v;
  });
  (void)parmap::map(f, xs, {.n_jobs = 3});
  EXPECT_EQ(c.peak.load(), 3);
  c.peak = 0;
  {
    env_var cap("PARMAP_MAX_BLOCKING", "4");
    (void)parmap::map(f, xs);
  }
  EXPECT_EQ(c.peak.load(), 4);
}

TEST(Tasks, ResultsInInputOrderAndArgumentsCopied) {
  std::string s = "ab";
  std::vector<parmap::task<std::string>> tasks;
  for (int i = 0; i < 20; ++i) {
    tasks.push_back(parmap::delayed([](std::string base, int k) { return base + std::to_string(k); }, s, i));
  }
  s = "changed";  // copied at delayed(): the tasks do not see this
  const auto out = parmap::parallel(std::move(tasks), {.n_jobs = 4});
  ASSERT_EQ(out.size(), 20U);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], "ab" + std::to_string(i));
}

TEST(Tasks, VoidTasksRunEachOnce) {
  std::atomic<int> sum{0};
  std::vector<parmap::task<void>> tasks;
  for (int i = 1; i <= 100; ++i) tasks.push_back(parmap::delayed([&sum](int k) { sum += k; }, i));
  parmap::parallel(std::move(tasks));
  EXPECT_EQ(sum.load(), 5050);
  parmap::parallel(std::vector<parmap::task<void>>{});  // empty: nothing runs
}

TEST(Tasks, ExceptionsGiveLowestIndexAndStopLaterTasks) {
  std::atomic<int> started{0};
  std::vector<parmap::task<int>> tasks;
  for (int i = 0; i < 200; ++i) {
    tasks.push_back(parmap::delayed(
        [&started](int k) {
          ++started;
          if (k == 5 || k == 7) throw std::runtime_error("task " + std::to_string(k));
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          return k;
        },
        i));
  }
  try {
    (void)parmap::parallel(std::move(tasks), {.n_jobs = 2});
    FAIL() << "no exception";
  } catch (const parmap::task_error& e) {
    EXPECT_EQ(e.index(), 5U);
    EXPECT_NE(std::string(e.what()).find("task 5"), std::string::npos) << e.what();
  }
  EXPECT_LT(started.load(), 20) << "tasks kept starting after the failure";
}

TEST(Tasks, NonStdExceptionOnTheBlockingPath) {
  try {
    (void)parmap::map(parmap::blocking([](int v) {
                        if (v == 2) throw 7;
                        return v;
                      }),
                      std::vector<int>{0, 1, 2, 3});
    FAIL() << "no exception";
  } catch (const parmap::task_error& e) {
    EXPECT_EQ(e.index(), 2U);
  }
}

TEST(Tasks, GpuForcedIsRefused) {
  std::vector<parmap::task<int>> tasks;
  tasks.push_back(parmap::delayed([] { return 1; }));
  EXPECT_THROW((void)parmap::parallel(std::move(tasks), {.where = parmap::backend::gpu}),
               parmap::backend_unavailable);
}

TEST(Tasks, ScopedBackendSetsNJobs) {
  concurrency c;
  std::vector<parmap::task<int>> tasks;
  for (int i = 0; i < 6; ++i) {
    tasks.push_back(parmap::delayed([&c] {
      c.enter();
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      c.leave();
      return 0;
    }));
  }
  parmap::scoped_backend guard(parmap::backend::cpu, 3);
  (void)parmap::parallel(std::move(tasks));
  EXPECT_EQ(c.peak.load(), 3);
}

TEST(Progress, BarOnStderrWhenForced) {
  env_var force("PARMAP_PROGRESS", "force");
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  (void)parmap::map(parmap::blocking([](int v) {
                      std::this_thread::sleep_for(std::chrono::milliseconds(30));
                      return v;
                    }),
                    std::vector<int>(12, 1), {.n_jobs = 2});
  const std::string out = ::testing::internal::GetCapturedStdout();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(out.empty()) << "progress went to stdout";
  EXPECT_NE(err.find("parmap::map ["), std::string::npos) << err;
  EXPECT_NE(err.find("12/12 100%"), std::string::npos) << err;
  EXPECT_NE(err.find("ETA"), std::string::npos) << err;
  EXPECT_EQ(err.back(), '\n');
}

TEST(Progress, NoBarWhenStderrIsNotATerminal) {
  ::testing::internal::CaptureStderr();
  (void)parmap::map(parmap::blocking([](int v) { return v; }), std::vector<int>(5, 1), {.progress = true});
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(Nested, InnerMapsRunSeriallyWithoutThreadExplosion) {
  const int before = process_threads();
  std::atomic<int> peak_threads{0};
  std::vector<int> outer(16);
  for (int i = 0; i < 16; ++i) outer[static_cast<std::size_t>(i)] = i;
  const auto sums = parmap::map(parmap::blocking([&peak_threads](int k) {
                                  std::vector<int> inner(1000, k);
                                  parmap::report r;
                                  const auto sq = parmap::map(parmap::blocking([](int v) { return v * v; }),
                                                              inner, {.out_report = &r});
                                  const int t = process_threads();
                                  int p = peak_threads.load();
                                  while (t > p && !peak_threads.compare_exchange_weak(p, t)) {
                                  }
                                  if (r.reason.find("nested") == std::string::npos) throw std::logic_error(r.reason);
                                  long s = 0;
                                  for (int v : sq) s += v;
                                  return s;
                                }),
                                outer, {.n_jobs = 4});
  for (int k = 0; k < 16; ++k) EXPECT_EQ(sums[static_cast<std::size_t>(k)], 1000L * k * k);
  EXPECT_LE(peak_threads.load(), before + 4 + 2) << "nested maps started threads of their own";
  EXPECT_LE(process_threads(), before + 2) << "threads left running after the call";
}

TEST(Concurrency, ManyThreadsCallingAtOnce) {
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&wrong, t] {
      for (int rep = 0; rep < 20; ++rep) {
        std::vector<float> x(5000 + static_cast<std::size_t>(t) * 1000, static_cast<float>(t));
        const auto y = parmap::map(parmap::ops::square, x);
        const auto z = parmap::map([](float v) { return v + 1.0F; }, x);
        if (y.back() != static_cast<float>(t * t) || z.front() != static_cast<float>(t) + 1.0F) ++wrong;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
