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

#include <cstddef>
#include <functional>

#include "dispatch.hpp"
#include "fn_ref.hpp"
#include "progress.hpp"

namespace parmap::detail {

// Whether thread `tid` (a kernel thread id) of this process is asleep
// (waiting) rather than running or runnable (false if unknown).
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

// One period between two looks of a growth monitor: its wall time, and the
// CPU seconds the workers used in it (serialised: the whole process's).
struct growth_period {
  double wall = 0;
  double cpu = 0;
};

// The one growth monitor, of every task loop and of parmap.joblib's pool
// (through parmap._core): it times the periods between its looks and applies
// the growth rule (workers_waiting) to each.
class growth_monitor {
 public:
  explicit growth_monitor(bool serialised) noexcept : serialised_(serialised) { restart(); }
  // Seconds since the period began.
  [[nodiscard]] double elapsed() const noexcept;
  // Begins a period now.
  void restart() noexcept;
  // Ends the period and begins the next. workers_cpu: the CPU seconds the
  // workers used in it (ignored for serialised workers: the process's count).
  growth_period end_period(double workers_cpu = 0) noexcept;
  // The rule over period p: true when the `running` workers, `asleep` of them
  // asleep now, wait rather than compute, so more workers would help.
  [[nodiscard]] bool waiting(const growth_period& p, std::size_t running, std::size_t asleep) const noexcept {
    return workers_waiting(p.cpu, p.wall, running, asleep, serialised_);
  }

 private:
  bool serialised_;
  double wall0_ = 0;
  double cpu0_ = 0;  // the process's CPU seconds at the period's start (serialised)
};

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

// body(i) for i in [first, n) on a task loop of lim's workers, made for the
// call and joined before it returns (host/task_loop.cpp). Throws task_error
// for the lowest failing index; elements above a failure are not started.
// bar, when not null, counts the elements done.
void task_loop(std::size_t first, std::size_t n, worker_limits lim, progress_bar* bar,
               fn_ref<void(std::size_t)> body, const loop_hooks& hooks = {});

// The one task runner of parallel(), the Python callables and tasks: plans the
// loop (plan_tasks), draws the progress bar when asked, runs body(i) for i in
// [0, n) and fills the report. `what` names the call in reports and logs,
// `label` the progress bar.
struct task_run {
  const char* what = "parallel";
  const char* label = "parmap::parallel";
  bool all_blocking = false;  // every task is marked blocking: start at the cap
  bool serialised = false;    // see worker_limits::serialised
  const loop_hooks* hooks = nullptr;
  const char* hint = nullptr;  // added to the reason (report and PARMAP_VERBOSE)
};
void run_tasks(std::size_t n, const task_run& run, const options& opt, fn_ref<void(std::size_t)> body);

}  // namespace parmap::detail
