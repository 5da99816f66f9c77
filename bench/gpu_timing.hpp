// GPU ceilings and event-timed transforms for parmap-bench. Implemented with
// the CUDA runtime in gpu_timing.cpp (CUDA builds) or as "no GPU" in
// gpu_timing_none.cpp; the benchmark itself stays plain C++.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "parmap/detail/catalogue.hpp"

namespace parmap::bench {

struct gpu_machine {
  bool available = false;
  std::string name;          // "NVIDIA H100 80GB HBM3"
  double memory_gib = 0;
  std::string versions;      // "driver 13.0, runtime 13.0"
};
gpu_machine describe_gpu();

// Each returns the median seconds of `reps` timed runs after one warm-up,
// timed with CUDA events on one stream.
// cudaMemcpyAsync device-to-device of `bytes` (reads and writes `bytes`).
double time_d2d_copy(void* dst, const void* src, std::size_t bytes, int reps);
// Pinned host-to-device of `bytes` then device-to-host of `bytes`.
double time_pinned_roundtrip(std::size_t bytes, int reps);
// Pinned host-to-device and device-to-host of `bytes` each, at the same time
// on two streams: the duplex bound max(H2D, D2H) of a pipeline.
double time_pinned_duplex(std::size_t bytes, int reps);
// copy() (a CPU copy of the host data, on all cores) timed with the host's
// clock while pinned H2D and D2H copies of `bytes` each run back to back on
// two streams: what the cores' copy bandwidth is left while the DMA engines
// also use the host's memory. Median of reps.
double time_copy_during_duplex(std::size_t bytes, int reps, const std::function<void()>& copy);
// The catalogue's Thrust transform alone, on device pointers.
double time_catalogue_kernel(const detail::op_call& call, const void* d_in, void* d_out,
                             std::size_t n, int reps);
// Frees what the timers cached (pinned and device scratch buffers).
void release_gpu_scratch();

}  // namespace parmap::bench
