// The dispatcher: gather() reads what a decision depends on, choose() picks
// serial, OpenMP, a task loop, the GPU or a split for one call, in the order
// of DESIGN.md, and describe() says what ran and why.
#include "parmap/detail/dispatch.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "environment.hpp"
#include "options.hpp"
#include "parmap/detail/calibration.hpp"
#include "parmap/detail/cpu_loop.hpp"
#include "parmap/detail/context.hpp"
#include "parmap/detail/nesting.hpp"
#include "parmap/detail/split.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {

namespace {
// Whether the library's OpenMP loop can run more than one thread.
#if defined(_OPENMP)
constexpr bool built_with_openmp = true;
#else
constexpr bool built_with_openmp = false;
#endif
}  // namespace

// Without OpenMP the CPU loops run serially, but the task loop (std::thread)
// still starts one worker per core.
int all_cores() noexcept {
#if defined(_OPENMP)
  return omp_get_max_threads();  // honours OMP_NUM_THREADS
#else
  return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
#endif
}

std::size_t max_blocking() {
  constexpr std::size_t default_max_blocking = 64;
  return current_environment().max_blocking.value_or(default_max_blocking);
}

namespace {

std::string millis(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g ms", s * 1e3);
  return buf;
}

}  // namespace

bool gpu_never_pays(const call_info& call) noexcept {
  return bytes_moved(call) < gpu_min_bytes_moved ||
         (call.cost != cost_class::memory && call.n < serial_threshold_transcendental);
}

std::size_t serial_threshold(const call_info& call) noexcept {
  switch (call.cost) {
    case cost_class::memory: return serial_bytes_moved / std::max<std::size_t>(1, bytes_moved_per_element(call));
    case cost_class::transcendental: return serial_threshold_transcendental;
    case cost_class::unknown: return std::size_t{1} << 15;
  }
  return 0;
}

void throw_bad_n_jobs(int n_jobs, const char* name) {
  throw std::invalid_argument(std::string(name) + " must be -1 (all cores) or >= 1, got " + std::to_string(n_jobs));
}

void throw_short_output(std::size_t in_n, std::size_t out_n) {
  throw std::invalid_argument("parmap: output span too short: out has " + std::to_string(out_n) +
                              " elements, in has " + std::to_string(in_n));
}

void throw_partial_overlap() {
  throw std::invalid_argument(
      "parmap: output overlaps input partially (in place is allowed only with the same span and "
      "element size)");
}

namespace {

// Appends to the reason only when someone will read it (a report or
// PARMAP_VERBOSE), so that small maps do not pay for formatting.
template <class... Parts>
void note(plan& p, const Parts&... parts) {
  if (p.explain) (p.reason.append(parts), ...);
}

// DESIGN.md's rule 1: the backend and who chose it, n_jobs, the flags for
// reports and progress, and the cap on calls in flight for callables that wait.
// Fills s in place (a settings returned by value and copied whole would be
// read back before its bytes are written: a store-forwarding stall per call).
void settle(const options& opt, settings& s) {
  const environment& env = current_environment();
  const scope_setting scope = current_scope();
  s.verbose = env.verbose;
  s.explain = env.verbose || opt.out_report != nullptr;
  s.progress = opt.progress || env.progress > 0;
  s.progress_forced = env.progress == 2;
  if (opt.where != backend::automatic) {
    s.where = opt.where;
    s.source = "options.where";
  } else if (scope.where != backend::automatic) {
    s.where = scope.where;
    s.source = "scoped_backend";
  } else if (env.where) {
    s.where = *env.where;
    s.source = s.where == backend::gpu ? "PARMAP_BACKEND=gpu" : "PARMAP_BACKEND=cpu";
  }
  s.n_jobs = opt.n_jobs != -1 ? opt.n_jobs : scope.n_jobs;
  s.blocking_cap = s.n_jobs > 0 ? static_cast<std::size_t>(s.n_jobs) : max_blocking();
  s.gpu_min_elements = env.gpu_min_elements;
  s.split = env.split;
  s.register_host = env.register_host;
  s.cpu = env.cpu;
}

plan plan_of(const settings& s) {
  plan p;
  p.cpu = s.cpu;
  p.forced = s.where != backend::automatic;
  p.verbose = s.verbose;
  p.explain = s.explain;
  p.progress = s.progress;
  p.progress_forced = s.progress_forced;
  return p;
}

int threads_of(const inputs& in) noexcept { return in.set.n_jobs == -1 ? in.cores : in.set.n_jobs; }

// A device op with a kernel for these types, on host data, that nothing
// forced: automatic mode may send it to the GPU.
bool automatic_device_op(const call_info& call, const inputs& in) noexcept {
  return in.set.where == backend::automatic && call.kind == callable_kind::device && call.gpu_kernel &&
         !in.nested;
}

bool fixed_split(const call_info& call, const inputs& in) noexcept {
  return in.set.split.how == split_setting::mode::fixed && automatic_device_op(call, in) && call.n > 0;
}

// Whether the decision could use a GPU at all: only then does gather() probe.
bool may_use_gpu(const call_info& call, const inputs& in) noexcept {
  if (call.kind != callable_kind::device || !call.gpu_kernel) return false;
  if (in.set.where == backend::gpu) return true;  // an error without a GPU, even for no elements
  if (in.set.where == backend::cpu || in.nested || call.n == 0) return false;
  return fixed_split(call, in) || in.set.gpu_min_elements.has_value() || !in.never_pays;
}

// Whether the decision needs the cost model: automatic, a usable GPU, host
// data, and neither PARMAP_GPU_MIN_ELEMENTS nor a fixed split deciding.
bool needs_model(const call_info& call, const inputs& in) noexcept {
  const bool on_device = in.in_kind == memory_kind::device || in.out_kind == memory_kind::device;
  return automatic_device_op(call, in) && in.gpu_usable && !on_device && !in.set.gpu_min_elements &&
         !fixed_split(call, in) && !in.never_pays;
}

}  // namespace

