// The built-in element-wise functions. Each is a small PARMAP_HOST_DEVICE
// functor, so one definition serves the OpenMP loop and the GPU transform;
// their GPU kernels are precompiled in kernels/ for float, double, int32 and
// int64, so callers need no nvcc.
//
// Semantics
// - Integer arithmetic wraps modulo 2^bits (computed in the unsigned type, so
//   there is no undefined behaviour): square(INT32_MAX) == 1,
//   negate(INT32_MIN) == abs(INT32_MIN) == INT32_MIN.
// - Parameters are converted to the element type first: on int32 data,
//   scale(2.5) multiplies by 2; on float data, affine(a, b) computes
//   x * float(a) + float(b), rounding twice (never fused into an FMA by parmap's
//   own builds, so CPU and GPU agree bit for bit).
// - sqrt, rsqrt, exp, log, sin, cos, tanh, sigmoid exist for float and double
//   only. pow(p) on integers is exact repeated multiplication (wrapping); a
//   negative exponent gives the truncated value (1 for x == 1, +-1 for x == -1,
//   0 otherwise, 0 for x == 0).
// - relu and clamp let NaN through; relu(-0.0) is -0.0.
#pragma once

#include <math.h>  // the global ::expf family, which nvcc also provides on the device

#include <concepts>
#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "config.hpp"
#include "detail/op_code.hpp"

namespace parmap::detail {

template <class T>
concept arithmetic = std::is_arithmetic_v<T> && !std::same_as<T, bool>;
template <class T>
concept gpu_float = std::same_as<T, float> || std::same_as<T, double>;

// Unsigned type of T's arithmetic (after integral promotion), for wrapping math.
template <class T>
using wrap_t = std::make_unsigned_t<decltype(T{} + T{})>;

template <class T>
PARMAP_HOST_DEVICE constexpr T mul(T a, T b) noexcept {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<wrap_t<T>>(a) * static_cast<wrap_t<T>>(b));
  } else {
    return a * b;
  }
}
template <class T>
PARMAP_HOST_DEVICE constexpr T add(T a, T b) noexcept {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<wrap_t<T>>(a) + static_cast<wrap_t<T>>(b));
  } else {
    return a + b;
  }
}
template <class T>
PARMAP_HOST_DEVICE constexpr T neg(T a) noexcept {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(wrap_t<T>{0} - static_cast<wrap_t<T>>(a));
  } else {
    return -a;
  }
}

// float/double overloads of the C math functions, the same on host and device.
#define PARMAP_MATH_1(name)                                                     \
  PARMAP_HOST_DEVICE inline float m_##name(float x) noexcept { return ::name##f(x); } \
  PARMAP_HOST_DEVICE inline double m_##name(double x) noexcept { return ::name(x); }
PARMAP_MATH_1(sqrt)
PARMAP_MATH_1(exp)
PARMAP_MATH_1(log)
PARMAP_MATH_1(sin)
PARMAP_MATH_1(cos)
PARMAP_MATH_1(tanh)
PARMAP_MATH_1(fabs)
#undef PARMAP_MATH_1
template <class T>
PARMAP_HOST_DEVICE constexpr T absolute(T x) noexcept {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(m_fabs(x));
  } else {
    return x < T{0} ? neg(x) : x;
  }
}
PARMAP_HOST_DEVICE inline float m_pow(float x, float p) noexcept { return ::powf(x, p); }
PARMAP_HOST_DEVICE inline double m_pow(double x, double p) noexcept { return ::pow(x, p); }

// An op called on a value parmap::elementwise is tracing records itself
// (elementwise.hpp).
template <class T>
class traced;
template <class Op, class T>
traced<T> trace_op(const Op& op, const traced<T>& x);
#define PARMAP_TRACED_CALL                                            \
  template <class V>                                                  \
  detail::traced<V> operator()(const detail::traced<V>& x) const {    \
    return detail::trace_op(*this, x);                                \
  }

