// The dispatcher: picks serial, OpenMP, blocking or GPU for one call, in the
// order of DESIGN.md, and reports what it picked and why.
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
#include "parmap/detail/gpu_state.hpp"
#include "parmap/detail/nesting.hpp"
#include "parmap/detail/split.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {

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

// Appends to the reason only when someone will read it (a report or
// PARMAP_VERBOSE), so that small maps do not pay for formatting.
template <class... Parts>
void note(decision& d, const Parts&... parts) {
  if (d.explain) (d.reason.append(parts), ...);
}

std::string millis(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g ms", s * 1e3);
  return buf;
}

}  // namespace

bool gpu_never_pays(const call_info& call) noexcept {
  const std::size_t bytes = call.n * (call.in_elem_bytes + call.out_elem_bytes);
  return bytes < gpu_min_bytes_moved ||
         (call.cost != cost_class::memory && call.n < serial_threshold(cost_class::transcendental));
}

std::size_t serial_threshold(cost_class c) noexcept {
  switch (c) {
    case cost_class::memory: return std::size_t{1} << 15;
    case cost_class::transcendental: return std::size_t{1} << 11;
    case cost_class::unknown: return std::size_t{1} << 15;
  }
  return 0;
}

void validate_n_jobs(int n_jobs, const char* name) {
  if (n_jobs == 0 || n_jobs < -1) {
    throw std::invalid_argument(std::string(name) + " must be -1 (all cores) or >= 1, got " +
                                std::to_string(n_jobs));
  }
}

void check_arguments(std::size_t in_n, std::size_t out_n, int n_jobs) {
  validate_n_jobs(n_jobs, "parmap: options.n_jobs");
  if (out_n < in_n) {
    throw std::invalid_argument("parmap: output span too short: out has " + std::to_string(out_n) +
                                " elements, in has " + std::to_string(in_n));
  }
}

void check_no_partial_overlap(const void* in, std::size_t in_bytes, const void* out,
                              std::size_t out_bytes, bool same_element_size) {
  if (in_bytes == 0 || out_bytes == 0) return;
  const auto a = reinterpret_cast<std::uintptr_t>(in);
  const auto b = reinterpret_cast<std::uintptr_t>(out);
  const bool overlap = a < b + out_bytes && b < a + in_bytes;
  if (!overlap || (a == b && same_element_size)) return;
  throw std::invalid_argument(
      "parmap: output overlaps input partially (in place is allowed only with the same span and "
      "element size)");
}

