// The executor: runs the plan decide() returned (dispatch.hpp) and decides
// nothing itself. It describes the call from the callable's type, asks for
// the plan, runs its path, applies the plan's rule when the GPU fails or when
// an adaptive run has been timed, and leaves the report to a call_guard.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "../errors.hpp"
#include "../options.hpp"
#include "../traits.hpp"
#include "catalogue.hpp"
#include "clock.hpp"
#include "cpu_catalogue.hpp"
#include "cpu_loop.hpp"
#include "device_backend.hpp"
#include "dispatch.hpp"
#include "gpu_state.hpp"
#include "pipeline.hpp"
#include "profile.hpp"
#include "progress.hpp"
#include "split.hpp"
#include "task_loop.hpp"

namespace parmap::detail {

// A user functor made GPU-capable by parmap::device (cuda.cuh) carries its own
// transform, compiled by nvcc in the caller's translation unit.
template <class F, class T, class U>
concept user_device_op = requires(const F& f, const T* in, U* out, std::size_t n, void* s) {
  f.parmap_gpu_transform(in, out, n, s);
};

template <class F, class T, class U>
inline constexpr bool has_gpu_impl = catalogue_op<F, T, U> || user_device_op<F, T, U>;

// out[i] = f(in[i]) for i in [first, last) on `threads` OpenMP threads.
template <class F, class T, class U>
void run_cpu(const F& f, const T* in, U* out, std::size_t first, std::size_t last, int threads) {
  if constexpr (catalogue_op<F, T, U>) {
    const op_call c = make_op_call<T>(f);
    cpu_catalogue(c, in, out, first, last, threads);
  } else {
    cpu_map(f, in, out, first, last, threads);
  }
}

template <class F, class T, class U>
void user_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx) {
  static_cast<const F*>(ctx)->parmap_gpu_transform(static_cast<const T*>(in), static_cast<U*>(out),
                                                   n, stream);
}

// Calls run(pool, job) with the device job of f over n elements (its kernel
// and context live until run returns).
template <class F, class T, class U, class Run>
void with_device_job(const F& f, const T* in, U* out, std::size_t n, const decision& d, Run&& run) {
  staging_pool& pool = current_staging_pool();
  device_job job{in, out, n, sizeof(T), sizeof(U), d.in_kind, d.out_kind, nullptr, nullptr};
  job.register_host = d.register_host;
  if constexpr (catalogue_op<F, T, U>) {
    const op_call c = make_op_call<T>(f);
    job.kernel = pool.backend().catalogue();
    job.ctx = &c;
    run(pool, job);
  } else {
    job.kernel = &user_kernel<F, T, U>;
    job.ctx = &f;
    run(pool, job);
  }
}

// The GPU path. Returns the first element whose result is not in `out`: n,
// or, after a GPU failure the plan lets the CPU take over, where the CPU
// starts (results reach the output chunk by chunk, in order, so the elements
// below are done and, in place, must not be mapped again).
template <class F, class T, class U>
std::size_t run_gpu(const F& f, const T* in, U* out, std::size_t n, decision& d) {
  std::size_t written = 0;
  try {
    with_device_job(f, in, out, n, d, [&](staging_pool& pool, device_job& job) {
      job.written = &written;
      run_device_job(pool, job);
    });
    return n;
  } catch (const gpu_error& e) {
    if (d.on_gpu_failure != gpu_failure_rule::run_on_cpu) throw;
    fall_back_to_cpu(d, e.what(), written);
    return written;
  }
}

