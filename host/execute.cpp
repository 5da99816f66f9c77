// The compiled executor (see execute.hpp): runs the plan decide() returned,
// on the path it names, with the thunks the template layer built. It decides
// nothing itself; it applies the plan's rule when the GPU fails or when an
// adaptive run has been timed, and leaves the report to a call_guard.
#include "parmap/detail/execute.hpp"

#include <algorithm>
#include <exception>
#include <optional>
#include <string>

#include "parmap/detail/clock.hpp"
#include "parmap/detail/cpu_catalogue.hpp"
#include "parmap/detail/gpu_state.hpp"
#include "parmap/detail/pipeline.hpp"
#include "parmap/detail/profile.hpp"
#include "parmap/detail/progress.hpp"
#include "parmap/detail/split.hpp"
#include "parmap/detail/task_loop.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {
namespace {

// The call's CPU pieces: its chunk body and its element thunk, the
// catalogue's when the call is a built-in op.
struct host_body {
  const map_thunks& t;

  void chunk(std::size_t b, std::size_t e, failure& fail) const {
    if (t.op != nullptr) {
      catalogue_chunk(*t.op, t.in, t.out, b, e, fail);
    } else {
      t.chunk(b, e, fail);
    }
  }
  void element(std::size_t i) const {
    if (t.op != nullptr) {
      failure fail(i + 1);
      catalogue_chunk(*t.op, t.in, t.out, i, i + 1, fail);
      fail.rethrow_if_failed();
    } else {
      t.element(i);
    }
  }
  // out[i] = f(in[i]) for i in [first, last) on `threads` OpenMP threads.
  void cpu(std::size_t first, std::size_t last, int threads) const {
    if (threads <= 1) {  // small maps: the chunk body straight away
      failure fail(last);
      chunk(first, last, fail);
      fail.rethrow_if_failed();
      return;
    }
    cpu_map([this](std::size_t b, std::size_t e, failure& fail) { chunk(b, e, fail); }, first, last, threads);
  }
};

// The device job of the call over elements [first, n).
device_job job_of(const map_thunks& t, const call_info& call, const decision& d, staging_pool& pool,
                  std::size_t first) {
  device_job job{static_cast<const char*>(t.in) + first * call.in_elem_bytes,
                 static_cast<char*>(t.out) + first * call.out_elem_bytes,
                 call.n - first,
                 call.in_elem_bytes,
                 call.out_elem_bytes,
                 d.in_kind,
                 d.out_kind,
                 t.op != nullptr ? pool.backend().catalogue() : t.kernel,
                 t.op != nullptr ? static_cast<const void*>(t.op) : t.kernel_ctx};
  job.register_host = d.register_host;
  return job;
}

// The GPU path. Returns the first element whose result is not in `out`: n,
// or, after a GPU failure the plan lets the CPU take over, where the CPU
// starts (results reach the output chunk by chunk, in order, so the elements
// below are done and, in place, must not be mapped again).
std::size_t run_gpu(const map_thunks& t, const call_info& call, decision& d) {
  std::size_t written = 0;
  try {
    staging_pool& pool = current_staging_pool();
    device_job job = job_of(t, call, d, pool, 0);
    job.written = &written;
    run_device_job(pool, job);
    return call.n;
  } catch (const gpu_error& e) {
    if (d.on_gpu_failure != gpu_failure_rule::run_on_cpu) throw;
    fall_back_to_cpu(d, e.what(), written);
    return written;
  }
}

// The split path: the CPU maps [0, d.split_at) while the GPU maps the rest.
// Returns where the CPU must go on from: n, or after a GPU failure the first
// element of the GPU's share whose result is not in `out`.
std::size_t run_split(const map_thunks& t, const host_body& host, const call_info& call, decision& d) {
  const std::size_t c = d.split_at;
  staging_pool& pool = current_staging_pool();
  device_job job = job_of(t, call, d, pool, c);
  job.copy_threads = d.split_copy_threads;
  const split_outcome o = run_split_job(pool, job, [&] { host.cpu(0, c, d.split_cpu_threads); });
  if (!o.gpu_failure) return call.n;
  try {
    std::rethrow_exception(o.gpu_failure);
  } catch (const gpu_error& e) {
    if (d.on_gpu_failure != gpu_failure_rule::run_on_cpu) throw;
    fall_back_to_cpu(d, e.what(), c + o.gpu_written);
  }
  return c + o.gpu_written;
}

// One element at a time on a task loop of the plan's workers, with the
// progress bar when asked for.
void run_task_loop(const host_body& host, std::size_t first, std::size_t last, const decision& d) {
  std::optional<progress_bar> bar;
  if (d.progress) {
    bar.emplace(last, "parmap::map", d.progress_forced);
    bar->update(first);
  }
  task_loop(first, last, {d.threads, d.max_workers}, bar ? &*bar : nullptr,
            [&host](std::size_t i) { host.element(i); });
}

// exec_path::adaptive: times element 0 on the calling thread; unless it took
// longer than the plan's `expensive` (clearly costly), times the next ones
// too, in batches of 1, 2, 4, ... up to `timed_limit` elements or the serial
// budget, since a first call can be slow for reasons of its own (cold caches,
// first touches). settle_adaptive then picks serial or a task loop for the
// rest. Returns the first element not yet done.
std::size_t time_first_elements(const host_body& host, std::size_t n, const adaptive_rule& rule,
                                double& per_element) {
  failure fail(n);
  double t0 = now_seconds();
  host.chunk(0, 1, fail);
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
      host.chunk(done, end, fail);
      fail.rethrow_if_failed();
      done = end;
      elapsed = now_seconds() - t0;
    }
    per_element = elapsed / static_cast<double>(done - 1);
  }
  return done;
}

}  // namespace

void vmap(const call_info& call, const map_thunks& t, const options& opt) {
  decision d = decide(call, opt);
  const call_guard guard(d, call, opt);
  const std::size_t n = call.n;
  if (n == 0) return;
  const profile_range range([&] {
    return std::string("parmap::map ") + call.what + " n=" + std::to_string(n) + " " + to_string(d.used);
  });
  const host_body host{t};
  std::size_t first = 0;
  if (d.path == exec_path::gpu || d.path == exec_path::split) {
    first = d.path == exec_path::gpu ? run_gpu(t, call, d) : run_split(t, host, call, d);
    if (first == n) return;
  }
  if (d.path == exec_path::adaptive) {
    double per_element = 0;
    first = time_first_elements(host, n, d.adaptive, per_element);
    settle_adaptive(d, per_element, n - first);
  }
  switch (d.path) {
    case exec_path::parallel: host.cpu(first, n, d.threads); break;
    case exec_path::blocking: run_task_loop(host, first, n, d); break;
    default: host.cpu(first, n, 1); break;  // serial
  }
}

}  // namespace parmap::detail