namespace {

// What every call settles first, in DESIGN.md's order: the backend and who
// chose it, n_jobs, the flags for reports and progress, and the cap on calls
// in flight for callables that wait.
struct settings {
  backend where = backend::automatic;
  std::string source;  // "options.where", "scoped_backend" or "PARMAP_BACKEND=..."
  int n_jobs = -1;
  std::size_t blocking_cap = 0;
  std::optional<std::size_t> gpu_min_elements;  // PARMAP_GPU_MIN_ELEMENTS
  split_setting split;                          // PARMAP_SPLIT
};

settings settle(const options& opt, decision& d) {
  const environment& env = current_environment();
  const scope_setting scope = current_scope();
  d.verbose = env.verbose;
  d.explain = env.verbose || opt.out_report != nullptr;
  d.progress = opt.progress || env.progress > 0;
  d.progress_forced = env.progress == 2;

  settings s;
  if (opt.where != backend::automatic) {
    s.where = opt.where;
    s.source = "options.where";
  } else if (scope.where != backend::automatic) {
    s.where = scope.where;
    s.source = "scoped_backend";
  } else if (env.where) {
    s.where = *env.where;
    s.source = std::string("PARMAP_BACKEND=") + to_string(s.where);
  }
  s.n_jobs = opt.n_jobs != -1 ? opt.n_jobs : scope.n_jobs;
  s.blocking_cap = s.n_jobs > 0 ? static_cast<std::size_t>(s.n_jobs) : max_blocking();
  s.gpu_min_elements = env.gpu_min_elements;
  s.split = env.split;
  d.threads = s.n_jobs == -1 ? all_cores() : s.n_jobs;
  d.forced = s.where != backend::automatic;
  return s;
}

// The CPU path for host data: serial for one thread or a small map of a known
// cost, timed serially first (adaptive) for a small map of unknown cost, else
// OpenMP.
exec_path host_path(const decision& d, const call_info& call) noexcept {
  const bool small = call.n < serial_threshold(call.cost);
  if (d.threads <= 1) return exec_path::serial;
  if (small && call.cost == cost_class::unknown) return exec_path::adaptive;
  return small ? exec_path::serial : exec_path::parallel;
}

// Automatic mode sends host data to the GPU: after a GPU failure the CPU maps
// the elements whose results are not yet in the output.
void choose_gpu_with_cpu_fallback(decision& d, const call_info& call) noexcept {
  d.used = backend::gpu;
  d.path = exec_path::gpu;
  d.on_gpu_failure = gpu_failure_rule::run_on_cpu;
  d.cpu_fallback = host_path(d, call) == exec_path::parallel ? exec_path::parallel : exec_path::serial;
}

// Both at once: the CPU takes the first cpu_elements, the GPU the rest.
void choose_split(decision& d, const call_info& call, std::size_t cpu_elements) {
  choose_gpu_with_cpu_fallback(d, call);
  d.path = exec_path::split;
  d.split_at = cpu_elements;
  const split_threads st = threads_for_split(d.threads);
  d.split_cpu_threads = st.cpu;
  d.split_copy_threads = st.copy;
  if (d.explain) {
    const double cpu = call.n == 0 ? 0.0 : 100.0 * static_cast<double>(cpu_elements) / static_cast<double>(call.n);
    char shares[64];
    std::snprintf(shares, sizeof shares, "split: cpu %.0f %%, gpu %.0f %%", cpu, 100.0 - cpu);
    note(d, shares);
  }
}

// PARMAP_SPLIT=<share>: a split whatever the model says, for device ops on
// host data when a GPU is usable and nothing forced a backend.
bool fixed_split_applies(const settings& set, const decision& d, const call_info& call) {
  return set.split.how == split_setting::mode::fixed && !d.forced && call.kind == callable_kind::device &&
         call.gpu_kernel && call.n > 0;
}

decision choose_path(const call_info& call, const options& opt);

// Host data on the GPU: register the caller's memory when PARMAP_HOST_REGISTER
// says so, or (auto) when the calibration measured registering faster than
// staging for a job this size. Without a calibration yet, stage.
bool register_caller_memory(const decision& d, const call_info& call) {
  const bool host_side = d.in_kind == memory_kind::host || d.out_kind == memory_kind::host;
  if ((d.path != exec_path::gpu && d.path != exec_path::split) || !host_side) return false;
  const std::optional<bool> env = current_environment().register_host;
  if (env) return *env;
  const calibration* cal = calibration_if_made();
  return cal != nullptr && registration_pays(*cal, call.n * (call.in_elem_bytes + call.out_elem_bytes));
}

}  // namespace

decision decide(const call_info& call, const options& opt) {
  decision d = choose_path(call, opt);
  d.register_host = register_caller_memory(d, call);
  return d;
}

