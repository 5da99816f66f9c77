// Shared pieces of the extension parmap._core: options from Python
// arguments, the report object, and each source file's registration.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <string>

#include "parmap/detail/program.hpp"
#include "parmap/options.hpp"

namespace parmap::python {

namespace nb = nanobind;

/// What one call did, as Python sees it (parmap.Report).
struct py_report {
  std::string used = "automatic";
  std::string reason;
  std::size_t n = 0;
  double seconds = 0;
};

/// "auto", "cpu" or "gpu" (ValueError otherwise).
backend parse_backend(nb::handle name);

/// The call's options; r receives the C++ report when `report` is a parmap.Report.
options make_options(nb::handle backend_name, int n_jobs, bool progress, nb::handle report,
                     parmap::report* r);

/// Copies r into `report` when it is a parmap.Report (no-op for None).
void fill_report(nb::handle report, const parmap::report& r);

/// [f(a) for a in items] on parmap's task loop (python/src/callables.cpp).
nb::object map_callable(nb::handle f, nb::handle items, nb::handle backend_name, int n_jobs,
                        bool progress, nb::handle report);

/// parmap.map(f, x, out, ...) (python/src/arrays.cpp).
nb::object map_entry(nb::handle f, nb::handle x, nb::handle out, nb::handle where, int n_jobs, bool progress,
                     nb::handle rep, nb::handle stream);

/// out = p(x) for a C-contiguous ndarray x of p's input dtype, the GIL
/// released; out is None (a new array of p's result dtype) or such an array
/// (python/src/arrays.cpp).
nb::object map_program(const detail::program& p, const std::string& what, nb::handle x, nb::handle out,
                       nb::handle where, int n_jobs, bool progress, nb::handle report);

/// The same for DLPack arrays (CuPy, PyTorch), out already allocated.
void map_program_dlpack(const detail::program& p, const std::string& what, nb::ndarray<nb::ro> x,
                        nb::ndarray<> out, nb::handle where, int n_jobs, bool progress, nb::handle report);

void register_errors(nb::module_& m);
void register_programs(nb::module_& m);
void register_ops(nb::module_& m);
void register_arrays(nb::module_& m);
void register_callables(nb::module_& m);
void register_growth(nb::module_& m);

}  // namespace parmap::python