// The split path: the CPU maps [0, d.split_at) while the GPU maps the rest.
// Returns where the CPU must go on from: n, or after a GPU failure the first
// element of the GPU's share whose result is not in `out`.
template <class F, class T, class U>
std::size_t run_split(const F& f, const T* in, U* out, std::size_t n, decision& d) {
  const std::size_t c = d.split_at;
  split_outcome o;
  with_device_job(f, in + c, out + c, n - c, d, [&](staging_pool& pool, device_job& job) {
    job.copy_threads = d.split_copy_threads;
    o = run_split_job(pool, job, [&] { run_cpu(f, in, out, 0, c, d.split_cpu_threads); });
  });
  if (!o.gpu_failure) return n;
  try {
    std::rethrow_exception(o.gpu_failure);
  } catch (const gpu_error& e) {
    if (d.on_gpu_failure != gpu_failure_rule::run_on_cpu) throw;
    fall_back_to_cpu(d, e.what(), c + o.gpu_written);
  }
  return c + o.gpu_written;
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

// One element at a time on a task loop (see task_loop.hpp) of the plan's
// workers, with the progress bar when asked for.
template <class F, class T, class U>
void run_task_loop(const F& f, const T* in, U* out, std::size_t first, std::size_t last, const decision& d) {
  std::optional<progress_bar> bar;
  if (d.progress) {
    bar.emplace(last, "parmap::map", d.progress_forced);
    bar->update(first);
  }
  task_loop(first, last, {d.threads, d.max_workers}, bar ? &*bar : nullptr,
            [&](std::size_t i) { out[i] = f(in[i]); });
}

// exec_path::adaptive: times element 0 on the calling thread; unless it took
// longer than the plan's `expensive` (clearly costly), times the next ones
// too, in batches of 1, 2, 4, ... up to `timed_limit` elements or the serial
// budget, since a first call can be slow for reasons of its own (cold caches,
// first touches). settle_adaptive then picks serial or a task loop for the
// rest, and this runs it. Returns the first element not yet done.
template <class F, class T, class U>
std::size_t time_first_elements(const F& f, const T* in, U* out, std::size_t n, const adaptive_rule& rule,
                                double& per_element) {
  failure fail(n);
  double t0 = now_seconds();
  run_range(f, in, out, 0, 1, fail);
  fail.rethrow_if_failed();
  const double t1 = now_seconds();  // a clock read costs ~30 ns: each one is used twice
  per_element = t1 - t0;
  std::size_t done = 1;
  if (per_element < rule.expensive && n > 1) {
    t0 = t1;
    double elapsed = 0;
    for (std::size_t step = 1; done < n && done < rule.timed_limit && elapsed <= rule.serial_budget;
         step *= 2) {
      const std::size_t end = std::min({n, rule.timed_limit, done + step});
      run_range(f, in, out, done, end, fail);
      fail.rethrow_if_failed();
      done = end;
      elapsed = now_seconds() - t0;
    }
    per_element = elapsed / static_cast<double>(done - 1);
  }
  return done;
}

// Runs the plan's host path over elements [first, last).
template <class F, class T, class U>
void run_host_path(const F& f, const T* in, U* out, std::size_t first, std::size_t last, const decision& d) {
  switch (d.path) {
    case exec_path::parallel: run_cpu(f, in, out, first, last, d.threads); break;
    case exec_path::blocking: run_task_loop(f, in, out, first, last, d); break;
    default: run_cpu(f, in, out, first, last, 1); break;  // serial
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
  const call_guard guard(d, call, opt);
  const std::size_t n = in.size();
  if (n == 0) return;
  const profile_range range([&] {
    return std::string("parmap::map ") + call.what + " n=" + std::to_string(n) + " " + to_string(d.used);
  });
  std::size_t first = 0;
  if (d.path == exec_path::gpu || d.path == exec_path::split) {
    if constexpr (has_gpu_impl<F, T, U>) {
      first = d.path == exec_path::gpu ? run_gpu(f, in.data(), out, n, d) : run_split(f, in.data(), out, n, d);
      if (first == n) return;
    }
  }
  if (d.path == exec_path::adaptive) {
    double per_element = 0;
    first = time_first_elements(f, in.data(), out, n, d.adaptive, per_element);
    settle_adaptive(d, per_element, n - first);
  }
  run_host_path(f, in.data(), out, first, n, d);
}

}  // namespace parmap::detail