namespace {

decision choose_path(const call_info& call, const options& opt) {
  decision d;
  const settings set = settle(opt, d);
  const backend where = set.where;
  const std::string& source = set.source;

  // CUDA starts only for work that can use it: the probe runs on first need,
  // and pointers are asked about only once the driver is in the process
  // (before that, no GPU memory can exist).
  device_backend& dev = current_device_backend();
  const probe_result* probed = nullptr;
  auto gpu = [&]() -> const probe_result& {
    if (probed == nullptr) probed = &dev.probe();
    return *probed;
  };
  if (call.n != 0 && dev.started() && gpu().available) {
    d.in_kind = dev.locate(call.in);
    // In place: one query. Out of place both are asked about: either may be
    // GPU memory (device_array in, host vector out, or the reverse).
    d.out_kind = call.out == call.in ? d.in_kind : dev.locate(call.out);
  }
  const bool on_device = d.in_kind == memory_kind::device || d.out_kind == memory_kind::device;

  if (where == backend::gpu) {
    const std::string head = "parmap: backend gpu forced by " + source + ", but ";
    if (call.kind != callable_kind::device) {
      throw backend_unavailable(head + "the callable has no GPU implementation (not a device op; "
                                       "use parmap::ops or parmap::device)");
    }
    if (!call.gpu_kernel) {
      throw backend_unavailable(head + std::string("there is no GPU kernel for ") + call.what +
                                " with these element types (float, double, int32, int64; same "
                                "input and output type)");
    }
    if (!gpu().available) throw backend_unavailable(head + "no GPU is usable: " + gpu().description);
    d.used = backend::gpu;
    d.path = exec_path::gpu;
    note(d, "forced by ", source);
    return d;
  }
  if (on_device) {
    if (where == backend::cpu) {
      throw backend_unavailable("parmap: backend cpu forced by " + source +
                                ", but the data is in GPU memory");
    }
    if (!call.gpu_kernel) {
      throw backend_unavailable(std::string("parmap: the data is in GPU memory, but ") + call.what +
                                " has no GPU implementation for these element types");
    }
    d.used = backend::gpu;
    d.path = exec_path::gpu;
    note(d, "data is in GPU memory");
    return d;
  }

  d.used = backend::cpu;
  if (d.forced) note(d, "forced by ", source, "; ");
  // Calls in flight for callables that wait: n_jobs when given, else the cap.
  d.max_workers = static_cast<int>(std::max<std::size_t>(1, std::min(call.n, set.blocking_cap)));
  if (nested_depth() > 0) {
    d.threads = 1;
    d.max_workers = 1;
    d.path = exec_path::serial;
    note(d, "nested call inside a parmap worker: serial");
    return d;
  }
  if (call.kind == callable_kind::blocking) {
    d.threads = d.max_workers;
    d.path = exec_path::blocking;
    note(d, "blocking callable: ", std::to_string(d.threads), " calls in flight");
    return d;
  }

  if (fixed_split_applies(set, d, call) && gpu().available) {
    const double share = set.split.cpu_share * static_cast<double>(call.n);
    choose_split(d, call, std::min(call.n, static_cast<std::size_t>(share)));
    note(d, " (PARMAP_SPLIT=", std::to_string(set.split.cpu_share), ")");
    return d;
  }
  if (!d.forced && call.kind == callable_kind::device && call.gpu_kernel) {
    if (!set.gpu_min_elements && gpu_never_pays(call)) {
      note(d, "too small for the GPU; ");
    } else if (!gpu().available) {
      note(d, "no usable GPU (", gpu().description, "); ");
    } else if (set.gpu_min_elements) {
      if (call.n >= *set.gpu_min_elements) {
        choose_gpu_with_cpu_fallback(d, call);
        note(d, "n >= PARMAP_GPU_MIN_ELEMENTS=", std::to_string(*set.gpu_min_elements));
        return d;
      }
      note(d, "n < PARMAP_GPU_MIN_ELEMENTS=", std::to_string(*set.gpu_min_elements), "; ");
    } else {
      const calibration* cal = nullptr;
      try {
        cal = &current_calibration(all_cores());
      } catch (const gpu_error& e) {  // measuring the GPU failed: nothing cached, CPU this time
        note(d, "GPU failed while calibrating (", e.what(), "); ");
      }
      if (cal != nullptr) {
        const estimate e = estimate_call(*cal, call.n, call.in_elem_bytes, call.out_elem_bytes, call.cost,
                                         d.threads, false, false);
        // Both at once, when the rates measured while both ran say it beats
        // the faster side alone by a clear margin (the estimate is a model).
        // PARMAP_SPLIT=on: at the model's shares whatever it estimates.
        const bool always = set.split.how == split_setting::mode::always;
        if ((set.split.how == split_setting::mode::model && d.threads > 1) || always) {
          const split_estimate s =
              estimate_split(*cal, call.n, call.in_elem_bytes, call.out_elem_bytes, call.cost, d.threads);
          const bool pays = s.cpu_elements > 0 && s.cpu_elements < call.n && s.seconds < 0.9 * std::min(e.cpu, e.gpu);
          if (pays || always) {
            choose_split(d, call, s.cpu_elements);
            if (d.explain) {
              note(d, "; estimated split ", millis(s.seconds), " vs cpu ", millis(e.cpu), ", gpu ", millis(e.gpu),
                   " (", cal->source, ")");
            }
            return d;
          }
        }
        if (e.gpu < e.cpu) {
          choose_gpu_with_cpu_fallback(d, call);
          if (d.explain) note(d, "estimated gpu ", millis(e.gpu), " vs cpu ", millis(e.cpu), " (", cal->source, ")");
          return d;
        }
        if (d.explain) note(d, "estimated gpu ", millis(e.gpu), " vs cpu ", millis(e.cpu), " (", cal->source, "); ");
      }
    }
  } else if (!d.forced && call.kind != callable_kind::device) {
    note(d, "not a device op; ");
  }

  d.path = host_path(d, call);
  if (d.path == exec_path::parallel && !d.forced && set.n_jobs == -1 && call.cost == cost_class::memory) {
    // The calibration's best thread count for this size, when there is one
    // (made for a GPU machine's automatic mode; never measured for this).
    if (const calibration* cal = calibration_if_made()) {
      d.threads = cpu_threads_for(*cal, call.n, d.threads);
      if (d.threads <= 1) {
        d.path = exec_path::serial;
        note(d, "calibrated: serial at this size");
        return d;
      }
    }
  }
  if (d.path == exec_path::serial && d.threads <= 1) {
    note(d, "n_jobs = 1: serial");
  } else if (d.path == exec_path::serial) {
    note(d, "n < serial threshold ", std::to_string(serial_threshold(call.cost)));
  } else if (d.path == exec_path::parallel) {
    note(d, "OpenMP, ", std::to_string(d.threads), " threads");
  }  // adaptive: settle_adaptive completes the reason
  return d;
}

}  // namespace

