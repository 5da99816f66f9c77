// parmap._core: the module, its report and scoped-backend types, and the
// option helpers every binding uses.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <optional>
#include <string>

#include "bindings.hpp"
#include "parmap/config.hpp"
#include "parmap/detail/dispatch.hpp"
#include "parmap/device.hpp"
#include "parmap/options.hpp"

namespace parmap::python {

backend parse_backend(nb::handle name) {
  if (PyUnicode_Check(name.ptr())) {
    if (PyUnicode_CompareWithASCIIString(name.ptr(), "auto") == 0) return backend::automatic;
    if (PyUnicode_CompareWithASCIIString(name.ptr(), "cpu") == 0) return backend::cpu;
    if (PyUnicode_CompareWithASCIIString(name.ptr(), "gpu") == 0) return backend::gpu;
  }
  throw nb::value_error(
      ("backend must be \"auto\", \"cpu\" or \"gpu\", got " + std::string(nb::repr(name).c_str()))
          .c_str());
}

options make_options(nb::handle backend_name, int n_jobs, bool progress, nb::handle report,
                     parmap::report* r) {
  options opt{.where = parse_backend(backend_name), .n_jobs = n_jobs, .progress = progress};
  if (!report.is_none()) {
    if (!nb::isinstance<py_report>(report)) {
      throw nb::type_error("report must be a parmap.Report or None");
    }
    opt.out_report = r;
  }
  return opt;
}

void fill_report(nb::handle report, const parmap::report& r) {
  if (report.is_none()) return;
  auto& p = nb::cast<py_report&>(report);
  p.used = to_string(r.used);
  p.reason = r.reason;
  p.n = r.n;
  p.seconds = r.seconds;
}

namespace {

// `with parmap.scoped_backend("cpu", n_jobs=2):` -- the C++ scope lives from
// __enter__ to __exit__ on the entering thread.
struct py_scope {
  backend where;
  int n_jobs;
  std::optional<scoped_backend> guard;
};

}  // namespace
}  // namespace parmap::python

NB_MODULE(_core, m) {
  namespace nb = nanobind;
  using namespace parmap::python;
  m.doc() = "parmap's C++ core (use the parmap package, not this module)";
  m.attr("__version__") = PARMAP_VERSION_STRING;
  m.attr("built_with_cuda") = static_cast<bool>(PARMAP_HAS_CUDA);
  m.def("gpu_available", &parmap::gpu_available,
        "True when a usable CUDA GPU is present (probed once, cached).");
  m.def("gpu_description", &parmap::gpu_description,
        "The GPU's name and compute capability, or why there is none.");
  m.def("reload_environment", &parmap::reload_environment,
        "Reads the PARMAP_* environment variables again (they are read once, at the first "
        "call); call it after changing them in os.environ.");
  m.def("release_cached_memory", &parmap::release_cached_memory,
        "Frees the GPU staging buffers and trims CUDA's memory pool (idle ones only).");

  nb::class_<py_report>(m, "Report", "What one call did: used, reason, n, seconds.")
      .def(nb::init<>())
      .def_ro("used", &py_report::used, "\"cpu\" or \"gpu\" after the call")
      .def_ro("reason", &py_report::reason, "why that path")
      .def_ro("n", &py_report::n, "elements (or items) mapped")
      .def_ro("seconds", &py_report::seconds, "wall time of the call")
      .def("__repr__", [](const py_report& r) {
        return "Report(used=" + r.used + ", reason='" + r.reason + "', n=" + std::to_string(r.n) +
               ", seconds=" + std::to_string(r.seconds) + ")";
      });

  nb::class_<py_scope>(m, "scoped_backend",
                       "Context manager: default backend and n_jobs for parmap calls made on this "
                       "thread inside the with-block (nestable; the innermost wins).")
      .def(
          "__init__",
          [](py_scope* s, nb::handle where, int n_jobs) {
            const parmap::backend b = parse_backend(where);
            parmap::detail::validate_n_jobs(n_jobs, "n_jobs");  // std::invalid_argument: ValueError
            new (s) py_scope{b, n_jobs, std::nullopt};
          },
          nb::arg("backend") = "auto", nb::arg("n_jobs") = -1)
      .def("__enter__",
           [](py_scope& s) -> py_scope& {
             if (s.guard) throw nb::value_error("this scoped_backend is already entered");
             s.guard.emplace(s.where, s.n_jobs);
             return s;
           }, nb::rv_policy::reference)
      .def("__exit__", [](py_scope& s, nb::args) { s.guard.reset(); });

  register_errors(m);
  register_ops(m);
  register_arrays(m);
  register_callables(m);
  register_growth(m);
  register_programs(m);
}
