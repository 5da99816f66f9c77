// parmap::elementwise: a user's own numeric function, traced once into a
// program (detail/program.hpp) that the GPU runs with a precompiled Thrust
// functor, while the CPU calls the function itself.
//
//   auto f = parmap::elementwise([](auto x) { return x * x + 2 * x + 1; });
//   parmap::map(f, std::span<const float>(in), std::span<float>(out));
//
// f is called once per element type (float, double, int32, int64) with a
// traced value that records what f does with it: + - * / (% on integers),
// unary -, comparisons, parmap::where, parmap::math::*, the parmap::ops, and
// constants of any arithmetic type. C++'s usual arithmetic conversions are
// recorded too (x * 2.5 on a float computes in double), so the program's
// results equal f's own bit for bit for arithmetic, comparisons and where;
// transcendental functions agree within the ops' ulp bound. Where C++ leaves
// the result undefined, a program defines it: signed overflow wraps, an
// integer division or remainder by zero gives 0, a float converted to an
// integer it cannot hold saturates.
//
// What cannot be traced is an error, never a different program: branching
// on a traced value (if, ?:, &&, ||), converting it to a number
// (static_cast, std::exp) or printing it do not compile; % on floats, an
// op without a form for the type, or a program over its limits
// (program::max_instructions ...) throw std::invalid_argument from
// elementwise() when no element type traces, else from the map of the type
// that does not.
#pragma once

#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "detail/catalogue.hpp"
#include "detail/program.hpp"
#include "ops.hpp"

namespace parmap::detail {

template <class T>
inline constexpr bool always_false = false;

template <class T>
struct is_traced : std::false_type {};
template <class T>
struct is_traced<traced<T>> : std::true_type {};
template <class T>
concept traced_value = is_traced<std::remove_cvref_t<T>>::value;
template <class T>
concept plain_number = std::is_arithmetic_v<std::remove_cvref_t<T>>;
template <class T>
concept operand = traced_value<T> || plain_number<T>;

// The C++ type of an operand: T for traced<T>, else the number's own.
template <class T>
struct value_type_of {
  using type = T;
};
template <class T>
struct value_type_of<traced<T>> {
  using type = T;
};
template <class T>
using value_t = typename value_type_of<std::remove_cvref_t<T>>::type;

/// A value of C++ type T that parmap::elementwise is recording. It supports
/// what the program records; anything else does not compile.
template <class T>
class traced {
 public:
  traced(program_builder* b, int id) noexcept : b_(b), id_(id) {}
  program_builder* builder() const noexcept { return b_; }
  int id() const noexcept { return id_; }

  // if (x > 0), c ? a : b, static_cast<float>(x): the program cannot follow
  // a branch on a value it does not know yet.
  template <class B>
  explicit operator B() const {
    static_assert(always_false<B>,
                  "parmap::elementwise: a traced value cannot be converted to a plain value, so f cannot "
                  "branch on it (if, ?:, &&, ||) or pass it to std:: functions: use parmap::where(c, a, b) "
                  "for if/else and parmap::math:: for math");
    return B{};
  }

