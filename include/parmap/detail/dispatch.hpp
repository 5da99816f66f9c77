// The dispatcher (host/dispatch.cpp): map() describes the call (call_info),
// gather() reads what the decision depends on (inputs), a pure choose() returns
// the plan, the executor (host/execute.cpp) runs it and returns an outcome,
// and describe(plan, outcome) is the report's reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "../options.hpp"
#include "clock.hpp"
#include "device_backend.hpp"
#include "fn_ref.hpp"
#include "op_code.hpp"

namespace parmap::detail {

struct cpu_kernels;  // cpu_isa.hpp

struct calibration;

enum class callable_kind : unsigned char { plain, blocking, device };

struct call_info {
  std::size_t n = 0;
  std::size_t in_elem_bytes = 0;   // bytes per input element
  std::size_t out_elem_bytes = 0;  // bytes per output element
  callable_kind kind = callable_kind::plain;
  bool gpu_kernel = false;  // a GPU implementation exists for these element types
  cost_class cost = cost_class::unknown;
  const void* in = nullptr;
  const void* out = nullptr;
  const char* what = "callable";  // op name for logs
};

// What the executor does when an automatic GPU run fails with a gpu_error
// before writing the caller's output.
enum class gpu_failure_rule : unsigned char {
  rethrow,     // forced GPU, or data in GPU memory: the error reaches the caller
  run_on_cpu,  // automatic on host data: the CPU maps what the GPU did not
};

// exec_path::adaptive (a callable of unknown cost on a small input): how long
// the executor times elements serially (time_first_elements) before
// settle_adaptive picks serial, OpenMP or a task loop for the rest.
struct adaptive_rule {
  double serial_budget = 50e-6;  // s the rest may cost serially (a task loop costs tens of us)
  double expensive = 100e-6;     // a first element slower than this stops the timing
  // s the batches after the first element run for at least, so that the
  // clock's own cost (tens of ns a read) is a small share of what is timed:
  // 33 elements of a 1 ns lambda, timed with their 6 clock reads, looked
  // like 7 ns each and sent 16K of them to a task loop (map_lambda/16384 in
  // parmap-dispatch-bench: 455 us a call, 1.8 us once timed this way).
  double timed_for = 4e-6;
  // s an element must take to go to a task loop, which hands out one element
  // at a time (55 to 70 ns of a worker's time each, measured on two threads);
  // cheaper elements over the serial budget run on OpenMP's static shares.
  double task_min = 1e-6;
};

// What time_first_elements measured: elements [0, done) are mapped, at
// per_element seconds each.
struct first_elements {
  std::size_t done = 0;
  double per_element = 0;
};

// Times an adaptive run's first elements: run(b, e) maps [b, e) (throwing a
// failure), clock() reads seconds. Element 0 alone (a first call can be slow
// for reasons of its own: cold caches, first touches), then, unless it took
// longer than rule.expensive, batches of 1, 2, 4, ... until they have run for
// rule.timed_for or the serial budget, or n is done, or the time so far says
// the rest fits the serial budget; per_element is the batches' time per
// element, clock reads included, so never under the elements' own (element
// 0's when n is 1 or it was expensive).
first_elements time_first_elements(std::size_t n, const adaptive_rule& rule,
                                   fn_ref<void(std::size_t, std::size_t)> run, fn_ref<double()> clock);

// ---- The plan: one alternative per path, each with only its own fields ----

struct serial_run {};
struct openmp_run {
  int threads = 2;
};
struct adaptive_run {
  adaptive_rule rule;
  int threads = 1;      // cores a task loop would start with
  int max_workers = 1;  // most workers it may grow to
};
struct task_loop_run {
  int workers = 1;      // to begin with
  int max_workers = 1;  // most ever (more while they wait)
};
struct gpu_run {
  memory_kind in_kind = memory_kind::host;
  memory_kind out_kind = memory_kind::host;
  bool register_host = false;  // register the caller's host memory (pipeline.hpp)
  gpu_failure_rule on_failure = gpu_failure_rule::rethrow;
  int fallback_threads = 1;    // run_on_cpu: OpenMP threads of the CPU path (1: serial)
};
// The CPU maps [0, cpu_elements) on cpu_threads while the GPU pipeline maps
// the rest, its staging copies on copy_threads (split.hpp).
struct split_run {
  gpu_run gpu;
  std::size_t cpu_elements = 0;
  int cpu_threads = 1;
  int copy_threads = 1;
};
using route = std::variant<serial_run, openmp_run, adaptive_run, task_loop_run, gpu_run, split_run>;
// The route's alternative, by name (in the variant's order).
enum class exec_path : unsigned char { serial, parallel, adaptive, blocking, gpu, split };

// Settings every call reads first, in DESIGN.md's order.
struct split_setting {  // PARMAP_SPLIT
  enum class mode : unsigned char {
    model,   // when the calibrated model says it pays (the default, "auto")
    off,     // never
    always,  // whenever the model is asked (a GPU, host data, not too small), at its shares ("on")
    fixed,   // always, the CPU taking cpu_share of the elements (tests, measurements)
  };
  mode how = mode::model;
  double cpu_share = 0;
};
struct settings {
  backend where = backend::automatic;
  const char* source = "";  // who chose it: "options.where", "scoped_backend" or "PARMAP_BACKEND=..."
  int n_jobs = -1;     // options, else the innermost scoped_backend
  std::size_t blocking_cap = 1;                 // calls in flight for callables that wait
  std::optional<std::size_t> gpu_min_elements;  // PARMAP_GPU_MIN_ELEMENTS
  split_setting split;                          // PARMAP_SPLIT
  std::optional<bool> register_host;            // PARMAP_HOST_REGISTER (auto: nullopt)
  const cpu_kernels* cpu = nullptr;             // PARMAP_CPU_ISA's precompiled loops
  bool verbose = false;          // PARMAP_VERBOSE=1
  bool explain = false;          // a reason is wanted (a report or verbose): built only then
  bool progress = false;         // options.progress or PARMAP_PROGRESS
  bool progress_forced = false;  // PARMAP_PROGRESS=force: even when stderr is not a terminal
};

// Everything choose() decides from, read once by gather().
struct inputs {
  settings set;
  int cores = 1;        // all_cores()
  bool nested = false;  // called from inside a parmap worker
  bool never_pays = false;  // gpu_never_pays(call)
  memory_kind in_kind = memory_kind::host;
  memory_kind out_kind = memory_kind::host;
  bool gpu_asked = false;  // the probe ran for this call (only for work that can use a GPU)
  bool gpu_usable = false;
  const char* gpu_description = "";  // the probe's text (it lives as long as its backend)
  const calibration* model = nullptr;   // for the cost model, when the decision needs it
  bool model_made_now = false;          // gather() loaded or measured it for this call
  std::string model_error;              // measuring it failed (a gpu_error's text)
  const calibration* cached = nullptr;  // the one kept, if any (never measured for this)
};

// The plan for one call, decided in one place and never rewritten while it runs.
struct plan {
  route run;
  const cpu_kernels* cpu = nullptr;  // the precompiled loops' set, for built-in ops and programs
  bool forced = false;
  bool verbose = false;
  bool explain = false;
  bool progress = false;
  bool progress_forced = false;
  std::string reason;  // why; empty unless explain