// Common members of every built-in op: it has a GPU kernel, and its code in
// the precompiled catalogue.
template <op_code Code>
struct op_base {
  static constexpr bool parmap_device_op = true;
  static constexpr op_code parmap_op = Code;
};

// Ops without parameters are their own canonical form for every element type.
template <op_code Code>
struct plain_op : op_base<Code> {
  template <class T>
  [[nodiscard]] constexpr auto rebind() const noexcept {
    return *this;
  }
};

}  // namespace parmap::detail

namespace parmap::ops {

// Unparameterised ops, e.g. `parmap::map(parmap::ops::square, x)`.
#define PARMAP_UNARY_OP(name, Requires, expr)                                     \
  struct name##_fn : detail::plain_op<detail::op_code::name> {                   \
    template <class T>                                                           \
    static constexpr bool supports = Requires<T>;                                \
    template <class T>                                                           \
      requires Requires<T>                                                       \
    PARMAP_HOST_DEVICE constexpr T operator()(T x) const noexcept {              \
      return expr;                                                               \
    }                                                                            \
    PARMAP_TRACED_CALL                                                           \
  };                                                                             \
  inline constexpr name##_fn name{};

PARMAP_UNARY_OP(square, detail::arithmetic, detail::mul(x, x))
PARMAP_UNARY_OP(cube, detail::arithmetic, detail::mul(detail::mul(x, x), x))
PARMAP_UNARY_OP(negate, detail::arithmetic, detail::neg(x))
PARMAP_UNARY_OP(abs, detail::arithmetic, detail::absolute(x))
PARMAP_UNARY_OP(relu, detail::arithmetic, (x < T{0} ? T{0} : x))
PARMAP_UNARY_OP(sqrt, detail::gpu_float, detail::m_sqrt(x))
PARMAP_UNARY_OP(rsqrt, detail::gpu_float, T{1} / detail::m_sqrt(x))
PARMAP_UNARY_OP(exp, detail::gpu_float, detail::m_exp(x))
PARMAP_UNARY_OP(log, detail::gpu_float, detail::m_log(x))
PARMAP_UNARY_OP(sin, detail::gpu_float, detail::m_sin(x))
PARMAP_UNARY_OP(cos, detail::gpu_float, detail::m_cos(x))
PARMAP_UNARY_OP(tanh, detail::gpu_float, detail::m_tanh(x))
PARMAP_UNARY_OP(sigmoid, detail::gpu_float, T{1} / (T{1} + detail::m_exp(-x)))
#undef PARMAP_UNARY_OP

/// x * a (wrapping for integers). Made by parmap::ops::scale.
template <class P>
struct scale_fn : detail::op_base<detail::op_code::scale> {
  P a;
  template <class T>
  static constexpr bool supports = detail::arithmetic<T>;
  PARMAP_TRACED_CALL
  template <class T>
  [[nodiscard]] constexpr scale_fn<T> rebind() const noexcept { return {{}, static_cast<T>(a)}; }
  template <detail::arithmetic T>
  PARMAP_HOST_DEVICE constexpr T operator()(T x) const noexcept {
    return detail::mul(x, static_cast<T>(a));
  }
};

/// x + b (wrapping for integers). Made by parmap::ops::shift.
template <class P>
struct shift_fn : detail::op_base<detail::op_code::shift> {
  P b;
  template <class T>
  static constexpr bool supports = detail::arithmetic<T>;
  PARMAP_TRACED_CALL
  template <class T>
  [[nodiscard]] constexpr shift_fn<T> rebind() const noexcept { return {{}, static_cast<T>(b)}; }
  template <detail::arithmetic T>
  PARMAP_HOST_DEVICE constexpr T operator()(T x) const noexcept {
    return detail::add(x, static_cast<T>(b));
  }
};