 private:
  program_builder* b_;
  int id_;
};

// The builder of a traced operand (the first traced one).
template <class A, class B = int, class C = int>
program_builder* builder_of(const A& a, const B& b = {}, const C& c = {}) {
  if constexpr (traced_value<A>) return a.builder();
  else if constexpr (traced_value<B>) return b.builder();
  else return c.builder();
}

// x as a value of C++ type C in b's program: converted if traced, a
// constant (converted as C++ converts it) if a plain number.
template <class C, class X>
int lift(program_builder* b, const X& x) {
  if constexpr (traced_value<X>) {
    if (x.builder() != b) b->type_of(-1);  // throws: a value of another trace
    return b->convert(x.id(), vtype_for<C>());
  } else {
    value v{};
    const C c = static_cast<C>(x);
    switch (vtype_for<C>()) {
      case vtype::b8: v.b8 = static_cast<bool>(c); break;
      case vtype::i32: v.i32 = static_cast<std::int32_t>(c); break;
      case vtype::i64: v.i64 = static_cast<std::int64_t>(c); break;
      case vtype::u32: v.u32 = static_cast<std::uint32_t>(c); break;
      case vtype::u64: v.u64 = static_cast<std::uint64_t>(c); break;
      case vtype::f32: v.f32 = static_cast<float>(c); break;
      case vtype::f64: v.f64 = static_cast<double>(c); break;
    }
    return b->constant(vtype_for<C>(), v);
  }
}

// The result type of a op b for two numbers (usual arithmetic conversions).
template <class A, class B>
using common_t = decltype(value_t<A>{} + value_t<B>{});

template <class C, class A, class B>
traced<C> record2(iop op, const A& a, const B& b) {
  program_builder* p = builder_of(a, b);
  const int x = lift<C>(p, a);
  const int y = lift<C>(p, b);
  return {p, p->binary(op, x, y)};
}

template <class C, class A, class B>
traced<bool> compare(iop op, const A& a, const B& b) {
  program_builder* p = builder_of(a, b);
  const int x = lift<C>(p, a);
  const int y = lift<C>(p, b);
  return {p, p->binary(op, x, y)};
}

// f(x) for a one-operand instruction computed in R.
template <class R, class T>
traced<R> record1(iop op, const traced<T>& x) {
  program_builder* p = x.builder();
  return {p, p->unary(op, lift<R>(p, x))};
}

template <class Op, class T>
traced<T> trace_op(const Op& op, const traced<T>& x) {
  if constexpr (catalogue_type<T>) {
    if constexpr (Op::template supports<T>) {
      return {x.builder(), x.builder()->apply(make_op_call<T>(op), x.id())};
    }
  }
  throw std::invalid_argument(std::string("parmap::elementwise: ops::") + op_name(Op::parmap_op) +
                              " has no form for " + vtype_numpy_name(vtype_for<T>()));
}

// ---- operators on traced values -------------------------------------------

template <class A, class B>
concept traced_pair = operand<A> && operand<B> && (traced_value<A> || traced_value<B>);

#define PARMAP_TRACED_ARITH(sym, op)                                 \
  template <class A, class B>                                        \
    requires traced_pair<A, B>                                       \
  traced<common_t<A, B>> operator sym(const A& a, const B& b) {      \
    return record2<common_t<A, B>>(iop::op, a, b);                   \
  }
PARMAP_TRACED_ARITH(+, add)
PARMAP_TRACED_ARITH(-, sub)
PARMAP_TRACED_ARITH(*, mul)
PARMAP_TRACED_ARITH(/, div)
// % compiles for every type (f is traced for all four element types); on
// floats it throws from the trace, as plain C++ would not compile it.
PARMAP_TRACED_ARITH(%, mod)
#undef PARMAP_TRACED_ARITH

#define PARMAP_TRACED_COMPARE(sym, op)                         \
  template <class A, class B>                                  \
    requires traced_pair<A, B>                                 \
  traced<bool> operator sym(const A& a, const B& b) {          \
    return compare<common_t<A, B>>(iop::op, a, b);             \
  }
PARMAP_TRACED_COMPARE(==, eq)
PARMAP_TRACED_COMPARE(!=, ne)
PARMAP_TRACED_COMPARE(<, lt)
PARMAP_TRACED_COMPARE(<=, le)
PARMAP_TRACED_COMPARE(>, gt)
PARMAP_TRACED_COMPARE(>=, ge)
#undef PARMAP_TRACED_COMPARE

template <class T>
traced<decltype(-T{})> operator-(const traced<T>& x) {
  return record1<decltype(-T{})>(iop::neg, x);
}
template <class T>
traced<decltype(+T{})> operator+(const traced<T>& x) {
  program_builder* p = x.builder();
  return {p, lift<decltype(+T{})>(p, x)};
}

// The type of a math function's result on a T: std::sqrt's rules (integers
// compute in double).
template <class T>
using math_t = decltype(std::sqrt(T{}));

template <class T>
using promoted_t = decltype(+T{});

}  // namespace parmap::detail

