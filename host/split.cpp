// A map split between the CPU and the GPU (see split.hpp).
#include "parmap/detail/split.hpp"

#include <algorithm>
#include <thread>

#include "parmap/detail/clock.hpp"

namespace parmap::detail {

split_threads threads_for_split(int threads) noexcept {
  threads = std::max(2, threads);
  // A quarter of the cores copy for the GPU (one at least): a PCIe link takes
  // several cores' worth of memcpy, and the CPU share keeps the others.
  const int copy = std::max(1, threads / 4);
  return {threads - copy, copy};
}

split_outcome run_split_job(staging_pool& pool, device_job gpu_part, const std::function<void()>& cpu_part) {
  split_outcome r;
  std::size_t written = 0;
  gpu_part.written = &written;
  const double t0 = now_seconds();
  std::thread gpu([&] {
    try {
      run_device_job(pool, gpu_part);
    } catch (...) {
      r.gpu_failure = std::current_exception();
    }
    r.gpu_seconds = now_seconds() - t0;
  });
  try {
    cpu_part();
  } catch (...) {
    gpu.join();
    throw;
  }
  r.cpu_seconds = now_seconds() - t0;
  gpu.join();
  r.gpu_written = written;
  return r;
}

}  // namespace parmap::detail
