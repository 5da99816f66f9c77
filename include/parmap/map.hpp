// parmap::map and parmap::map_inplace: apply one function to every element.
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

#include "detail/catalogue.hpp"
#include "detail/cpu_loop.hpp"
#include "detail/device_backend.hpp"
#include "detail/gpu_state.hpp"
#include "detail/pipeline.hpp"
#include "detail/dispatch.hpp"
#include "detail/profile.hpp"
#include "detail/progress.hpp"
#include "detail/results.hpp"
#include "detail/task_loop.hpp"
#include "errors.hpp"
#include "options.hpp"
#include "traits.hpp"

namespace parmap::detail {

// A user functor made GPU-capable by parmap::device (cuda.cuh) carries its own
// transform, compiled by nvcc in the caller's translation unit.
template <class F, class T, class U>
concept user_device_op = requires(const F& f, const T* in, U* out, std::size_t n, void* s) {
  f.parmap_gpu_transform(in, out, n, s);
};

template <class F, class T, class U>
inline constexpr bool has_gpu_impl = catalogue_op<F, T, U> || user_device_op<F, T, U>;

// Runs the precompiled CPU loop of a built-in op (host/cpu_catalogue.cpp).
void cpu_catalogue(const op_call& c, const void* in, void* out, std::size_t first, std::size_t n,
                   int threads);

template <class F, class T, class U>
void run_cpu(const F& f, const T* in, U* out, std::size_t first, std::size_t n, int threads) {
  if constexpr (catalogue_op<F, T, U>) {
    const op_call c = make_op_call<T>(f);
    cpu_catalogue(c, in, out, first, n, threads);
  } else {
    cpu_map(f, in, out, first, n, threads);
  }
}

template <class F, class T, class U>
void user_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx) {
  static_cast<const F*>(ctx)->parmap_gpu_transform(static_cast<const T*>(in), static_cast<U*>(out),
                                                   n, stream);
}

template <class F, class T, class U>
void run_gpu(const F& f, const T* in, U* out, std::size_t n, const decision& d) {
  staging_pool& pool = current_staging_pool();
  device_backend& b = pool.backend();
  device_job job{in, out, n, sizeof(T), sizeof(U), d.in_kind, d.out_kind, nullptr, nullptr};
  if constexpr (catalogue_op<F, T, U>) {
    const op_call c = make_op_call<T>(f);
    job.kernel = b.catalogue();
    job.ctx = &c;
    run_device_job(pool, job);
  } else {
    job.kernel = &user_kernel<F, T, U>;
    job.ctx = &f;
    run_device_job(pool, job);
  }
}

template <class F>
constexpr callable_kind kind_of() noexcept {
  if constexpr (is_blocking_v<F>) return callable_kind::blocking;
  else if constexpr (is_device_op_v<F>) return callable_kind::device;
  else return callable_kind::plain;
}

template <class F>
constexpr cost_class cost_of_callable() noexcept {
  if constexpr (requires { F::parmap_op; }) return cost_of(F::parmap_op);
  else return cost_class::unknown;
}

template <class F>
const char* name_of() noexcept {
  if constexpr (requires { F::parmap_op; }) return op_name(F::parmap_op);
  else return "callable";
}

// One element at a time on a task loop (see task_loop.hpp), with the
// progress bar when asked for.
template <class F, class T, class U>
void run_task_loop(const F& f, const T* in, U* out, std::size_t first, std::size_t n,
                   worker_limits lim, const decision& d) {
  std::optional<progress_bar> bar;
  if (d.progress) {
    bar.emplace(n, "parmap::map", d.progress_forced);
    bar->update(first);
  }
  task_loop(first, n, lim, bar ? &*bar : nullptr, [&](std::size_t i) { out[i] = f(in[i]); });
}

