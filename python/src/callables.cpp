// Python callables on parmap's task loop (host threads made for the call).
//
// Each worker takes the GIL once for its whole run: the interpreter hands the
// GIL between threads by itself (every switch interval, and whenever a call
// waits in sleep or I/O), so a worker holds it only while it runs Python code.
// The loop is told the callables are serialised: the workers together use at
// most one core, and they are counted as waiting only when they use less than
// half of it. CPU-bound callables therefore never make the loop add workers
// (a worker waiting for the GIL is not a blocked worker); callables that
// sleep or wait on I/O release the GIL, use no CPU, and the loop grows.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <functional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "parmap/tasks.hpp"

namespace parmap::python {
namespace {

// Items of an iterable as a list (a list or tuple is used as it is).
nb::object as_sequence(nb::handle items) {
  if (PyList_Check(items.ptr()) || PyTuple_Check(items.ptr())) return nb::borrow(items);
  PyObject* seq = PySequence_List(items.ptr());
  if (seq == nullptr) throw nb::python_error();
  return nb::steal(seq);
}

bool marked_blocking(nb::handle f) {
  PyObject* v = PyObject_GetAttrString(f.ptr(), "__parmap_blocking__");
  if (v == nullptr) {
    PyErr_Clear();
    return false;
  }
  const int truth = PyObject_IsTrue(v);
  Py_DECREF(v);
  return truth == 1;
}

// Runs call(i) for every i on the task loop, with the GIL held by the workers.
// Returns the results; throws task_error, or the interrupt the check raised.
std::vector<nb::object> run_items(std::size_t n, bool all_blocking, const options& opt,
                                  const char* what, const std::function<PyObject*(std::size_t)>& call,
                                  const char* hint = nullptr) {
  std::vector<nb::object> results(n);
  detail::loop_hooks hooks;
  hooks.worker = [](const std::function<void()>& share) {
    const nb::gil_scoped_acquire locked;
    share();
  };
  hooks.check = [] {  // Ctrl-C: only the main thread sees signals
    const nb::gil_scoped_acquire locked;
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
  };
  detail::task_run run;
  run.what = what;
  run.label = "parmap.map";
  run.all_blocking = all_blocking;
#if !defined(Py_GIL_DISABLED)
  run.serialised = true;
#endif
  run.hooks = &hooks;
  run.hint = hint;
  const nb::gil_scoped_release unlocked;
  detail::run_tasks(n, run, opt, [&](std::size_t i) {
    PyObject* r = call(i);
    if (r == nullptr) throw nb::python_error();
    results[i] = nb::steal(r);
  });
  return results;
}

nb::list to_list(std::vector<nb::object>& results) {
  nb::list out;
  for (auto& r : results) out.append(std::move(r));
  return out;
}

// parmap.parallel(tasks): each task is a callable of no arguments
// (parmap.delayed makes them); blocking when every task is marked.
nb::object run_tasks(nb::handle tasks, nb::handle where, int n_jobs, bool progress, nb::handle rep) {
  nb::object seq = as_sequence(tasks);
  const auto n = static_cast<std::size_t>(PySequence_Fast_GET_SIZE(seq.ptr()));
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  bool all_blocking = n > 0;
  for (std::size_t i = 0; i < n && all_blocking; ++i) all_blocking = marked_blocking(items[i]);
  parmap::report r;
  const options opt = make_options(where, n_jobs, progress, rep, &r);
  auto results = run_items(n, all_blocking, opt, "parallel",
                           [&](std::size_t i) { return PyObject_CallNoArgs(items[i]); });
  fill_report(rep, r);
  return to_list(results);
}

}  // namespace

nb::object map_callable(nb::handle f, nb::handle items, nb::handle where, int n_jobs,
                        bool progress, nb::handle rep) {
  if (!PyCallable_Check(f.ptr())) {
    throw nb::type_error(("f must be a parmap.ops op or a callable, got " +
                          std::string(nb::repr(f).c_str()))
                             .c_str());
  }
  nb::object seq = as_sequence(items);
  const auto n = static_cast<std::size_t>(PySequence_Fast_GET_SIZE(seq.ptr()));
  PyObject** elems = PySequence_Fast_ITEMS(seq.ptr());
  parmap::report r;
  const options opt = make_options(where, n_jobs, progress, rep, &r);
  // A large numeric array through a plain Python function: one call per
  // element, under the GIL. Say what runs it in C++ instead.
  const bool blocking = marked_blocking(f);
  bool numeric = false;
  if (!blocking && n >= 10000 && nb::hasattr(items, "dtype")) {
    const std::string kind = nb::str(nb::object(items.attr("dtype").attr("kind"))).c_str();
    numeric = kind == "f" || kind == "i" || kind == "u" || kind == "b";
  }
  auto results = run_items(n, blocking, opt, "python callable",
                           [&](std::size_t i) { return PyObject_CallOneArg(f.ptr(), elems[i]); },
                           numeric ? "; hint: a numeric array through a Python function runs one call per element "
                                     "under the GIL: decorate a numeric function with @parmap.elementwise to run "
                                     "it fused in C++"
                                   : nullptr);
  fill_report(rep, r);
  return to_list(results);
}

void register_callables(nb::module_& m) {
  m.def("parallel", &run_tasks, nb::arg("tasks"), nb::kw_only(), nb::arg("backend") = "auto",
        nb::arg("n_jobs") = -1, nb::arg("progress") = false, nb::arg("report") = nb::none(),
        "Runs callables of no arguments (made by parmap.delayed) on parmap's worker threads and "
        "returns their results in input order. Errors, n_jobs and Ctrl-C as for parmap.map.");
}

}  // namespace parmap::python
