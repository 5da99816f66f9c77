// The op catalogue's one list: every built-in op and every element type the
// precompiled kernels cover. The CPU catalogue (host/), the CUDA catalogue and
// its Thrust-OpenMP twin (kernels/) are all instantiated from these lists.
#pragma once

#include <cstdint>

// X(name, canonical functor type for element type T)
#define PARMAP_OP_LIST(X)                 \
  X(square, ::parmap::ops::square_fn)     \
  X(cube, ::parmap::ops::cube_fn)         \
  X(negate, ::parmap::ops::negate_fn)     \
  X(abs, ::parmap::ops::abs_fn)           \
  X(sqrt, ::parmap::ops::sqrt_fn)         \
  X(rsqrt, ::parmap::ops::rsqrt_fn)       \
  X(exp, ::parmap::ops::exp_fn)           \
  X(log, ::parmap::ops::log_fn)           \
  X(sin, ::parmap::ops::sin_fn)           \
  X(cos, ::parmap::ops::cos_fn)           \
  X(tanh, ::parmap::ops::tanh_fn)         \
  X(sigmoid, ::parmap::ops::sigmoid_fn)   \
  X(relu, ::parmap::ops::relu_fn)         \
  X(scale, ::parmap::ops::scale_fn<T>)    \
  X(shift, ::parmap::ops::shift_fn<T>)    \
  X(affine, ::parmap::ops::affine_fn<T>)  \
  X(pow, ::parmap::ops::pow_fn<T>)        \
  X(clamp, ::parmap::ops::clamp_fn<T>)

// Y(dtype enumerator, C++ type)
#define PARMAP_TYPE_LIST(Y) \
  Y(f32, float)             \
  Y(f64, double)            \
  Y(i32, std::int32_t)      \
  Y(i64, std::int64_t)

namespace parmap::detail {

enum class op_code : std::uint8_t {
#define PARMAP_X(name, ...) name,
  PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
};

enum class dtype : std::uint8_t {
#define PARMAP_Y(name, type) name,
  PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
};

// How expensive an op is per element, for the cost model.
enum class cost_class : std::uint8_t { memory, transcendental, unknown };

constexpr cost_class cost_of(op_code c) noexcept {
  switch (c) {
    case op_code::sqrt: case op_code::rsqrt: case op_code::exp: case op_code::log:
    case op_code::sin: case op_code::cos: case op_code::tanh: case op_code::sigmoid:
    case op_code::pow:
      return cost_class::transcendental;
    default:
      return cost_class::memory;
  }
}

const char* op_name(op_code c) noexcept;
const char* dtype_name(dtype t) noexcept;

}  // namespace parmap::detail
