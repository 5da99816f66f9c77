// parmap.ops from Python: an op is a code and its parameters as given (int or
// float), so that int64 data gets exact integer parameters. The catalogue's
// make_op_call turns it into the typed op for an array's dtype, from the one
// op list (PARMAP_OP_LIST).
#pragma once

#include <nanobind/nanobind.h>

#include <string>

#include "parmap/detail/catalogue.hpp"

namespace parmap::python {

namespace nb = nanobind;

struct py_op {
  detail::op_code code{};
  int nparams = 0;
  detail::op_param params[2]{};
  std::string repr;  // e.g. "parmap.ops.affine(2.0, 1.0)"
};

/// The op_call of op for element type t: TypeError when the op has no form for
/// t (sqrt..sigmoid on integers), ValueError when a parameter does not fit t.
detail::op_call op_call_for(const py_op& op, detail::dtype t);

}  // namespace parmap::python
