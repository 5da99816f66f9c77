// parmap._core.Pool: the persistent workers behind the joblib backend
// (parmap.joblib). Jobs are Python callables of no arguments run in order of
// submission; the pool starts `start` workers and, while jobs wait in the
// queue and every worker is busy, adds workers by the task loop's rule
// (detail::workers_waiting, serialised under the GIL) up to `cap`.
#include <nanobind/nanobind.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "bindings.hpp"
#include "parmap/detail/dispatch.hpp"
#include "parmap/detail/task_loop.hpp"

namespace parmap::python {
namespace {

class pool {
 public:
  pool(int start, int cap) : cap_(static_cast<std::size_t>(std::max(1, cap))) {
    const std::lock_guard lock(mutex_);
    spawn(static_cast<std::size_t>(std::clamp(start, 1, cap)));
    monitor_ = std::thread([this] { watch(); });
  }
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
  ~pool() { shutdown(); }

  // Queues job (a new reference is taken); GIL held by the caller.
  void submit(nb::handle job) {
    const std::lock_guard lock(mutex_);
    if (stopping_) throw nb::value_error("parmap Pool: submit after shutdown");
    queue_.push_back(job.inc_ref().ptr());
    work_.notify_one();
  }

  // Runs the queued jobs to the end, then stops the workers. GIL held by the caller.
  void shutdown() {
    {
      const std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopping_ = true;
    }
    work_.notify_all();
    {
      const nb::gil_scoped_release unlocked;  // the workers need the GIL to finish
      if (monitor_.joinable()) monitor_.join();
      for (auto& w : workers_) w->thread.join();
    }
    stopped_ = true;
  }

  // Drops the jobs not yet started (their references released); returns how many.
  std::size_t cancel_pending() {
    std::deque<PyObject*> dropped;
    {
      const std::lock_guard lock(mutex_);
      dropped.swap(queue_);
    }
    for (PyObject* j : dropped) Py_DECREF(j);
    return dropped.size();
  }

  std::size_t workers() {
    const std::lock_guard lock(mutex_);
    return workers_.size();
  }

 private:
  struct worker {
    std::thread thread;
    std::atomic<int> tid{0};
    std::atomic<bool> busy{false};
  };

  void spawn(std::size_t k) {  // mutex_ held
    for (std::size_t s = 0; s < k && workers_.size() < cap_; ++s) {
      auto w = std::make_unique<worker>();
      worker* me = w.get();
      try {
        me->thread = std::thread([this, me] { run(me); });
      } catch (const std::system_error&) {
        return;  // out of threads: carry on with those there are
      }
      workers_.push_back(std::move(w));
    }
  }

  void run(worker* me) {
    me->tid.store(detail::current_thread_id());
    const nb::gil_scoped_acquire thread_state;  // this thread's Python state, kept
    const nb::gil_scoped_release idle;
    for (;;) {
      PyObject* job = nullptr;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left
        job = queue_.front();
        queue_.pop_front();
        me->busy.store(true);
      }
      {
        const nb::gil_scoped_acquire locked;
        PyObject* r = PyObject_CallNoArgs(job);
        if (r == nullptr) PyErr_WriteUnraisable(job);  // jobs report their own errors
        Py_XDECREF(r);
        Py_DECREF(job);
      }
      me->busy.store(false);
    }
  }

  // Every 10 ms: the process's CPU time (under the GIL, whoever holds it
  // computes for everyone) and how many busy workers sleep.
  void watch() {
    double last = detail::now_seconds();
    double cpu = detail::process_cpu_seconds();
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      lock.lock();
      const double now = detail::now_seconds();
      const double c = detail::process_cpu_seconds();
      const double used = c - cpu;
      cpu = c;
      std::size_t busy = 0;
      std::size_t asleep = 0;
      for (auto& w : workers_) {
        if (!w->busy.load()) continue;
        ++busy;
        if (detail::thread_waiting(w->tid.load())) ++asleep;
      }
      const bool backlog = !queue_.empty() && busy == workers_.size();
      if (backlog && workers_.size() < cap_ &&
          detail::workers_waiting(used, now - last, busy, asleep, /*serialised=*/true)) {
        spawn(std::min(workers_.size(), queue_.size()));
      }
      last = now;
    }
  }

  const std::size_t cap_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<PyObject*> queue_;
  std::deque<std::unique_ptr<worker>> workers_;
  std::thread monitor_;
  bool stopping_ = false;
  bool stopped_ = false;
};

}  // namespace

void register_pool(nb::module_& m) {
  nb::class_<pool>(m, "Pool",
                   "Workers for parmap.joblib: starts `start` threads, adds threads while they "
                   "wait (sleep, I/O) and jobs are queued, up to `cap`.")
      .def(nb::init<int, int>(), nb::arg("start"), nb::arg("cap"))
      .def("submit", &pool::submit, nb::arg("job"), "Queues a callable of no arguments.")
      .def("shutdown", &pool::shutdown, "Runs what is queued, then joins the workers.")
      .def("cancel_pending", &pool::cancel_pending, "Drops the jobs not yet started.")
      .def_prop_ro("workers", &pool::workers, "Threads started so far.");
  m.def(
      "worker_limits",
      [](int n_jobs) {
        detail::decision d;
        const detail::worker_limits lim =
            detail::plan_tasks(static_cast<std::size_t>(-1), false, options{.n_jobs = n_jobs}, d);
        return nb::make_tuple(lim.start, lim.cap);
      },
      nb::arg("n_jobs"),
      "(start, cap): the workers a parmap task loop starts with and may grow to for n_jobs.");
}

}  // namespace parmap::python