inputs gather(const call_info& call, const options& opt) {
  inputs in;
  settle(opt, in.set);
  in.cores = all_cores();
  in.nested = nested_depth() > 0;
  in.never_pays = gpu_never_pays(call);
  // CUDA starts only for work that can use it: pointers are asked about only
  // once the driver is in the process (before that, no GPU memory can exist),
  // and the probe runs only for work that could run on a GPU.
  device_backend& dev = current_device_backend();
  const bool started = call.n != 0 && dev.started();
  if (started || may_use_gpu(call, in)) {
    const probe_result& probed = dev.probe();
    in.gpu_asked = true;
    in.gpu_usable = probed.available;
    in.gpu_description = probed.description.c_str();
  }
  if (started && in.gpu_usable) {
    in.in_kind = dev.locate(call.in);
    // In place: one query. Out of place both are asked about: either may be
    // GPU memory (device_array in, host vector out, or the reverse).
    in.out_kind = call.out == call.in ? in.in_kind : dev.locate(call.out);
  }
  // The kept calibration steers large memory-bound CPU maps and GPU runs only.
  if (!in.never_pays || call.n >= serial_threshold(call)) in.cached = calibration_if_made();
  if (needs_model(call, in)) {
    try {
      in.model = &current_calibration(in.cores);
      in.model_made_now = in.cached == nullptr;
      in.cached = in.model;
    } catch (const gpu_error& e) {  // measuring the GPU failed: nothing kept, the CPU this time
      in.model_error = e.what();
    }
  }
  return in;
}

