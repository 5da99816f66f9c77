// The facts and the rule behind parmap.joblib's worker pool (parmap/_pool.py):
// "all cores", the cap on calls in flight, whether a thread sleeps, and the
// task loop's growth rule, so that Python grows its pool exactly as the C++
// task loop grows its own.
#include <nanobind/nanobind.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "bindings.hpp"
#include "parmap/detail/dispatch.hpp"
#include "parmap/detail/task_loop.hpp"

namespace parmap::python {

void register_growth(nb::module_& m) {
  m.def("all_cores", &detail::all_cores,
        "Threads that n_jobs = -1 means: OpenMP's count, which honours OMP_NUM_THREADS.");
  m.def("max_blocking", &detail::max_blocking,
        "The most calls in flight for callables that wait: PARMAP_MAX_BLOCKING, else 64.");
  m.def(
      "threads_waiting",
      [](const std::vector<int>& tids) {
        // The caller holds the GIL, so a worker that wants it sleeps now even when
        // it computes. Released for a moment, the GIL goes to such a worker, which
        // then shows as running (or runnable, under load); a worker in sleep() or
        // I/O stays asleep.
        const nb::gil_scoped_release unlocked;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return static_cast<std::size_t>(
            std::count_if(tids.begin(), tids.end(), [](int tid) { return detail::thread_waiting(tid); }));
      },
      nb::arg("native_ids"),
      "How many of these threads of this process sleep (wait) rather than run, looked at with the "
      "GIL released for 1 ms so that a thread that only waited for it can take it.");
  m.def(
      "workers_waiting",
      [](double used, double wall, std::size_t running, std::size_t asleep) {
        return detail::workers_waiting(used, wall, running, asleep, /*serialised=*/true);
      },
      nb::arg("cpu_seconds"), nb::arg("wall_seconds"), nb::arg("running"), nb::arg("asleep"),
      "The task loop's growth rule for callables serialised by the GIL: over wall_seconds the "
      "process used cpu_seconds while `running` workers were busy and `asleep` of them sleep now. "
      "True when they wait rather than compute, so more workers would help.");
}

}  // namespace parmap::python