namespace parmap {

/// @brief `c ? a : b` for plain numbers and traced values alike; the result
/// has the type `c ? a : b` has in C++. Use it instead of if/else in a
/// function for parmap::elementwise.
template <class C, class A, class B>
  requires detail::operand<C> && detail::operand<A> && detail::operand<B>
auto where(const C& c, const A& a, const B& b) {
  using R = std::common_type_t<detail::value_t<A>, detail::value_t<B>>;
  if constexpr (!detail::traced_value<C> && !detail::traced_value<A> && !detail::traced_value<B>) {
    return c ? static_cast<R>(a) : static_cast<R>(b);
  } else {
    detail::program_builder* p = detail::builder_of(c, a, b);
    const int k = detail::lift<bool>(p, c);
    const int x = detail::lift<R>(p, a);
    const int y = detail::lift<R>(p, b);
    return detail::traced<R>(p, p->where(k, x, y));
  }
}

/// Math functions that work on plain numbers (as std:: does: integers
/// compute in double) and on values parmap::elementwise is tracing.
namespace math {

#define PARMAP_MATH_FN(name, plain)                                        \
  template <class X>                                                       \
    requires detail::operand<X>                                            \
  auto name(const X& x) {                                                  \
    using R = detail::math_t<detail::value_t<X>>;                          \
    if constexpr (detail::traced_value<X>) {                               \
      return detail::record1<R>(detail::iop::name, x);                     \
    } else {                                                               \
      const R v = static_cast<R>(x);                                       \
      return static_cast<R>(plain);                                        \
    }                                                                      \
  }
/// @brief Square root.
PARMAP_MATH_FN(sqrt, std::sqrt(v))
/// @brief 1 / sqrt(x).
PARMAP_MATH_FN(rsqrt, R(1) / std::sqrt(v))
/// @brief e^x.
PARMAP_MATH_FN(exp, std::exp(v))
/// @brief Natural logarithm.
PARMAP_MATH_FN(log, std::log(v))
/// @brief Sine.
PARMAP_MATH_FN(sin, std::sin(v))
/// @brief Cosine.
PARMAP_MATH_FN(cos, std::cos(v))
/// @brief Hyperbolic tangent.
PARMAP_MATH_FN(tanh, std::tanh(v))
/// @brief 1 / (1 + e^-x).
PARMAP_MATH_FN(sigmoid, R(1) / (R(1) + std::exp(-v)))
#undef PARMAP_MATH_FN

/// @brief |x|; on integers abs(MIN) is MIN (it wraps, where std::abs is undefined).
template <class X>
  requires detail::operand<X>
auto abs(const X& x) {
  using R = detail::promoted_t<detail::value_t<X>>;
  if constexpr (detail::traced_value<X>) {
    return detail::record1<R>(detail::iop::abs, x);
  } else {
    return detail::p_abs(static_cast<R>(x));
  }
}

/// @brief x^p, as std::pow (float and float: float; with an integer: double).
template <class A, class B>
  requires detail::operand<A> && detail::operand<B>
auto pow(const A& a, const B& b) {
  using R = decltype(std::pow(detail::value_t<A>{}, detail::value_t<B>{}));
  if constexpr (detail::traced_value<A> || detail::traced_value<B>) {
    return detail::record2<R>(detail::iop::pow, a, b);
  } else {
    return static_cast<R>(std::pow(static_cast<R>(a), static_cast<R>(b)));
  }
}

/// @brief The smaller of a and b, as std::min: `b < a ? b : a` in their common type.
template <class A, class B>
  requires detail::operand<A> && detail::operand<B>
auto min(const A& a, const B& b) {
  using R = std::common_type_t<detail::value_t<A>, detail::value_t<B>>;
  if constexpr (detail::traced_value<A> || detail::traced_value<B>) {
    return detail::record2<R>(detail::iop::min, a, b);
  } else {
    const R x = static_cast<R>(a), y = static_cast<R>(b);
    return y < x ? y : x;
  }
}

/// @brief The larger of a and b, as std::max: `a < b ? b : a` in their common type.
template <class A, class B>
  requires detail::operand<A> && detail::operand<B>
auto max(const A& a, const B& b) {
  using R = std::common_type_t<detail::value_t<A>, detail::value_t<B>>;
  if constexpr (detail::traced_value<A> || detail::traced_value<B>) {
    return detail::record2<R>(detail::iop::max, a, b);
  } else {
    const R x = static_cast<R>(a), y = static_cast<R>(b);
    return x < y ? y : x;
  }
}

}  // namespace math

namespace detail {

// One element type's trace: the program, and what the report calls it.
struct traced_program {
  program code;
  std::string what;  // "elementwise(x*x + 2*x + 1)"
};

// f's traces for the four element types of the catalogue, in
// PARMAP_TYPE_LIST's order; a type that did not trace keeps its reason.
struct program_set {
  std::array<std::optional<traced_program>, 4> by_type;
  std::array<std::string, 4> error;
};

template <class T, class F>
traced_program trace_for(const F& f) {
  static_assert(std::is_invocable_v<const F&, const traced<T>&>,
                "parmap::elementwise: f must take its argument as auto (a generic lambda or a functor "
                "template), so that it can be called with the traced value");
  program_builder b(vtype_for<T>());
  const traced<T> x(&b, b.input());
  const auto r = f(x);
  using R = std::remove_cvref_t<decltype(r)>;
  int id = 0;
  if constexpr (traced_value<R>) {
    id = lift<value_t<R>>(&b, r);
  } else if constexpr (std::is_arithmetic_v<R>) {
    id = lift<R>(&b, r);
  } else {
    static_assert(always_false<R>, "parmap::elementwise: f must return a number");
  }
  return {b.finish(id, vtype_for<T>()), "elementwise(" + b.text(id) + ")"};
}

template <class F>
std::shared_ptr<const program_set> trace_all(const F& f) {
  auto set = std::make_shared<program_set>();
  std::size_t k = 0;
  auto one = [&]<class T>(std::type_identity<T>) {
    try {
      set->by_type[k] = trace_for<T>(f);
    } catch (const std::invalid_argument& e) {
      set->error[k] = e.what();
    }
    ++k;
  };
#define PARMAP_Y(name, type, ...) one(std::type_identity<type>{});
  PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  bool any = false;
  for (const auto& p : set->by_type) any = any || p.has_value();
  if (!any) throw std::invalid_argument(set->error[0]);
  return set;
}

}  // namespace detail

/// @brief A user function made a device op by parmap::elementwise: called
/// on a number it is f itself (the CPU paths call it, inlined); its traced
/// programs run on the GPU.
template <class F>
class elementwise_fn {
 public:
  static constexpr bool parmap_device_op = true;

  explicit elementwise_fn(F f) : f_(std::move(f)), set_(detail::trace_all(f_)) {}

  template <class X>
    requires detail::operand<X>
  auto operator()(const X& x) const {
    return f_(x);
  }

  /// @brief The program for element type t. Throws std::invalid_argument
  /// with the reason when f did not trace for t.
  const detail::traced_program& program_for(detail::dtype t) const {
    const auto k = static_cast<std::size_t>(t);
    if (!set_->by_type[k]) {
      throw std::invalid_argument(set_->error[k] + " (for " + detail::numpy_name(t) + " elements)");
    }
    return *set_->by_type[k];
  }

 private:
  F f_;
  std::shared_ptr<const detail::program_set> set_;
};

/// @brief Traces f (a generic lambda or functor over one number) into a
/// device op: `parmap::map(parmap::elementwise(f), in, out)` runs f on the
/// CPU and its program on the GPU. See elementwise.hpp for what f may use.
/// @throws std::invalid_argument if f cannot be traced for any element type.
template <class F>
elementwise_fn<std::decay_t<F>> elementwise(F&& f) {
  return elementwise_fn<std::decay_t<F>>(std::forward<F>(f));
}

}  // namespace parmap