namespace {

// The CPU path for host data: serial for one thread or a small map of a known
// cost, timed serially first (adaptive) for a small map of unknown cost, else
// OpenMP on `threads`.
exec_path host_path(const call_info& call, int threads) noexcept {
  const bool small = call.n < serial_threshold(call);
  if (threads <= 1) return exec_path::serial;
  if (small && call.cost == cost_class::unknown) return exec_path::adaptive;
  return small ? exec_path::serial : exec_path::parallel;
}

// Host data on the GPU: register the caller's memory when PARMAP_HOST_REGISTER
// says so, or (auto) when the calibration measured registering faster than
// staging for a job this size. Without a calibration yet, stage.
bool register_caller_memory(const call_info& call, const inputs& in, const gpu_run& g) {
  const bool host_side = g.in_kind == memory_kind::host || g.out_kind == memory_kind::host;
  if (!host_side) return false;
  if (in.set.register_host) return *in.set.register_host;
  return in.cached != nullptr && registration_pays(*in.cached, bytes_moved(call));
}

// Automatic mode sends host data to the GPU: after a GPU failure the CPU maps
// the elements whose results are not yet in the output.
gpu_run automatic_gpu(const call_info& call, const inputs& in) {
  gpu_run g;
  g.on_failure = gpu_failure_rule::run_on_cpu;
  const int threads = threads_of(in);
  g.fallback_threads = host_path(call, threads) == exec_path::parallel ? threads : 1;
  g.register_host = register_caller_memory(call, in, g);
  return g;
}

// Both at once: the CPU takes the first cpu_elements, the GPU the rest.
void choose_split(plan& p, const call_info& call, const inputs& in, std::size_t cpu_elements) {
  split_run s;
  s.gpu = automatic_gpu(call, in);
  s.cpu_elements = cpu_elements;
  const split_threads st = threads_for_split(threads_of(in));
  s.cpu_threads = st.cpu;
  s.copy_threads = st.copy;
  p.run = s;
  if (p.explain) {
    const double cpu = call.n == 0 ? 0.0 : 100.0 * static_cast<double>(cpu_elements) / static_cast<double>(call.n);
    char shares[64];
    std::snprintf(shares, sizeof shares, "split: cpu %.0f %%, gpu %.0f %%", cpu, 100.0 - cpu);
    note(p, shares);
  }
}

// Rule 2 and data in GPU memory: the GPU or an error, never a silent CPU run.
// True when it decided.
bool choose_forced_or_on_device(plan& p, const call_info& call, const inputs& in) {
  const char* source = in.set.source;
  if (in.set.where == backend::gpu) {
    const std::string head = std::string("parmap: backend gpu forced by ") + source + ", but ";
    if (call.kind != callable_kind::device) {
      throw backend_unavailable(head + "the callable has no GPU implementation (not a device op; "
                                       "use parmap::ops or parmap::device)");
    }
    if (!call.gpu_kernel) {
      throw backend_unavailable(head + std::string("there is no GPU kernel for ") + call.what +
                                " with these element types (float, double, int32, int64; same "
                                "input and output type)");
    }
    if (!in.gpu_usable) {
      throw backend_unavailable(head + "no GPU is usable: " + in.gpu_description);
    }
    gpu_run g;
    g.in_kind = in.in_kind;
    g.out_kind = in.out_kind;
    g.register_host = register_caller_memory(call, in, g);
    p.run = g;
    note(p, "forced by ", source);
    return true;
  }
  if (in.in_kind == memory_kind::device || in.out_kind == memory_kind::device) {
    if (in.set.where == backend::cpu) {
      throw backend_unavailable(std::string("parmap: backend cpu forced by ") + source +
                                ", but the data is in GPU memory");
    }
    if (!call.gpu_kernel) {
      throw backend_unavailable(std::string("parmap: the data is in GPU memory, but ") + call.what +
                                " has no GPU implementation for these element types");
    }
    gpu_run g;
    g.in_kind = in.in_kind;
    g.out_kind = in.out_kind;
    g.register_host = register_caller_memory(call, in, g);
    p.run = g;
    note(p, "data is in GPU memory");
    return true;
  }
  return false;
}

// Rule 3 for device ops: the GPU or a split when the settings or the cost
// model say so. True when it decided; otherwise the reason says why not.
bool choose_gpu_for_device_op(plan& p, const call_info& call, const inputs& in) {
  const settings& set = in.set;
  if (fixed_split(call, in) && in.gpu_usable) {
    const double share = set.split.cpu_share * static_cast<double>(call.n);
    choose_split(p, call, in, std::min(call.n, static_cast<std::size_t>(share)));
    note(p, " (PARMAP_SPLIT=", std::to_string(set.split.cpu_share), ")");
    return true;
  }
  if (!set.gpu_min_elements && in.never_pays) {
    note(p, "too small for the GPU; ");
    return false;
  }
  if (!in.gpu_usable) {
    note(p, "no usable GPU (", in.gpu_description, "); ");
    return false;
  }
  if (set.gpu_min_elements) {
    if (call.n >= *set.gpu_min_elements) {
      p.run = automatic_gpu(call, in);
      note(p, "n >= PARMAP_GPU_MIN_ELEMENTS=", std::to_string(*set.gpu_min_elements));
      return true;
    }
    note(p, "n < PARMAP_GPU_MIN_ELEMENTS=", std::to_string(*set.gpu_min_elements), "; ");
    return false;
  }
  if (in.model == nullptr) {
    note(p, "GPU failed while calibrating (", in.model_error, "); ");
    return false;
  }
  const calibration& cal = *in.model;
  if (in.model_made_now) note(p, "calibrated on first use (", cal.source, "); ");
  const int threads = threads_of(in);
  const estimate e = estimate_call(cal, {.n = call.n,
                                         .in_elem_bytes = call.in_elem_bytes,
                                         .out_elem_bytes = call.out_elem_bytes,
                                         .cost = call.cost,
                                         .threads = threads});
  // Both at once, when the rates measured while both ran say it beats the
  // faster side alone by a clear margin (the estimate is a model).
  // PARMAP_SPLIT=on: at the model's shares whatever it estimates.
  const bool always = set.split.how == split_setting::mode::always;
  if ((set.split.how == split_setting::mode::model && threads > 1) || always) {
    const split_estimate s = estimate_split(cal, {.n = call.n,
                                                  .in_elem_bytes = call.in_elem_bytes,
                                                  .out_elem_bytes = call.out_elem_bytes,
                                                  .cost = call.cost,
                                                  .threads = threads});
    const bool pays = s.cpu_elements > 0 && s.cpu_elements < call.n && s.seconds < 0.9 * std::min(e.cpu, e.gpu);
    if (pays || always) {
      choose_split(p, call, in, s.cpu_elements);
      if (p.explain) {
        note(p, "; estimated split ", millis(s.seconds), " vs cpu ", millis(e.cpu), ", gpu ", millis(e.gpu), " (",
             cal.source, ")");
      }
      return true;
    }
  }
  if (p.explain) note(p, "estimated gpu ", millis(e.gpu), " vs cpu ", millis(e.cpu), " (", cal.source, ")");
  if (e.gpu < e.cpu) {
    p.run = automatic_gpu(call, in);
    return true;
  }
  note(p, "; ");
  return false;
}

}  // namespace

