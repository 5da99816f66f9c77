// The automatic mode's cost model (host/cost_model.cpp): a machine's measured
// figures (calibration, measured by calibration.hpp and cached by
// calibration_cache.hpp) and pure functions of those figures and one call.
//
// CUB's rule for what is cached: a kept calibration describes the machine
// only, never the call that made it. Everything that depends on a call (its
// size, element types, cost class, threads, where its data lives) is an
// argument of the functions below and is never stored in a calibration, so a
// calibration made by one call decides every later one correctly.
#pragma once

#include <cstddef>
#include <string>

#include "op_code.hpp"

namespace parmap::detail {

// Sizes at which the calibration measures the CPU's best thread count for a
// memory-bound map, in bytes moved (read + written; square f32 moves 8 per
// element): bucket k holds [2^(18+k), 2^(19+k)) bytes, f32 n in
// [2^(15+k), 2^(16+k)); from 2^24 bytes up all threads are used (more cores,
// more memory bandwidth).
inline constexpr int cpu_thread_buckets = 6;
inline constexpr int cpu_thread_first_bucket_log2 = 18;

struct calibration {
  std::string key;                  // CPU model, cores and GPU description: the machine
  std::string source;               // "measured", "cache <path>" or "test"
  int cpu_threads = 1;              // threads the CPU figures were measured with
  double cpu_bandwidth = 0;         // bytes/s read + written by square (f32) on cpu_threads
  double cpu_transcendental = 0;    // s per element of exp (f64) on one thread
  // Threads that mapped square (f32) fastest at each bucket's size, at most
  // cpu_threads (0: not measured: all threads).
  int cpu_threads_by_size[cpu_thread_buckets] = {};
  double h2d_bandwidth = 0;         // bytes/s, host (pageable) to GPU, as a map copies
  double d2h_bandwidth = 0;         // bytes/s, GPU to host
  double gpu_bandwidth = 0;         // bytes/s read + written by square (f32) on GPU data
  double gpu_transcendental = 0;    // s per element of exp (f64) on the GPU
  double gpu_launch = 0;            // s: a one-element GPU map of host data (staging copies, launch, sync)
  double pipeline_bandwidth = 0;    // bytes/s (in + out) of square (f32) on host data through
                                    // the overlapped pipeline (maps of pipeline_min_bytes or more)
  double pipeline_registered_bandwidth = 0;  // the same with the caller's memory registered for the
                                    // job (register, DMA, unregister; 0: cannot register)
  // A split map (split.hpp) of square (f32) on host data, each side's rate
  // while the other runs (0: not measured, automatic mode never splits):
  double split_cpu_bandwidth = 0;   // bytes/s of the CPU share on threads_for_split(cpu_threads).cpu
  double split_gpu_bandwidth = 0;   // bytes/s of the GPU share, its copies on the .copy threads
  double split_launch = 0;          // s: a split of one element each (the GPU's thread started and
                                    // joined, its fixed cost)
};

// The threads automatic mode runs a memory-bound map moving bytes_moved (in +
// out) on when `threads` are available: the calibrated best for its bucket,
// else `threads`.
int cpu_threads_for(const calibration& c, std::size_t bytes_moved, int threads) noexcept;

// Whether registering the caller's memory beats staging it, for a host-data
// job moving bytes_moved (in + out): measured so, and large enough to run at
// the pipeline's rate.
bool registration_pays(const calibration& c, std::size_t bytes_moved) noexcept;

// One call as the model sees it.
struct call_shape {
  std::size_t n = 0;
  std::size_t in_elem_bytes = 0;   // bytes per input element
  std::size_t out_elem_bytes = 0;  // bytes per output element
  cost_class cost = cost_class::memory;
  int threads = 1;          // CPU threads the call may use
  bool in_on_gpu = false;   // the input is in GPU memory (no upload)
  bool out_on_gpu = false;  // the output is in GPU memory (no download)
};

// Estimated seconds of one call on each path.
struct estimate {
  double cpu = 0;
  double gpu = 0;
};
estimate estimate_call(const calibration& c, const call_shape& s) noexcept;

// A split of n elements: the CPU takes [0, cpu_elements), the GPU the rest,
// so that both are estimated to finish together at `seconds`, from the rates
// measured while both ran. cpu_elements is a multiple of 64 (or n); 0 or n
// when one side alone is faster. seconds is infinite without split figures.
struct split_estimate {
  std::size_t cpu_elements = 0;
  double seconds = 0;
};
split_estimate estimate_split(const calibration& c, const call_shape& s) noexcept;

}  // namespace parmap::detail
