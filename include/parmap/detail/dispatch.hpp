// The dispatcher's non-template core (host/dispatch.cpp): map() describes the
// call, decide() returns the complete plan, the executor (execute.hpp) runs
// it, and a call_guard fills the report and logs when the call ends.
#pragma once

#include <cstddef>
#include <string>

#include "../options.hpp"
#include "clock.hpp"
#include "device_backend.hpp"
#include "op_code.hpp"

namespace parmap::detail {

enum class callable_kind : unsigned char { plain, blocking, device };
// split: the CPU maps [0, split_at) on split_cpu_threads while the GPU
// pipeline maps the rest (split.hpp).
enum class exec_path : unsigned char { serial, parallel, adaptive, blocking, gpu, split };

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
  run_on_cpu,  // automatic on host data: the CPU runs the call (cpu_fallback)
};

// exec_path::adaptive (a callable of unknown cost on a small input): how many
// elements the executor times serially before the plan settles on serial or a
// task loop (settle_adaptive).
struct adaptive_rule {
  double serial_budget = 50e-6;   // s the rest may cost serially (a task loop costs tens of us)
  double expensive = 100e-6;      // a first element slower than this stops the timing
  std::size_t timed_limit = 33;   // elements timed at most, in batches of 1, 2, 4, ...
};

// The plan for one call: everything the executor needs, decided in one place.
struct decision {
  backend used = backend::cpu;
  exec_path path = exec_path::serial;
  bool forced = false;
  bool verbose = false;  // PARMAP_VERBOSE=1
  bool explain = false;  // reason wanted (a report or verbose): built only then
  bool progress = false;        // draw a progress bar (options.progress, PARMAP_PROGRESS)
  bool progress_forced = false;  // even when stderr is not a terminal (PARMAP_PROGRESS=force)
  int threads = 1;       // OpenMP threads, or workers a task loop starts with
  int max_workers = 1;   // most workers a task loop may grow to
  memory_kind in_kind = memory_kind::host;
  memory_kind out_kind = memory_kind::host;
  gpu_failure_rule on_gpu_failure = gpu_failure_rule::rethrow;
  exec_path cpu_fallback = exec_path::parallel;  // the CPU path after a GPU failure
  adaptive_rule adaptive;
  std::size_t split_at = 0;    // exec_path::split: elements the CPU takes, from the start
  int split_cpu_threads = 1;   // the CPU share's OpenMP threads
  int split_copy_threads = 1;  // the GPU share's staging-copy threads
  bool register_host = false;  // GPU on host data: register the caller's memory (pipeline.hpp)
  std::string reason;  // empty unless explain
};

// The one n_jobs rule, for C++ and Python alike: -1 (all cores) or >= 1, else
// std::invalid_argument "<name> must be -1 (all cores) or >= 1, got <n_jobs>".
void validate_n_jobs(int n_jobs, const char* name);

// Validates the arguments (std::invalid_argument naming the bad one).
void check_arguments(std::size_t in_n, std::size_t out_n, int n_jobs);
void check_no_partial_overlap(const void* in, std::size_t in_bytes, const void* out,
                              std::size_t out_bytes, bool same_element_size);

// Throws config_error for a bad PARMAP_* value and backend_unavailable when a
// forced GPU cannot run the call.
decision decide(const call_info& call, const options& opt);

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

// Which loop runs n tasks (parallel(), Python callables): workers to start
// with and the cap. Throws backend_unavailable when the GPU is forced.
worker_limits plan_tasks(std::size_t n, bool all_blocking, const options& opt, decision& d);

// After the call: fills opt.out_report and logs under PARMAP_VERBOSE=1.
// Never throws (a report that cannot be filled is left as it was).
void finish(const decision& d, const call_info& call, double seconds, const options& opt) noexcept;

// Fills the report and logs when the call ends, normally or by an exception.
// The call is timed only when someone reads the time (a report or
// PARMAP_VERBOSE): two clock reads are a fifth of a small map's cost.
class call_guard {
 public:
  call_guard(const decision& d, const call_info& call, const options& opt) noexcept
      : d_(d), call_(call), opt_(opt), t0_(d.explain ? now_seconds() : 0.0) {}
  ~call_guard() { finish(d_, call_, d_.explain ? now_seconds() - t0_ : 0.0, opt_); }
  call_guard(const call_guard&) = delete;
  call_guard& operator=(const call_guard&) = delete;

 private:
  const decision& d_;
  const call_info& call_;
  const options& opt_;
  double t0_;
};

// The plan's gpu_failure_rule::run_on_cpu after the GPU failed with its
// results in place up to element `from` (of the whole call): switches d to
// d.cpu_fallback, which maps [from, n), and says so in the reason.
void fall_back_to_cpu(decision& d, const char* what_failed, std::size_t from);

// The plan's adaptive_rule, applied to what the executor timed: `per_element`
// seconds for each of the `remaining` elements. Sets d.path to serial or
// blocking (a task loop that grows while its workers wait) and d's reason.
void settle_adaptive(decision& d, double per_element, std::size_t remaining);

// Automatic mode never sends host data to the GPU when the map moves fewer
// bytes (in + out) than this, nor a transcendental op of fewer than
// serial_threshold(transcendental) elements: a GPU round trip costs ~20 us,
// more than the CPU needs for them. Such calls do not start CUDA.
inline constexpr std::size_t gpu_min_bytes_moved = std::size_t{64} << 10;
bool gpu_never_pays(const call_info& call) noexcept;

// Below this many elements a map of a cheap op runs serially.
std::size_t serial_threshold(cost_class c) noexcept;

}  // namespace parmap::detail