void settle_adaptive(decision& d, double per_element, std::size_t remaining) {
  const int most = std::max(d.threads, d.max_workers);
  if (most > 1 && per_element * static_cast<double>(remaining) > d.adaptive.serial_budget) {
    d.path = exec_path::blocking;  // a task loop: one worker per core, more while they wait
    d.max_workers = most;
    note(d, "small n, expensive callable: task loop");
  } else {
    d.path = exec_path::serial;
    note(d, "small n, cheap callable: serial");
  }
}

worker_limits plan_tasks(std::size_t n, bool all_blocking, const options& opt, decision& d) {
  check_arguments(0, 0, opt.n_jobs);
  const settings set = settle(opt, d);
  if (set.where == backend::gpu) {
    throw backend_unavailable("parmap::parallel: backend gpu forced by " + set.source +
                              ", but tasks run on the host");
  }
  d.used = backend::cpu;
  d.path = exec_path::blocking;
  worker_limits lim;
  lim.cap = static_cast<int>(std::max<std::size_t>(1, std::min(n, set.blocking_cap)));
  if (nested_depth() > 0) {
    lim = {1, 1};
    note(d, "nested call inside a parmap worker: serial");
  } else if (all_blocking || set.n_jobs > 0) {
    lim.start = lim.cap;
    note(d, std::to_string(lim.start), " workers (", all_blocking ? "blocking tasks" : "n_jobs", ")");
  } else {
    lim.start = std::min(lim.cap, std::max(1, all_cores()));
    note(d, std::to_string(lim.start), " workers, up to ", std::to_string(lim.cap), " while they wait");
  }
  d.threads = lim.start;
  d.max_workers = lim.cap;
  return lim;
}

void fall_back_to_cpu(decision& d, const char* what_failed, std::size_t from) {
  const bool was_split = d.path == exec_path::split;
  d.used = backend::cpu;
  d.path = d.cpu_fallback;
  if (!d.explain) return;
  if (was_split) {
    note(d, "; GPU failed (", what_failed, "): its share from element ", std::to_string(from),
         " ran on the CPU");
    return;
  }
  d.reason.clear();
  if (from == 0) {
    note(d, "GPU failed (", what_failed, "); ran on the CPU instead");
  } else {
    note(d, "GPU failed (", what_failed, ") with elements below ", std::to_string(from),
         " done; the rest ran on the CPU");
  }
}

void finish(const decision& d, const call_info& call, double seconds, const options& opt) noexcept {
  if (opt.out_report != nullptr) {
    opt.out_report->used = d.used;
    try {
      opt.out_report->reason = d.reason;
    } catch (...) {  // out of memory copying the text: the other fields still say what ran
      opt.out_report->reason.clear();
    }
    opt.out_report->n = call.n;
    opt.out_report->seconds = seconds;
  }
  if (d.verbose) {
    // One fprintf per line, so lines from concurrent calls do not tear.
    std::fprintf(stderr, "parmap: %s n=%zu -> %s (%s) %.3f ms\n", call.what, call.n,
                 to_string(d.used), d.reason.c_str(), seconds * 1e3);
  }
}

}  // namespace parmap::detail