plan choose(const call_info& call, const inputs& in) {
  plan p = plan_of(in.set);
  if (choose_forced_or_on_device(p, call, in)) return p;
  if (p.forced) note(p, "forced by ", in.set.source, "; ");
  // Calls in flight for callables that wait: n_jobs when given, else the cap.
  const int max_workers = static_cast<int>(std::max<std::size_t>(1, std::min(call.n, in.set.blocking_cap)));
  if (in.nested) {
    p.run = serial_run{};
    note(p, "nested call inside a parmap worker: serial");
    return p;
  }
  if (call.kind == callable_kind::blocking) {
    p.run = task_loop_run{max_workers, max_workers};
    note(p, "blocking callable: ", std::to_string(max_workers), " calls in flight");
    return p;
  }
  if (automatic_device_op(call, in)) {
    if (!fixed_split(call, in) && !in.set.gpu_min_elements && in.never_pays) {
      note(p, "too small for the GPU; ");  // the common small map: no call further
    } else if (choose_gpu_for_device_op(p, call, in)) {
      return p;
    }
  } else if (!p.forced && call.kind != callable_kind::device) {
    note(p, "not a device op; ");
  }

  int threads = threads_of(in);
  exec_path path = host_path(call, threads);
  if (path == exec_path::parallel && !p.forced && in.set.n_jobs == -1 && call.cost == cost_class::memory &&
      in.cached != nullptr) {
    // The calibration's best thread count for this size, when there is one
    // (made for a GPU machine's automatic mode; never measured for this).
    threads = cpu_threads_for(*in.cached, bytes_moved(call), threads);
    if (threads <= 1) {
      p.run.emplace<serial_run>();
      note(p, "calibrated: serial at this size");
      return p;
    }
  }
  if (path == exec_path::parallel && !built_with_openmp) {
    p.run.emplace<serial_run>();  // the loop would run on the calling thread anyway
    note(p, "built without OpenMP: serial");
    return p;
  }
  switch (path) {
    case exec_path::parallel:
      p.run.emplace<openmp_run>().threads = threads;
      note(p, "OpenMP, ", std::to_string(threads), " threads");
      break;
    case exec_path::adaptive: {  // the outcome says what the timing settled on
      auto& a = p.run.emplace<adaptive_run>();
      a.threads = threads;
      a.max_workers = max_workers;
      break;
    }
    default:
      p.run.emplace<serial_run>();
      if (threads <= 1) {
        note(p, "n_jobs = 1: serial");
      } else {
        note(p, "n < serial threshold ", std::to_string(serial_threshold(call)));
      }
      break;
  }
  return p;
}


