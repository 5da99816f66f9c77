// The compiled executor (see execute.hpp): runs the plan decide() returned,
// on the route it names, with the thunks the template layer built. It never
// changes the plan: what happens on the way (a GPU failure the CPU takes over
// from, what an adaptive run settles on) goes into the outcome, and the
// call_guard reports describe(plan, outcome).
#include "parmap/detail/execute.hpp"

#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <variant>

#include "parmap/detail/clock.hpp"
#include "parmap/detail/cpu_catalogue.hpp"
#include "parmap/detail/context.hpp"
#include "parmap/detail/pipeline.hpp"
#include "parmap/detail/profile.hpp"
#include "parmap/detail/progress.hpp"
#include "parmap/detail/split.hpp"
#include "parmap/detail/task_loop.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {
namespace {

// The chunk body an OpenMP worker runs, by value: the caller's own loop, or
// the catalogue's call with its in, out and loops. A worker that followed a
// chain of references into the calling thread's frames would wait for each
// line that thread had just written in turn (on the 2-core VM that chain cost
// a 2^15-element map about as much as its work).
struct chunk_body {
  const void* in;
  void* out;
  op_call op;               // the catalogue's call, when the caller brings no loop
  chunk_ref own;            // the caller's loop, compiled in its translation unit
  const cpu_kernels* loops; // the precompiled loops' instruction set

  void operator()(std::size_t b, std::size_t e, failure& fail) const {
    if (!own) {
      catalogue_chunk(*loops, op, in, out, b, e, fail);
    } else {
      own(b, e, fail);
    }
  }
};

// The call's CPU pieces: its chunk body and its element thunk, the
// catalogue's when the call brings none (a built-in op, a Python program).
struct host_body {
  chunk_body chunk;                       // what the OpenMP workers read, by value
  fn_ref<void(std::size_t)> own_element;  // the caller's, for the task loop

