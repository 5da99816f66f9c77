// One map split between the CPU and the GPU (host/split.cpp): the CPU takes
// the first elements on OpenMP threads while the GPU pipeline takes the rest
// from another thread, so that both finish together. Used by automatic mode
// for device ops on host data when the calibrated model says both paths
// together beat either alone (dispatch.hpp), and by the calibration to
// measure each side's rate while the other runs.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>

#include "pipeline.hpp"
#include "staging.hpp"

namespace parmap::detail {

// Threads of a split map with `threads` in all: the CPU share's OpenMP
// threads and the pipeline's copy threads (which feed the GPU). Together at
// most `threads`, each at least 1.
struct split_threads {
  int cpu = 1;
  int copy = 1;
};
split_threads threads_for_split(int threads) noexcept;

// How one split map went. The GPU side's failure is kept, not thrown: its
// results reached the caller's memory for its first gpu_written elements, and
// the caller finishes the rest on the CPU (or rethrows).
struct split_outcome {
  std::size_t gpu_written = 0;
  std::exception_ptr gpu_failure;
  double cpu_seconds = 0;  // the CPU share, from the split's start
  double gpu_seconds = 0;  // the GPU share, from the split's start
};

// Runs gpu_part (its copy_threads set by the caller) on the pool's backend in
// a thread of its own while cpu_part runs on the calling thread; returns when
// both are done. An exception from cpu_part is rethrown after the GPU side
// finished.
split_outcome run_split_job(staging_pool& pool, device_job gpu_part, const std::function<void()>& cpu_part);

}  // namespace parmap::detail
