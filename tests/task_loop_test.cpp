// The task loop's hooks, as the Python binding uses them: callables that
// compute one at a time under a shared lock (a stand-in for Python's GIL),
// a per-worker scope, and a cancellation check.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "parmap/detail/task_loop.hpp"

namespace {

using parmap::detail::loop_hooks;
using parmap::detail::task_loop;
using parmap::detail::worker_limits;
using parmap::detail::workers_waiting;
using clock_type = std::chrono::steady_clock;

TEST(GrowthRule, SerialisedWorkersShareOneCore) {
  // 8 workers over 1 s, one computing at a time (0.95 CPU s), 7 asleep waiting for the lock.
  EXPECT_TRUE(workers_waiting(0.95, 1.0, 8, 7, false));  // per-thread rule: looks blocked
  EXPECT_FALSE(workers_waiting(0.95, 1.0, 8, 7, true));  // serialised: the lock is busy
  // The holder starved of CPU by other load: still runnable, so not waiting.
  EXPECT_FALSE(workers_waiting(0.2, 1.0, 8, 7, true));
  // Everybody sleeping (I/O, sleep): waiting under both rules.
  EXPECT_TRUE(workers_waiting(0.01, 1.0, 8, 8, true));
  EXPECT_TRUE(workers_waiting(0.01, 1.0, 8, 8, false));
  EXPECT_FALSE(workers_waiting(0.0, 1.0, 0, 0, true));
}

// The one monitor (the task loop's and parmap.joblib's): a period's CPU is
// the workers' own, or for serialised workers the process's, and the rule is
// the one above. Asserts only what holds for any machine's figures.
TEST(GrowthMonitor, PeriodsAndTheRule) {
  parmap::detail::growth_monitor own(false);
  const auto p = own.end_period(0.25);
  EXPECT_EQ(p.cpu, 0.25);  // the workers' CPU, as given
  EXPECT_GE(p.wall, 0.0);
  EXPECT_TRUE(own.waiting({1.0, 0.1}, 4, 2));   // 0.1 CPU s in 4 worker-seconds, half asleep
  EXPECT_FALSE(own.waiting({1.0, 3.0}, 4, 2));  // busy
  parmap::detail::growth_monitor serialised(true);
  const auto q = serialised.end_period(100.0);
  EXPECT_LT(q.cpu, 100.0);  // ignored: the process's CPU over a moment counts
  EXPECT_GE(q.cpu, 0.0);
  EXPECT_FALSE(serialised.waiting({1.0, 0.95}, 8, 7));  // the lock is busy
  EXPECT_TRUE(serialised.waiting({1.0, 0.01}, 8, 8));   // all asleep, no CPU
}

// Workers that hold one lock while they compute, as Python threads hold the
// GIL: they must not make the loop grow beyond its start.
TEST(TaskLoop, SerialisedComputeDoesNotGrow) {
  std::mutex gil;
  std::mutex seen_mutex;
  std::set<std::thread::id> seen;
  worker_limits lim{.start = 2, .cap = 16, .serialised = true};
  task_loop(0, 60, lim, nullptr, [&](std::size_t) {
    const std::lock_guard hold(gil);
    {
      const std::lock_guard s(seen_mutex);
      seen.insert(std::this_thread::get_id());
    }
    const auto end = clock_type::now() + std::chrono::milliseconds(5);
    volatile double acc = 0;
    while (clock_type::now() < end) acc = acc + 1e-9;
  });
  EXPECT_LE(seen.size(), 2U);
}

TEST(TaskLoop, SerialisedSleepersStillGrow) {
  std::atomic<int> live{0};
  std::atomic<int> peak{0};
  worker_limits lim{.start = 1, .cap = 8, .serialised = true};
  task_loop(0, 16, lim, nullptr, [&](std::size_t) {
    const int v = ++live;
    int p = peak.load();
    while (v > p && !peak.compare_exchange_weak(p, v)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    --live;
  });
  EXPECT_GE(peak.load(), 4);
}

TEST(TaskLoop, WorkerHookWrapsEachWorkerOnce) {
  std::atomic<int> entered{0};
  std::atomic<int> inside{0};
  std::vector<int> out(100, 0);
  loop_hooks hooks;
  hooks.worker = [&](const std::function<void()>& share) {
    ++entered;
    ++inside;
    share();
    --inside;
  };
  task_loop(0, out.size(), worker_limits{.start = 3, .cap = 3}, nullptr,
            [&](std::size_t i) {
              EXPECT_GT(inside.load(), 0);  // every element runs inside a worker's scope
              out[i] = static_cast<int>(i) * 2;
            },
            hooks);
  EXPECT_EQ(entered.load(), 3);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], static_cast<int>(i) * 2);
}

TEST(TaskLoop, CheckThatThrowsCancelsTheRest) {
  std::atomic<int> started{0};
  loop_hooks hooks;
  const auto t0 = clock_type::now();
  hooks.check = [&] {
    if (clock_type::now() - t0 > std::chrono::milliseconds(50)) throw std::runtime_error("interrupted");
  };
  try {
    task_loop(0, 1000, worker_limits{.start = 2, .cap = 2}, nullptr,
              [&](std::size_t) {
                ++started;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
              },
              hooks);
    FAIL() << "the loop did not stop";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "interrupted");  // the check's own exception, not a task_error
  }
  EXPECT_LT(started.load(), 100);  // 1000 x 20 ms on 2 workers would take 10 s
  EXPECT_LT(std::chrono::duration<double>(clock_type::now() - t0).count(), 2.0);
}

}  // namespace
