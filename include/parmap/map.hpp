// parmap::map and parmap::map_inplace: apply one function to every element.
// The public forms check their arguments and forward to the executor
// (detail/execute.hpp), which runs the plan of detail/dispatch.hpp.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/dispatch.hpp"
#include "detail/execute.hpp"
#include "detail/results.hpp"
#include "options.hpp"

namespace parmap {

/// @brief What map requires of its callable: f is called concurrently, as
/// const, with a `const T&`, and returns a value. (Mutable lambdas and
/// callables of another argument type do not satisfy it: the call fails at
/// the call site, naming this concept.)
template <class F, class T>
concept mappable = std::is_invocable_v<const F&, const T&> &&
                   !std::is_void_v<std::invoke_result_t<const F&, const T&>>;

/// @brief mappable, and its result can be stored into a U (`out[i] = f(in[i])`).
template <class F, class T, class U>
concept mappable_to = mappable<F, T> && std::is_assignable_v<U&, std::invoke_result_t<const F&, const T&>>;

}  // namespace parmap

namespace parmap::detail {

template <class F, class T>
auto map_to_vector(const F& f, std::span<const T> in, const options& opt) {
  using R = std::decay_t<std::invoke_result_t<const F&, const T&>>;
  return collect_results<R>(in.size(), [&](auto* out) { execute(f, in, out, opt); });
}

template <class R>
concept contiguous_sized = std::ranges::contiguous_range<R> && std::ranges::sized_range<R>;

// The span forms' bodies. The public range overloads call these rather than
// the span overloads, so no overload resolution (whichever front end does it)
// can send a call back to the overload it came from.
template <class F, class T, class U>
void map_spans(const F& f, std::span<const T> in, std::span<U> out, const options& opt) {
  check_arguments(in.size(), out.size(), opt.n_jobs);
  check_no_partial_overlap(in.data(), in.size_bytes(), out.data(), in.size() * sizeof(U),
                           sizeof(T) == sizeof(U));
  execute(f, in, out.data(), opt);
}

template <class F, class T>
void map_inplace_span(const F& f, std::span<T> data, const options& opt) {
  check_arguments(data.size(), data.size(), opt.n_jobs);
  execute(f, std::span<const T>(data.data(), data.size()), data.data(), opt);
}

}  // namespace parmap::detail

namespace parmap {

/// @brief `out[i] = f(in[i])` for every i, on the path the dispatcher picks;
/// allocates nothing.
/// @param f   the function; called concurrently, so it must be callable as const.
/// @param in  input elements (host memory, or GPU memory for device ops).
/// @param out output, at least in.size() elements; may be the same memory as
///            in (same element size) but must not partially overlap it.
/// @param opt backend, n_jobs, progress, report (see options).
/// @throws std::invalid_argument for a short out or a bad n_jobs;
///         task_error if f throws; backend_unavailable if a forced GPU cannot run.
/// @code
/// // replaces: for (std::size_t i = 0; i < in.size(); ++i) out[i] = f(in[i]);
/// parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(y));
/// @endcode
template <class F, class T, class U>
  requires mappable_to<F, T, U>
void map(F f, std::span<const T> in, std::span<U> out, const options& opt = {}) {
  detail::map_spans(f, in, out, opt);
}

/// @brief The same, for any contiguous input and output ranges (std::vector,
/// std::array, spans of non-const elements).
template <class F, class In, class Out>
  requires detail::contiguous_sized<In> && detail::contiguous_sized<Out> &&
           (!std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<Out>>>) &&
           mappable_to<F, std::ranges::range_value_t<In>, std::ranges::range_value_t<Out>>
void map(F f, In&& in, Out&& out, const options& opt = {}) {
  using T = std::ranges::range_value_t<In>;
  using U = std::ranges::range_value_t<Out>;
  detail::map_spans(f, std::span<const T>(std::ranges::data(in), std::ranges::size(in)),
                    std::span<U>(std::ranges::data(out), std::ranges::size(out)), opt);
}

/// @brief Returns `std::vector{f(in[0]), f(in[1]), ...}`. Any input range
/// works (non-contiguous ones are copied first); f may return any type
/// (non-arithmetic results run on the CPU).
/// @code
/// std::vector<float> y = parmap::map(parmap::ops::square, x);
/// auto names = parmap::map([](int i) { return std::to_string(i); }, ids);
/// @endcode
template <class F, class Range>
  requires std::ranges::input_range<const Range> && mappable<F, std::ranges::range_value_t<const Range>>
auto map(F f, const Range& in, const options& opt = {}) {
  using T = std::ranges::range_value_t<const Range>;
  detail::check_arguments(0, 0, opt.n_jobs);
  if constexpr (detail::contiguous_sized<const Range>) {
    return detail::map_to_vector(f, std::span<const T>(std::ranges::data(in), std::ranges::size(in)),
                                 opt);
  } else {
    const std::vector<T> copy(std::ranges::begin(in), std::ranges::end(in));
    return detail::map_to_vector(f, std::span<const T>(copy), opt);
  }
}

/// @brief `data[i] = f(data[i])` for every i, in place.
/// @code
/// parmap::map_inplace(parmap::ops::scale(2.0f), std::span<float>(x));
/// @endcode
template <class F, class T>
  requires mappable_to<F, T, T>
void map_inplace(F f, std::span<T> data, const options& opt = {}) {
  detail::map_inplace_span(f, data, opt);
}

/// @brief The same, for any contiguous range (std::vector, std::array, ...).
template <class F, class Range>
  requires detail::contiguous_sized<Range> &&
           (!std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<Range>>>) &&
           mappable_to<F, std::ranges::range_value_t<Range>, std::ranges::range_value_t<Range>>
void map_inplace(F f, Range&& data, const options& opt = {}) {
  using T = std::ranges::range_value_t<Range>;
  detail::map_inplace_span(f, std::span<T>(std::ranges::data(data), std::ranges::size(data)), opt);
}

}  // namespace parmap
