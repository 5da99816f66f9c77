// The host loop for blocking callables and tasks: worker threads made for the
// call and joined before it returns (nothing runs after it), one element at a
// time, and more workers while the running ones sit waiting.
//
// The growth rule: every 10 ms, while elements remain unstarted, the loop
// reads each running worker's CPU time (the thread's CPU clock) and state. If
// together they used less than half of the wall time they were running and at
// least half of them are asleep right now (sleeping, waiting for I/O or a
// lock), they are waiting, not computing, and the loop doubles the workers, up
// to the cap. Workers that compute keep their CPU busy, or are runnable when
// other load takes it, so CPU-bound callables stay at the starting count (the
// cores). Callables that compute one at a time under a shared lock (Python's
// GIL) set worker_limits::serialised: then the lock's holder computes for
// everyone, and the workers are waiting only when every one of them sleeps
// (the holder of a busy lock runs, or is runnable under other load) and the
// whole process (the lock may be held by a thread that is not a worker) used
// less than half of one core, so a worker that waits for the lock is never
// taken for a blocked one.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include "cpu_loop.hpp"
#include "dispatch.hpp"
#include "progress.hpp"

namespace parmap::detail {

// CPU seconds used by a running thread, or a negative value if unknown.
double thread_cpu_seconds(std::thread::native_handle_type h) noexcept;
// CPU seconds used by the whole process so far (every thread).
double process_cpu_seconds() noexcept;
// The calling thread's kernel id, and whether thread `tid` of this process is
// asleep (waiting) rather than running or runnable (false if unknown).
int current_thread_id() noexcept;
bool thread_waiting(int tid) noexcept;

// The growth rule: over `wall` seconds, `running` workers used `used` CPU
// seconds and `asleep` of them sleep now. True when they are waiting rather
// than computing, so more workers would help.
inline bool workers_waiting(double used, double wall, std::size_t running, std::size_t asleep,
                            bool serialised) noexcept {
  if (running == 0) return false;
  if (serialised) {
    // The lock's holder computes for everyone and is running (or runnable,
    // when other load takes the core); the rest sleep on the lock. Waiting
    // means: every worker asleep, and under half a core used.
    return used < 0.5 * wall && asleep == running;
  }
  return used < 0.5 * wall * static_cast<double>(running) && 2 * asleep >= running;
}

// Optional hooks of one loop, both run by parmap's threads.
struct loop_hooks {
  // Wraps each worker's whole run (e.g. to hold an interpreter's thread state);
  // must call its argument once.
  std::function<void(const std::function<void()>&)> worker;
  // Called every ~10 ms on the calling thread while the loop runs. When it
  // throws, no further element starts, the running ones finish, and the loop
  // throws that exception (e.g. an interrupt).
  std::function<void()> check;
};

// body(i) for i in [first, n). Throws task_error for the lowest failing index;
// elements above a failure are not started.
template <class Body>
void task_loop(std::size_t first, std::size_t n, worker_limits lim, progress_bar* bar, Body&& body,
               const loop_hooks& hooks = {}) {
  failure fail(n);
  if (first >= n) return;
  std::atomic<std::size_t> next{first};
  struct slot {
    std::thread thread;
    bool finished = false;  // guarded by mutex
    double cpu = 0;         // CPU seconds at the last check
    std::atomic<int> tid{0};
  };
  std::deque<slot> slots;  // stable addresses while growing
  std::mutex mutex;
  std::condition_variable cv;

  // One element: a failure is recorded, and stops elements above it.
  auto run_one = [&](std::size_t i) {
    try {
      body(i);
    } catch (...) {
      fail.record(i, std::current_exception());
    }
    if (bar != nullptr) bar->add();
  };
  auto work = [&](slot* me) {
    me->tid.store(current_thread_id());
    {
      const nested_scope nested;
      auto share = [&] {
        for (std::size_t i = next.fetch_add(1); i < n && i < fail.stop(); i = next.fetch_add(1)) {
          run_one(i);
        }
      };
      if (hooks.worker) {
        try {
          hooks.worker(share);
        } catch (...) {
          fail.abort(std::current_exception());
        }
      } else {
        share();
      }
    }
    const std::lock_guard lock(mutex);
    me->finished = true;
    cv.notify_one();
  };
  // Adds up to k workers; false when none could be started.
  auto spawn = [&](std::size_t k) {
    std::size_t started = 0;
    for (; started < k; ++started) {
      slot& s = slots.emplace_back();
      try {
        s.thread = std::thread(work, &s);
      } catch (const std::system_error&) {
        slots.pop_back();  // out of threads: carry on with those we have
        break;
      }
    }
    return started > 0;
  };

  const std::size_t remaining = n - first;
  const auto cap = static_cast<std::size_t>(std::max(1, lim.cap));
  std::unique_lock lock(mutex);
  if (!spawn(std::min<std::size_t>(remaining, static_cast<std::size_t>(std::max(1, lim.start))))) {
    lock.unlock();
    auto here = [&] {  // no thread at all: run here
      for (std::size_t i = first; i < n && i < fail.stop(); ++i) run_one(i);
    };
    if (hooks.worker) {
      hooks.worker(here);
    } else {
      here();
    }
    fail.rethrow_if_failed();
    return;
  }
  double last = now_seconds();
  double process_cpu = lim.serialised ? process_cpu_seconds() : 0.0;
  for (auto& s : slots) s.cpu = thread_cpu_seconds(s.thread.native_handle());
  for (;;) {
    if (std::all_of(slots.begin(), slots.end(), [](const slot& s) { return s.finished; })) break;
    cv.wait_for(lock, std::chrono::milliseconds(10));
    if (hooks.check) {
      lock.unlock();  // the check may wait (for an interpreter lock, say)
      try {
        hooks.check();
      } catch (...) {
        fail.abort(std::current_exception());
      }
      lock.lock();
    }
    const double now = now_seconds();
    const std::size_t unstarted = n - std::min(n, next.load());
    if (slots.size() >= cap || unstarted == 0 || fail.stop() < n || now - last < 0.009) continue;
    double used = 0;
    std::size_t running = 0;
    std::size_t asleep = 0;
    for (auto& s : slots) {
      if (s.finished) continue;
      const double c = thread_cpu_seconds(s.thread.native_handle());
      if (c < 0) continue;
      used += c - s.cpu;
      s.cpu = c;
      ++running;
      if (thread_waiting(s.tid.load())) ++asleep;
    }
    if (lim.serialised) {  // whoever holds the lock: the whole process's CPU
      const double p = process_cpu_seconds();
      used = p - process_cpu;
      process_cpu = p;
    }
    if (workers_waiting(used, now - last, running, asleep, lim.serialised)) {
      const std::size_t add = std::min({cap - slots.size(), slots.size(), unstarted});
      const std::size_t before = slots.size();
      spawn(add);
      for (std::size_t k = before; k < slots.size(); ++k) {
        slots[k].cpu = thread_cpu_seconds(slots[k].thread.native_handle());
      }
    }
    last = now;
  }
  lock.unlock();
  for (auto& s : slots) s.thread.join();
  fail.rethrow_if_failed();
}

}  // namespace parmap::detail
