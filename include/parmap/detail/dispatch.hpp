// The dispatcher's non-template core (host/dispatch.cpp): map() describes the
// call, decide() picks the path, finish() fills the report and logs.
#pragma once

#include <cstddef>
#include <string>

#include "../options.hpp"
#include "device_backend.hpp"
#include "op_code.hpp"

namespace parmap::detail {

enum class callable_kind : unsigned char { plain, blocking, device };
enum class exec_path : unsigned char { serial, parallel, adaptive, blocking, gpu };

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
  std::string reason;  // empty unless explain
};

// Validates the arguments (std::invalid_argument naming the bad one).
void check_arguments(std::size_t in_n, std::size_t out_n, int n_jobs);
void check_no_partial_overlap(const void* in, std::size_t in_bytes, const void* out,
                              std::size_t out_bytes, bool same_element_size);

// Throws config_error for a bad PARMAP_* value and backend_unavailable when a
// forced GPU cannot run the call.
decision decide(const call_info& call, const options& opt);

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
void finish(const decision& d, const call_info& call, double seconds, const options& opt);

// Replaces the reason after an automatic GPU run failed and the CPU took over.
void fall_back_to_cpu(decision& d, const call_info& call, const char* what_failed);

// Automatic mode never sends host data to the GPU when the map moves fewer
// bytes (in + out) than this, nor a transcendental op of fewer than
// serial_threshold(transcendental) elements: a GPU round trip costs ~20 us,
// more than the CPU needs for them. Such calls do not start CUDA.
inline constexpr std::size_t gpu_min_bytes_moved = std::size_t{64} << 10;
bool gpu_never_pays(const call_info& call) noexcept;

// Below this many elements a map of a cheap op runs serially.
std::size_t serial_threshold(cost_class c) noexcept;

// Seconds on a steady clock.
double now_seconds() noexcept;

}  // namespace parmap::detail
