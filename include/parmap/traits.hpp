// Traits the dispatcher reads: customisation points for user callables.
#pragma once

#include <type_traits>
#include <utility>

namespace parmap {

/// @brief True when F has a GPU implementation. True for the built-in
/// parmap::ops and for callables wrapped with parmap::device (cuda.cuh).
/// Users may specialise it for their own types that provide the GPU hook.
template <class F, class = void>
struct is_device_op : std::false_type {};
template <class F>
struct is_device_op<F, std::void_t<decltype(F::parmap_device_op)>>
    : std::bool_constant<F::parmap_device_op> {};

/// @brief True when F waits (sleep, I/O, a remote call) more than it computes.
/// Such callables run with more calls in flight than cores. Specialise it, or
/// wrap the callable with parmap::blocking.
template <class F, class = void>
struct is_blocking : std::false_type {};
template <class F>
struct is_blocking<F, std::void_t<decltype(F::parmap_blocking)>>
    : std::bool_constant<F::parmap_blocking> {};

template <class F>
inline constexpr bool is_device_op_v = is_device_op<std::remove_cvref_t<F>>::value;
template <class F>
inline constexpr bool is_blocking_v = is_blocking<std::remove_cvref_t<F>>::value;

/// @brief A callable marked as blocking; calls forward to the wrapped one.
template <class F>
struct blocking_fn {
  static constexpr bool parmap_blocking = true;
  F fn;
  template <class... A>
  decltype(auto) operator()(A&&... a) const {
    return fn(std::forward<A>(a)...);
  }
};

/// @brief Marks f as blocking: its maps run with oversubscribed threads, so
/// four one-second sleeps take about one second even on two cores.
/// @code
/// auto r = parmap::map(parmap::blocking(slow_square), xs);
/// @endcode
template <class F>
blocking_fn<std::decay_t<F>> blocking(F&& f) {
  return {std::forward<F>(f)};
}

}  // namespace parmap
