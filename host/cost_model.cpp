// The cost model's pure functions (see cost_model.hpp).
#include "parmap/detail/cost_model.hpp"

#include <algorithm>
#include <limits>

#include "parmap/detail/pipeline.hpp"
#include "parmap/detail/split.hpp"

namespace parmap::detail {

estimate estimate_call(const calibration& c, const call_shape& s) noexcept {
  const auto [n, in_elem_bytes, out_elem_bytes, cost, threads, in_on_gpu, out_on_gpu] = s;
  const double elements = static_cast<double>(n);
  const double in_bytes = elements * static_cast<double>(in_elem_bytes);
  const double out_bytes = elements * static_cast<double>(out_elem_bytes);
  const bool heavy = cost == cost_class::transcendental;
  // The CPU figure scales down for fewer threads than it was measured with.
  const double share = std::min(1.0, static_cast<double>(std::max(1, threads)) / c.cpu_threads);
  estimate e;
  e.cpu = (in_bytes + out_bytes) / (c.cpu_bandwidth * share) +
          (heavy ? elements * c.cpu_transcendental / std::max(1, threads) : 0.0);
  const auto rate = [](double bytes, double per_second) {
    return per_second > 0 ? bytes / per_second : std::numeric_limits<double>::infinity();
  };
  const double transcendental = heavy ? elements * c.gpu_transcendental : 0.0;
  const std::size_t moved = n * (in_elem_bytes + out_elem_bytes);
  if (!in_on_gpu && !out_on_gpu && pipelined_by_size(moved) && c.pipeline_bandwidth > 0) {
    // The overlapped pipeline: copies and transform at its measured rate,
    // with the caller's memory registered when that is faster.
    const double pipeline = registration_pays(c, moved) ? c.pipeline_registered_bandwidth : c.pipeline_bandwidth;
    e.gpu = c.gpu_launch + rate(in_bytes + out_bytes, pipeline) + transcendental;
    return e;
  }
  e.gpu = c.gpu_launch + (in_on_gpu ? 0.0 : rate(in_bytes, c.h2d_bandwidth)) +
          (out_on_gpu ? 0.0 : rate(out_bytes, c.d2h_bandwidth)) +
          rate(in_bytes + out_bytes, c.gpu_bandwidth) + transcendental;
  return e;
}

int cpu_threads_for(const calibration& c, std::size_t bytes_moved, int threads) noexcept {
  constexpr int first = cpu_thread_first_bucket_log2;
  if (bytes_moved < (std::size_t{1} << first) || bytes_moved >= (std::size_t{1} << (first + cpu_thread_buckets))) {
    return threads;
  }
  int k = 0;
  while (bytes_moved >= (std::size_t{1} << (first + 1 + k))) ++k;
  const int best = c.cpu_threads_by_size[k];
  return best > 0 ? std::min(best, threads) : threads;
}

bool registration_pays(const calibration& c, std::size_t bytes_moved) noexcept {
  return pipelined_by_size(bytes_moved) && c.pipeline_registered_bandwidth > c.pipeline_bandwidth;
}

split_estimate estimate_split(const calibration& c, const call_shape& shape) noexcept {
  const auto [n, in_elem_bytes, out_elem_bytes, cost, threads, in_on_gpu, out_on_gpu] = shape;
  (void)in_on_gpu;  // a split maps host data
  (void)out_on_gpu;
  split_estimate s;
  s.seconds = std::numeric_limits<double>::infinity();
  if (c.split_cpu_bandwidth <= 0 || c.split_gpu_bandwidth <= 0 || n == 0) return s;
  const double bytes = static_cast<double>(in_elem_bytes + out_elem_bytes);
  const bool heavy = cost == cost_class::transcendental;
  const split_threads mine = threads_for_split(threads);
  const split_threads measured = threads_for_split(c.cpu_threads);
  const double cpu_share = std::min(1.0, static_cast<double>(mine.cpu) / measured.cpu);
  // Seconds per element on each side while the other runs.
  const double a_cpu = bytes / (c.split_cpu_bandwidth * cpu_share) + (heavy ? c.cpu_transcendental / mine.cpu : 0.0);
  const double a_gpu = bytes / c.split_gpu_bandwidth + (heavy ? c.gpu_transcendental : 0.0);
  // Both finish together: cpu x a_cpu = launch + (n - cpu) x a_gpu, where the
  // launch is the GPU's fixed cost with its thread started (measured, else
  // the plain fixed cost and 50 us for the thread).
  const double launch = c.split_launch > 0 ? c.split_launch : c.gpu_launch + 50e-6;
  const double elements = static_cast<double>(n);
  const double balanced = std::clamp((launch + elements * a_gpu) / (a_cpu + a_gpu), 0.0, elements);
  std::size_t cpu = static_cast<std::size_t>(balanced) / 64 * 64;
  if (cpu + 64 >= n) cpu = n;  // a GPU share under 64 elements is not worth its launch
  s.cpu_elements = cpu;
  const double cpu_time = static_cast<double>(cpu) * a_cpu;
  const double gpu_time = cpu < n ? launch + static_cast<double>(n - cpu) * a_gpu : 0.0;
  s.seconds = std::max(cpu_time, gpu_time);
  return s;
}

}  // namespace parmap::detail