  [[nodiscard]] exec_path path() const noexcept { return static_cast<exec_path>(run.index()); }
  [[nodiscard]] backend used() const noexcept {
    return path() == exec_path::gpu || path() == exec_path::split ? backend::gpu : backend::cpu;
  }
};

// What one call did: what produced the results in the end, and what happened
// on the way (a GPU failure the CPU took over from, an adaptive run settled).
struct outcome {
  backend used = backend::cpu;
  std::string gpu_failure;   // what failed (empty: nothing did)
  std::size_t cpu_from = 0;  // after a GPU failure: the CPU mapped from this element on
  bool split_failed = false; // the failure was the GPU share of a split
  const char* settled = nullptr;  // adaptive: what the timing settled on
  const char* cpu_loops = nullptr;  // the precompiled loops' set, when the CPU ran them
};

[[noreturn]] void throw_bad_n_jobs(int n_jobs, const char* name);
[[noreturn]] void throw_short_output(std::size_t in_n, std::size_t out_n);

// The one n_jobs rule, for C++ and Python alike: -1 (all cores) or >= 1, else
// std::invalid_argument "<name> must be -1 (all cores) or >= 1, got <n_jobs>".
inline void validate_n_jobs(int n_jobs, const char* name) {
  if (n_jobs == 0 || n_jobs < -1) throw_bad_n_jobs(n_jobs, name);
}

// Validates the arguments (std::invalid_argument naming the bad one).
inline void check_arguments(std::size_t in_n, std::size_t out_n, int n_jobs) {
  validate_n_jobs(n_jobs, "parmap: options.n_jobs");
  if (out_n < in_n) throw_short_output(in_n, out_n);
}
[[noreturn]] void throw_partial_overlap();
inline void check_no_partial_overlap(const void* in, std::size_t in_bytes, const void* out, std::size_t out_bytes,
                                     bool same_element_size) {
  if (in_bytes == 0 || out_bytes == 0) return;
  const auto a = reinterpret_cast<std::uintptr_t>(in);
  const auto b = reinterpret_cast<std::uintptr_t>(out);
  const bool overlap = a < b + out_bytes && b < a + in_bytes;
  if (!overlap || (a == b && same_element_size)) return;
  throw_partial_overlap();
}

// Reads the settings, the data's location and the machine once: the probe
// only for work that can use a GPU, the calibration only for an automatic
// decision that needs the cost model (the first one measures it, or loads it
// from the cache, here and visibly: the plan's reason says so). Throws
// config_error for a bad PARMAP_* value.
inputs gather(const call_info& call, const options& opt);

// The plan, as DESIGN.md's ordered rules, from nothing but its arguments.
// Throws backend_unavailable when a forced backend cannot run the call.
plan choose(const call_info& call, const inputs& in);

// choose(call, gather(call, opt)).
inline plan decide(const call_info& call, const options& opt) { return choose(call, gather(call, opt)); }

// The threads n_jobs = -1 ("all cores") means: OpenMP's count, which honours
// OMP_NUM_THREADS (the hardware's without OpenMP). For C++ and Python alike.
int all_cores() noexcept;

// The most calls in flight for callables that wait when n_jobs does not say:
// PARMAP_MAX_BLOCKING, else 64.
std::size_t max_blocking();

// A task loop's workers (task_loop.hpp).
struct worker_limits {
  int start = 1;            // workers to begin with
  int cap = 1;              // most workers ever
  bool serialised = false;  // the callables compute one at a time (a shared lock)
};

// The plan of n tasks (parallel(), Python callables): a task loop. Throws
// backend_unavailable when the GPU is forced, std::invalid_argument for a bad
// n_jobs.
plan plan_tasks(std::size_t n, bool all_blocking, const options& opt);

// adaptive_run, applied to what the executor timed: `per_element` seconds for
// each of the `remaining` elements. Serial when the rest costs at most the
// rule's serial budget; over it, a task loop (that grows while its workers
// wait) for elements of at least rule.task_min, else OpenMP on the run's
// threads; `why` says which.
route settle_adaptive(const adaptive_run& a, double per_element, std::size_t remaining, const char** why);

// The CPU route that maps what a failed automatic GPU run left.
route cpu_fallback(const gpu_run& g);

// The report's reason: the plan's, and what the outcome adds.
std::string describe(const plan& p, const outcome& o);

// After the call: fills opt.out_report and logs under PARMAP_VERBOSE=1.
// Never throws (a report that cannot be filled is left as it was).
void finish(const plan& p, const outcome& o, const call_info& call, double seconds, const options& opt) noexcept;

// Fills the report and logs when the call ends, normally or by an exception.
// The call is timed only when someone reads the time (a report or
// PARMAP_VERBOSE): two clock reads are a fifth of a small map's cost.
class call_guard {
 public:
  call_guard(const plan& p, const outcome& o, const call_info& call, const options& opt) noexcept
      : p_(p), o_(o), call_(call), opt_(opt), t0_(p.explain ? now_seconds() : 0.0) {}
  ~call_guard() {
    if (p_.explain) finish(p_, o_, call_, now_seconds() - t0_, opt_);  // else nothing to fill or log
  }
  call_guard(const call_guard&) = delete;
  call_guard& operator=(const call_guard&) = delete;

