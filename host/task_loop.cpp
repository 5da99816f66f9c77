// The task loop (see task_loop.hpp): worker threads, the growth monitor and
// the task runner.
#include "parmap/detail/task_loop.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <variant>

#include "parmap/detail/clock.hpp"
#include "parmap/detail/cpu_loop.hpp"
#include "parmap/detail/nesting.hpp"

namespace parmap::detail {
namespace {

// CPU seconds used by a running thread, or a negative value if unknown.
double thread_cpu_seconds(std::thread::native_handle_type h) noexcept {
  clockid_t id{};
  if (pthread_getcpuclockid(h, &id) != 0) return -1;
  timespec ts{};
  if (clock_gettime(id, &ts) != 0) return -1;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds used by the whole process so far (every thread).
double process_cpu_seconds() noexcept {
  timespec ts{};
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int current_thread_id() noexcept { return static_cast<int>(::syscall(SYS_gettid)); }

}  // namespace

bool thread_waiting(int tid) noexcept {
  if (tid <= 0) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return false;
  char buf[512];
  const std::size_t len = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[len] = '\0';
  const char* close = std::strrchr(buf, ')');  // the name may hold spaces and parentheses
  if (close == nullptr || close[1] != ' ') return false;
  const char state = close[2];
  return state == 'S' || state == 'D';
}

// body(i) for i in [first, n). Throws task_error for the lowest failing index;
// elements above a failure are not started.
double growth_monitor::elapsed() const noexcept { return now_seconds() - wall0_; }

void growth_monitor::restart() noexcept {
  wall0_ = now_seconds();
  cpu0_ = serialised_ ? process_cpu_seconds() : 0.0;
}

growth_period growth_monitor::end_period(double workers_cpu) noexcept {
  const double wall = now_seconds();
  growth_period p{wall - wall0_, workers_cpu};
  if (serialised_) {  // whoever holds the lock computes: the whole process's CPU
    const double cpu = process_cpu_seconds();
    p.cpu = cpu - cpu0_;
    cpu0_ = cpu;
  }
  wall0_ = wall;
  return p;
}

void task_loop(std::size_t first, std::size_t n, worker_limits lim, progress_bar* bar,
               fn_ref<void(std::size_t)> body, const loop_hooks& hooks) {
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
  growth_monitor monitor(lim.serialised);
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
    const std::size_t unstarted = n - std::min(n, next.load());
    if (slots.size() >= cap || unstarted == 0 || fail.stop() < n || monitor.elapsed() < 0.009) continue;
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
    if (monitor.waiting(monitor.end_period(used), running, asleep)) {
      const std::size_t add = std::min({cap - slots.size(), slots.size(), unstarted});
      const std::size_t before = slots.size();
      spawn(add);
      for (std::size_t k = before; k < slots.size(); ++k) {
        slots[k].cpu = thread_cpu_seconds(slots[k].thread.native_handle());
      }
    }
  }
  lock.unlock();
  for (auto& s : slots) s.thread.join();
  fail.rethrow_if_failed();
}

void run_tasks(std::size_t n, const task_run& run, const options& opt, fn_ref<void(std::size_t)> body) {
  plan p = plan_tasks(n, run.all_blocking, opt);
  if (run.hint != nullptr && p.explain) p.reason += run.hint;
  const auto& t = std::get<task_loop_run>(p.run);
  const outcome o;
  call_info info;
  info.n = n;
  info.what = run.what;
  const call_guard guard(p, o, info, opt);
  std::optional<progress_bar> bar;
  if (p.progress && n > 0) bar.emplace(n, run.label, p.progress_forced);
  static const loop_hooks none;
  task_loop(0, n, {t.workers, t.max_workers, run.serialised}, bar ? &*bar : nullptr, body,
            run.hooks != nullptr ? *run.hooks : none);
  if (bar) bar->finish();
}

}  // namespace parmap::detail