/// x * a + b, two roundings (wrapping for integers). Made by parmap::ops::affine.
template <class P>
struct affine_fn : detail::op_base<detail::op_code::affine> {
  P a, b;
  template <class T>
  static constexpr bool supports = detail::arithmetic<T>;
  PARMAP_TRACED_CALL
  template <class T>
  [[nodiscard]] constexpr affine_fn<T> rebind() const noexcept {
    return {{}, static_cast<T>(a), static_cast<T>(b)};
  }
  template <detail::arithmetic T>
  PARMAP_HOST_DEVICE constexpr T operator()(T x) const noexcept {
    return detail::add(detail::mul(x, static_cast<T>(a)), static_cast<T>(b));
  }
};

/// x^p. Made by parmap::ops::pow.
template <class P>
struct pow_fn : detail::op_base<detail::op_code::pow> {
  P p;
  template <class T>
  static constexpr bool supports = detail::arithmetic<T>;
  PARMAP_TRACED_CALL
  template <class T>
  [[nodiscard]] constexpr pow_fn<T> rebind() const noexcept { return {{}, static_cast<T>(p)}; }
  template <detail::arithmetic T>
  PARMAP_HOST_DEVICE constexpr T operator()(T x) const noexcept {
    if constexpr (std::is_floating_point_v<T>) {
      return detail::m_pow(x, static_cast<T>(p));
    } else {
      auto e = static_cast<T>(p);
      if (e < T{0}) {
        if (x == T{1}) return T{1};
        if (x == T{-1}) return (e % 2 == 0) ? T{1} : T{-1};
        return T{0};
      }
      T r{1};
      T base = x;
      while (e != T{0}) {
        if (e & T{1}) r = detail::mul(r, base);
        base = detail::mul(base, base);
        e = static_cast<T>(e >> 1);
      }
      return r;
    }
  }
};

/// x limited to [lo, hi]; NaN passes through. Made by parmap::ops::clamp.
template <class P>
struct clamp_fn : detail::op_base<detail::op_code::clamp> {
  P lo, hi;
  template <class T>
  static constexpr bool supports = detail::arithmetic<T>;
  PARMAP_TRACED_CALL
  template <class T>
  [[nodiscard]] constexpr clamp_fn<T> rebind() const noexcept {
    return {{}, static_cast<T>(lo), static_cast<T>(hi)};
  }
  template <detail::arithmetic T>
  PARMAP_HOST_DEVICE constexpr T operator()(T x) const noexcept {
    const auto l = static_cast<T>(lo);
    const auto h = static_cast<T>(hi);
    return x < l ? l : (h < x ? h : x);
  }
};

/// @brief Multiplies by a: `y[i] = x[i] * a`.
template <detail::arithmetic P>
constexpr scale_fn<P> scale(P a) noexcept { return {{}, a}; }
/// @brief Adds b: `y[i] = x[i] + b`.
template <detail::arithmetic P>
constexpr shift_fn<P> shift(P b) noexcept { return {{}, b}; }
/// @brief `y[i] = x[i] * a + b`.
template <detail::arithmetic A, detail::arithmetic B>
constexpr affine_fn<std::common_type_t<A, B>> affine(A a, B b) noexcept {
  return {{}, a, b};
}
/// @brief `y[i] = x[i] ^ p` (see the integer rule at the top of ops.hpp).
template <detail::arithmetic P>
constexpr pow_fn<P> pow(P p) noexcept { return {{}, p}; }
/// @brief `y[i] = min(max(x[i], lo), hi)`.
/// @throws std::invalid_argument if lo > hi.
template <detail::arithmetic A, detail::arithmetic B>
constexpr clamp_fn<std::common_type_t<A, B>> clamp(A lo, B hi) {
  using P = std::common_type_t<A, B>;
  if (static_cast<P>(hi) < static_cast<P>(lo)) {
    throw std::invalid_argument("parmap::ops::clamp: lo must not exceed hi");
  }
  return {{}, static_cast<P>(lo), static_cast<P>(hi)};
}

}  // namespace parmap::ops