// Runs a callable of unknown cost on a small input. Element 0 runs on the
// calling thread, timed. Unless it took over 100 us (clearly expensive), the
// next elements are timed too, up to 32 of them or 50 us, since a first call
// can be slow for reasons of its own (cold caches, first touches). The rest
// runs serially when that costs less than starting threads, else on a task
// loop that starts with one worker per core and adds workers while they wait
// (an unmarked blocking callable).
template <class F, class T, class U>
void run_adaptive(const F& f, const T* in, U* out, std::size_t n, decision& d) {
  constexpr double serial_budget = 50e-6;  // starting threads costs tens of microseconds
  failure fail(n);
  double t0 = now_seconds();
  run_range(f, in, out, 0, 1, fail);
  fail.rethrow_if_failed();
  double per_element = now_seconds() - t0;
  std::size_t done = 1;
  if (per_element < 100e-6 && n > 1) {
    // Batches of 1, 2, 4, ... elements: few clock reads, and at most ~2 x the budget.
    t0 = now_seconds();
    double elapsed = 0;
    for (std::size_t step = 1; done < n && done < 33 && elapsed <= serial_budget; step *= 2) {
      const std::size_t end = std::min({n, std::size_t{33}, done + step});
      run_range(f, in, out, done, end, fail);
      fail.rethrow_if_failed();
      done = end;
      elapsed = now_seconds() - t0;
    }
    per_element = elapsed / static_cast<double>(done - 1);
  }
  if (std::max(d.threads, d.max_workers) > 1 &&
      per_element * static_cast<double>(n - done) > serial_budget) {
    d.path = exec_path::parallel;
    if (d.explain) d.reason += "small n, expensive callable: task loop";
    run_task_loop(f, in, out, done, n, {d.threads, std::max(d.threads, d.max_workers)}, d);
  } else {
    d.path = exec_path::serial;
    if (d.explain) d.reason += "small n, cheap callable: serial";
    cpu_map(f, in, out, done, n, 1);
  }
}

template <class F, class T, class U>
void execute(const F& f, std::span<const T> in, U* out, const options& opt) {
  static_assert(std::is_invocable_v<const F&, const T&>,
                "parmap::map: the callable must be invocable as const with the element type "
                "(it is called concurrently; mutable lambdas are not accepted)");
  call_info call;
  call.n = in.size();
  call.in_elem_bytes = sizeof(T);
  call.out_elem_bytes = sizeof(U);
  call.kind = kind_of<F>();
  call.gpu_kernel = has_gpu_impl<F, T, U>;
  call.cost = cost_of_callable<F>();
  call.in = in.data();
  call.out = out;
  call.what = name_of<F>();
  decision d = decide(call, opt);
  const std::size_t n = in.size();
  const profile_range range([&] {
    return std::string("parmap::map ") + call.what + " n=" + std::to_string(n) + " " + to_string(d.used);
  });
  // The call is timed only for a report or PARMAP_VERBOSE (two clock reads
  // are a fifth of a small map's cost).
  const double t0 = d.explain ? now_seconds() : 0.0;
  auto elapsed = [&] { return d.explain ? now_seconds() - t0 : 0.0; };
  try {
    if (n != 0) {
      switch (d.path) {
        case exec_path::gpu:
          if constexpr (has_gpu_impl<F, T, U>) {
            try {
              run_gpu(f, in.data(), out, n, d);
              break;
            } catch (const gpu_error_after_write&) {
              throw;  // the caller's data is partly overwritten: no CPU retry
            } catch (const gpu_error& e) {
              const bool on_device =
                  d.in_kind == memory_kind::device || d.out_kind == memory_kind::device;
              if (d.forced || on_device) throw;
              fall_back_to_cpu(d, call, e.what());
            }
          }
          run_cpu(f, in.data(), out, 0, n, d.threads);
          break;
        case exec_path::parallel:
          run_cpu(f, in.data(), out, 0, n, d.threads);
          break;
        case exec_path::serial:
          run_cpu(f, in.data(), out, 0, n, 1);
          break;
        case exec_path::adaptive:
          run_adaptive(f, in.data(), out, n, d);
          break;
        case exec_path::blocking:
          run_task_loop(f, in.data(), out, 0, n, {d.threads, d.threads}, d);
          break;
      }
    }
  } catch (...) {
    finish(d, call, elapsed(), opt);
    throw;
  }
  finish(d, call, elapsed(), opt);
}

template <class F, class T>
auto map_to_vector(const F& f, std::span<const T> in, const options& opt) {
  using R = std::decay_t<std::invoke_result_t<const F&, const T&>>;
  static_assert(!std::is_void_v<R>, "parmap::map: the callable must return a value");
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
void map(F f, std::span<const T> in, std::span<U> out, const options& opt = {}) {
  detail::map_spans(f, in, out, opt);
}

/// @brief The same, for any contiguous input and output ranges (std::vector,
/// std::array, spans of non-const elements).
template <class F, class In, class Out>
  requires detail::contiguous_sized<In> && detail::contiguous_sized<Out> &&
           (!std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<Out>>>)
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
  requires std::ranges::input_range<const Range>
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
void map_inplace(F f, std::span<T> data, const options& opt = {}) {
  detail::map_inplace_span(f, data, opt);
}

/// @brief The same, for any contiguous range (std::vector, std::array, ...).
template <class F, class Range>
  requires detail::contiguous_sized<Range> &&
           (!std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<Range>>>)
void map_inplace(F f, Range&& data, const options& opt = {}) {
  using T = std::ranges::range_value_t<Range>;
  detail::map_inplace_span(f, std::span<T>(std::ranges::data(data), std::ranges::size(data)), opt);
}

}  // namespace parmap