  void element(std::size_t i) const {
    if (!own_element) {
      failure fail(i + 1);
      chunk(i, i + 1, fail);
      fail.rethrow_if_failed();
    } else {
      own_element(i);
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
    cpu_map(chunk, first, last, threads);
  }
};

// The device job of the call over elements [first, n).
device_job job_of(const map_thunks& t, const call_info& call, const gpu_run& g, staging_pool& pool,
                  std::size_t first) {
  device_job job{static_cast<const char*>(t.in) + first * call.in_elem_bytes,
                 static_cast<char*>(t.out) + first * call.out_elem_bytes,
                 call.n - first,
                 call.in_elem_bytes,
                 call.out_elem_bytes,
                 g.in_kind,
                 g.out_kind,
                 t.op != nullptr ? pool.backend().catalogue() : t.kernel,
                 t.op != nullptr ? static_cast<const void*>(t.op) : t.kernel_ctx};
  job.register_host = g.register_host;
  job.device = context_device();
  return job;
}

// After a GPU failure: rethrown unless the plan lets the CPU take over from
// `from` (results reach the output chunk by chunk, in order, so the elements
// below are done and, in place, must not be mapped again).
std::size_t gpu_failed(const gpu_run& g, const std::exception_ptr& failure, std::size_t from, bool split,
                       outcome& o) {
  try {
    std::rethrow_exception(failure);
  } catch (const gpu_error& e) {
    if (g.on_failure != gpu_failure_rule::run_on_cpu) throw;
    o.used = backend::cpu;
    o.gpu_failure = e.what();
    o.cpu_from = from;
    o.split_failed = split;
  }
  return from;
}

// The GPU path. Returns the first element whose result is not in `out`: n,
// or where the CPU takes over after a GPU failure.
std::size_t run_gpu(const map_thunks& t, const call_info& call, const gpu_run& g, outcome& o) {
  std::size_t written = 0;
  try {
    staging_pool& pool = current_staging_pool();
    device_job job = job_of(t, call, g, pool, 0);
    job.written = &written;
    run_device_job(pool, job);
    return call.n;
  } catch (const gpu_error&) {
    return gpu_failed(g, std::current_exception(), written, false, o);
  }
}

// The split path: the CPU maps [0, cpu_elements) while the GPU maps the rest.
// Returns where the CPU must go on from: n, or after a GPU failure the first
// element of the GPU's share whose result is not in `out`.
std::size_t run_split(const map_thunks& t, const host_body& host, const call_info& call, const split_run& s,
                      outcome& o) {
  const std::size_t c = s.cpu_elements;
  staging_pool& pool = current_staging_pool();
  device_job job = job_of(t, call, s.gpu, pool, c);
  job.copy_threads = s.copy_threads;
  const split_outcome r = run_split_job(pool, job, [&] { host.cpu(0, c, s.cpu_threads); });
  if (!r.gpu_failure) return call.n;
  return gpu_failed(s.gpu, r.gpu_failure, c + r.gpu_written, true, o);
}

// One element at a time on a task loop, with the progress bar when asked for.
void run_task_loop(const host_body& host, std::size_t first, std::size_t last, const task_loop_run& r,
                   const plan& p) {
  std::optional<progress_bar> bar;
  if (p.progress) {
    bar.emplace(last, "parmap::map", p.progress_forced);
    bar->update(first);
  }
  task_loop(first, last, {r.workers, r.max_workers}, bar ? &*bar : nullptr,
            [&host](std::size_t i) { host.element(i); });
}

// Runs a CPU route over [first, n).
void run_host(const route& r, const host_body& host, std::size_t first, std::size_t n, const plan& p) {
  if (const auto* omp = std::get_if<openmp_run>(&r)) {
    host.cpu(first, n, omp->threads);
  } else if (const auto* loop = std::get_if<task_loop_run>(&r)) {
    run_task_loop(host, first, n, *loop, p);
  } else {
    host.cpu(first, n, 1);  // serial
  }
}

}  // namespace

void vmap(const call_info& call, const map_thunks& t, const options& opt) {
  const plan p = decide(call, opt);
  outcome o;
  o.used = p.used();
  const call_guard guard(p, o, call, opt);
  const std::size_t n = call.n;
  if (n == 0) return;
  const profile_range range([&] {
    return std::string("parmap::map ") + call.what + " n=" + std::to_string(n) + " " + to_string(p.used());
  });
  const cpu_kernels& loops = p.cpu != nullptr ? *p.cpu : active_cpu_kernels();
  const host_body host{{t.in, t.out, t.op != nullptr ? *t.op : op_call{}, t.chunk, &loops}, t.element};
  if (!t.chunk) o.cpu_loops = loops.name;
  if (p.path() == exec_path::serial) {  // small maps: the chunk body straight away
    host.cpu(0, n, 1);
  } else if (const auto* g = std::get_if<gpu_run>(&p.run)) {
    const std::size_t first = run_gpu(t, call, *g, o);
    if (first < n) run_host(cpu_fallback(*g), host, first, n, p);
  } else if (const auto* s = std::get_if<split_run>(&p.run)) {
    const std::size_t first = run_split(t, host, call, *s, o);
    if (first < n) run_host(cpu_fallback(s->gpu), host, first, n, p);
  } else if (const auto* a = std::get_if<adaptive_run>(&p.run)) {
    // On the calling thread, timed; then what settle_adaptive picks for the rest.
    failure fail(n);
    const first_elements timed = time_first_elements(
        n, a->rule,
        [&](std::size_t b, std::size_t e) {
          host.chunk(b, e, fail);
          fail.rethrow_if_failed();
        },
        [] { return now_seconds(); });
    run_host(settle_adaptive(*a, timed.per_element, n - timed.done, &o.settled), host, timed.done, n, p);
  } else {
    run_host(p.run, host, 0, n, p);
  }
}

}  // namespace parmap::detail
