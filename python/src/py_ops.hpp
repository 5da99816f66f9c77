// parmap.ops from Python: an op is a code and up to two parameters, kept
// both as given (int or float) so int64 data gets exact integer parameters.
// with_functor rebuilds the C++ functor for an element type.
#pragma once

#include <nanobind/nanobind.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "parmap/detail/op_code.hpp"
#include "parmap/ops.hpp"

namespace parmap::python {

namespace nb = nanobind;

struct py_op {
  detail::op_code code{};
  int nparams = 0;
  double f[2]{};          // parameters as floats
  std::int64_t i[2]{};    // and as integers, exact when is_int
  bool is_int[2]{};
  std::string repr;       // e.g. "parmap.ops.affine(2.0, 1.0)"
};

/// Parameter k converted to T as C++ would (ValueError when out of T's range).
template <class T>
T param(const py_op& op, int k) {
  if constexpr (std::is_floating_point_v<T>) {
    return op.is_int[k] ? static_cast<T>(op.i[k]) : static_cast<T>(op.f[k]);
  } else {
    if (op.is_int[k]) {
      if (op.i[k] < std::numeric_limits<T>::min() || op.i[k] > std::numeric_limits<T>::max()) {
        throw nb::value_error((op.repr + ": parameter out of range for the array's integer type").c_str());
      }
      return static_cast<T>(op.i[k]);
    }
    const double v = std::trunc(op.f[k]);
    if (!(v >= static_cast<double>(std::numeric_limits<T>::min()) &&
          v < -static_cast<double>(std::numeric_limits<T>::min()))) {
      throw nb::value_error((op.repr + ": parameter is NaN or out of range for the array's integer type").c_str());
    }
    return static_cast<T>(v);
  }
}

[[noreturn]] void unsupported(const py_op& op, const char* dtype_name);

/// run(functor) with op's C++ functor for element type T; TypeError when the
/// op has no form for T (sqrt..sigmoid on integers).
template <class T, class Run>
void with_functor(const py_op& op, const char* dtype_name, Run&& run) {
  using detail::op_code;
  auto plain = [&](auto fn) {
    if constexpr (decltype(fn)::template supports<T>) {
      run(fn);
    } else {
      unsupported(op, dtype_name);
    }
  };
  switch (op.code) {
    case op_code::square: return plain(ops::square);
    case op_code::cube: return plain(ops::cube);
    case op_code::negate: return plain(ops::negate);
    case op_code::abs: return plain(ops::abs);
    case op_code::relu: return plain(ops::relu);
    case op_code::sqrt: return plain(ops::sqrt);
    case op_code::rsqrt: return plain(ops::rsqrt);
    case op_code::exp: return plain(ops::exp);
    case op_code::log: return plain(ops::log);
    case op_code::sin: return plain(ops::sin);
    case op_code::cos: return plain(ops::cos);
    case op_code::tanh: return plain(ops::tanh);
    case op_code::sigmoid: return plain(ops::sigmoid);
    case op_code::scale: return run(ops::scale(param<T>(op, 0)));
    case op_code::shift: return run(ops::shift(param<T>(op, 0)));
    case op_code::affine: return run(ops::affine(param<T>(op, 0), param<T>(op, 1)));
    case op_code::pow: return run(ops::pow(param<T>(op, 0)));
    case op_code::clamp: return run(ops::clamp(param<T>(op, 0), param<T>(op, 1)));
  }
  unsupported(op, dtype_name);
}

}  // namespace parmap::python
