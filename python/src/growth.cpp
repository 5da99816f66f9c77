// The facts and the monitor behind parmap.joblib's worker pool
// (parmap/_pool.py): "all cores", the cap on calls in flight, whether a
// thread sleeps, and the task loop's own growth monitor, so that Python grows
// its pool exactly as the C++ task loop grows its own.
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>
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
  nb::class_<detail::growth_monitor>(
      m, "GrowthMonitor",
      "The task loop's growth monitor, for workers serialised by the GIL: it times the periods "
      "between its looks (wall time, the process's CPU) and applies the task loop's growth rule.")
      .def(nb::init<bool>(), nb::arg("serialised") = true)
      .def("restart", &detail::growth_monitor::restart, "Begins a period now.")
      .def(
          "end_period",
          [](detail::growth_monitor& g) {
            const detail::growth_period p = g.end_period();
            return nb::make_tuple(p.wall, p.cpu);
          },
          "Ends the period and begins the next; returns (wall seconds, process CPU seconds).")
      .def(
          "waiting",
          [](const detail::growth_monitor& g, std::pair<double, double> period, std::size_t running,
             std::size_t asleep) { return g.waiting({period.first, period.second}, running, asleep); },
          nb::arg("period"), nb::arg("running"), nb::arg("asleep"),
          "True when the `running` workers, `asleep` of them asleep now, waited rather than computed "
          "over `period` (from end_period), so more workers would help.");
}

}  // namespace parmap::python
