// The op catalogue's one list: every built-in op and every element type the
// precompiled kernels cover. The CPU catalogue (host/), the CUDA catalogue and
// its Thrust-OpenMP twin (kernels/), the cost model's classes and the Python
// module's ops and dtypes are all made from these lists.
#pragma once

#include <cstdint>

// X(name, cost class, parameters, Python docstring, canonical functor type
// for element type T). Every column of every op is here: the enum, names,
// the cost model's class, the Python module's functions and their
// parameters, the catalogue's instantiations.
#define PARMAP_OP_LIST(X)                                                                      \
  X(square, memory, "", "x * x (wrapping for integers).", ::parmap::ops::square_fn)            \
  X(cube, memory, "", "x * x * x (wrapping for integers).", ::parmap::ops::cube_fn)            \
  X(negate, memory, "", "-x (wrapping for integers).", ::parmap::ops::negate_fn)               \
  X(abs, memory, "", "|x| (abs(INT_MIN) is INT_MIN).", ::parmap::ops::abs_fn)                  \
  X(sqrt, transcendental, "", "sqrt(x), float32 and float64.", ::parmap::ops::sqrt_fn)         \
  X(rsqrt, transcendental, "", "1 / sqrt(x), float32 and float64.", ::parmap::ops::rsqrt_fn)   \
  X(exp, transcendental, "", "e ** x, float32 and float64.", ::parmap::ops::exp_fn)            \
  X(log, transcendental, "", "ln(x), float32 and float64.", ::parmap::ops::log_fn)             \
  X(sin, transcendental, "", "sin(x), float32 and float64.", ::parmap::ops::sin_fn)            \
  X(cos, transcendental, "", "cos(x), float32 and float64.", ::parmap::ops::cos_fn)            \
  X(tanh, transcendental, "", "tanh(x), float32 and float64.", ::parmap::ops::tanh_fn)         \
  X(sigmoid, transcendental, "", "1 / (1 + e ** -x), float32 and float64.",                    \
    ::parmap::ops::sigmoid_fn)                                                                 \
  X(relu, memory, "", "max(x, 0); NaN passes through.", ::parmap::ops::relu_fn)                \
  X(scale, memory, "a", "x * a (wrapping for integers).", ::parmap::ops::scale_fn<T>)          \
  X(shift, memory, "b", "x + b (wrapping for integers).", ::parmap::ops::shift_fn<T>)          \
  X(affine, memory, "a, b", "x * a + b, rounded twice (never fused).",                         \
    ::parmap::ops::affine_fn<T>)                                                               \
  X(pow, transcendental, "p", "x ** p (exact repeated multiplication on integers).",           \
    ::parmap::ops::pow_fn<T>)                                                                  \
  X(clamp, memory, "lo, hi", "min(max(x, lo), hi); NaN passes through.",                       \
    ::parmap::ops::clamp_fn<T>)

// Y(dtype enumerator, C++ type, NumPy's name)
#define PARMAP_TYPE_LIST(Y)          \
  Y(f32, float, "float32")           \
  Y(f64, double, "float64")          \
  Y(i32, std::int32_t, "int32")      \
  Y(i64, std::int64_t, "int64")

namespace parmap::detail {

enum class op_code : std::uint8_t {
#define PARMAP_X(name, ...) name,
  PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
  // Not a built-in op: a traced program (detail/program.hpp) the op_call
  // points to; its cost comes from its instructions.
  program,
};

enum class dtype : std::uint8_t {
#define PARMAP_Y(name, ...) name,
  PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
};

// How expensive an op is per element, for the cost model.
enum class cost_class : std::uint8_t { memory, transcendental, unknown };

constexpr cost_class cost_of(op_code c) noexcept {
  switch (c) {
#define PARMAP_X(name, cost, ...) \
  case op_code::name:             \
    return cost_class::cost;
    PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
    case op_code::program: break;
  }
  return cost_class::unknown;
}

// Parameters an op takes: the commas of its parameter list, plus one.
constexpr int param_count(const char* params) noexcept {
  if (*params == '\0') return 0;
  int k = 1;
  for (; *params != '\0'; ++params) k += *params == ',' ? 1 : 0;
  return k;
}

// The op's name ("square"), the dtype's short name ("f32") and NumPy name
// ("float32"), all from the lists (host/catalogue.cpp).
const char* op_name(op_code c) noexcept;
const char* dtype_name(dtype t) noexcept;
const char* numpy_name(dtype t) noexcept;

}  // namespace parmap::detail