first_elements time_first_elements(std::size_t n, const adaptive_rule& rule,
                                   fn_ref<void(std::size_t, std::size_t)> run, fn_ref<double()> clock) {
  first_elements f;
  if (n == 0) return f;
  double t0 = clock();
  run(0, 1);
  const double t1 = clock();  // each clock read is used twice
  f.done = 1;
  f.per_element = t1 - t0;
  if (f.per_element >= rule.expensive || n == 1) return f;
  t0 = t1;
  double elapsed = 0;
  for (std::size_t step = 1; f.done < n && elapsed < rule.timed_for && elapsed <= rule.serial_budget; step *= 2) {
    const std::size_t end = std::min(n, f.done + step);
    run(f.done, end);
    f.done = end;
    elapsed = clock() - t0;
    // The clock's reads make this an overestimate: once even it leaves the
    // rest within the serial budget, serial is settled (a small n costs a
    // read or two, not one per batch).
    f.per_element = elapsed / static_cast<double>(f.done - 1);
    if (f.per_element * static_cast<double>(n - f.done) <= rule.serial_budget) break;
  }
  return f;
}

route settle_adaptive(const adaptive_run& a, double per_element, std::size_t remaining, const char** why) {
  const int most = std::max(a.threads, a.max_workers);
  if (most > 1 && per_element * static_cast<double>(remaining) > a.rule.serial_budget) {
    if (per_element >= a.rule.task_min) {
      *why = "small n, expensive callable: task loop";
      return task_loop_run{std::max(1, a.threads), most};  // one worker per core, more while they wait
    }
    if (a.threads > 1) {
      *why = "small n, cheap callable, many elements: OpenMP";
      return openmp_run{a.threads};
    }
  }
  *why = "small n, cheap callable: serial";
  return serial_run{};
}

route cpu_fallback(const gpu_run& g) {
  if (g.fallback_threads > 1) return openmp_run{g.fallback_threads};
  return serial_run{};
}

plan plan_tasks(std::size_t n, bool all_blocking, const options& opt) {
  check_arguments(0, 0, opt.n_jobs);
  settings set;
  settle(opt, set);
  if (set.where == backend::gpu) {
    throw backend_unavailable(std::string("parmap::parallel: backend gpu forced by ") + set.source +
                              ", but tasks run on the host");
  }
  plan p = plan_of(set);
  task_loop_run t;
  t.max_workers = static_cast<int>(std::max<std::size_t>(1, std::min(n, set.blocking_cap)));
  if (nested_depth() > 0) {
    t = {1, 1};
    note(p, "nested call inside a parmap worker: serial");
  } else if (all_blocking || set.n_jobs > 0) {
    t.workers = t.max_workers;
    note(p, std::to_string(t.workers), " workers (", all_blocking ? "blocking tasks" : "n_jobs", ")");
  } else {
    t.workers = std::min(t.max_workers, std::max(1, all_cores()));
    note(p, std::to_string(t.workers), " workers, up to ", std::to_string(t.max_workers), " while they wait");
  }
  p.run = t;
  return p;
}

std::string describe(const plan& p, const outcome& o) {
  std::string r = p.reason;
  if (o.settled != nullptr) r += o.settled;
  // Which loops the CPU ran, when they were parmap's precompiled ones.
  const bool cpu_ran = o.used == backend::cpu || p.path() == exec_path::split;
  if (o.cpu_loops != nullptr && cpu_ran) (r += "; CPU loops: ") += o.cpu_loops;
  if (o.gpu_failure.empty()) return r;
  if (o.split_failed) {
    return r + "; GPU failed (" + o.gpu_failure + "): its share from element " + std::to_string(o.cpu_from) +
           " ran on the CPU";
  }
  if (o.cpu_from == 0) return "GPU failed (" + o.gpu_failure + "); ran on the CPU instead";
  return "GPU failed (" + o.gpu_failure + ") with elements below " + std::to_string(o.cpu_from) +
         " done; the rest ran on the CPU";
}

void finish(const plan& p, const outcome& o, const call_info& call, double seconds, const options& opt) noexcept {
  if (opt.out_report == nullptr && !p.verbose) return;
  std::string reason;
  if (p.explain) {
    try {
      reason = describe(p, o);
    } catch (...) {  // out of memory building the text: the other fields still say what ran
    }
  }
  if (opt.out_report != nullptr) {
    opt.out_report->used = o.used;
    try {
      opt.out_report->reason = reason;
    } catch (...) {
      opt.out_report->reason.clear();
    }
    opt.out_report->n = call.n;
    opt.out_report->seconds = seconds;
  }
  if (p.verbose) {
    // One fprintf per line, so lines from concurrent calls do not tear.
    std::fprintf(stderr, "parmap: %s n=%zu -> %s (%s) %.3f ms\n", call.what, call.n, to_string(o.used),
                 reason.c_str(), seconds * 1e3);
  }
}

}  // namespace parmap::detail