 private:
  const plan& p_;
  const outcome& o_;
  const call_info& call_;
  const options& opt_;
  double t0_;
};

// Bytes a map reads and writes per element, and in all.
inline std::size_t bytes_moved_per_element(const call_info& call) noexcept {
  return call.in_elem_bytes + call.out_elem_bytes;
}
inline std::size_t bytes_moved(const call_info& call) noexcept { return call.n * bytes_moved_per_element(call); }

// Below serial_threshold_transcendental elements a map of a transcendental op
// runs serially; below serial_bytes_moved bytes (in + out; 2^15 f32 elements,
// 2^14 f64) a memory-bound one: starting the threads costs more than they gain.
inline constexpr std::size_t serial_threshold_transcendental = std::size_t{1} << 11;
inline constexpr std::size_t serial_bytes_moved = std::size_t{256} << 10;

// Automatic mode never sends host data to the GPU when the map moves fewer
// bytes (in + out) than this, nor a transcendental op of fewer than
// serial_threshold_transcendental elements: a GPU round trip costs ~20 us,
// more than the CPU needs for them. Such calls do not start CUDA.
inline constexpr std::size_t gpu_min_bytes_moved = std::size_t{64} << 10;
bool gpu_never_pays(const call_info& call) noexcept;

// Below this many elements the call's map runs serially (memory-bound: under
// serial_bytes_moved; a transcendental op: serial_threshold_transcendental;
// unknown cost: 2^15, timed first).
std::size_t serial_threshold(const call_info& call) noexcept;

}  // namespace parmap::detail
