// Measuring the machine for the cost model (see calibration.hpp): the CPU's
// bandwidth and libm cost; the GPU's copy and transform bandwidth,
// transcendental cost and fixed cost per call; a split's rates.
#include "parmap/detail/calibration.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>


#if defined(_OPENMP)
#include <omp.h>
#endif

#include "parmap/detail/catalogue.hpp"
#include "parmap/detail/clock.hpp"
#include "parmap/detail/cpu_catalogue.hpp"
#include "parmap/detail/pipeline.hpp"
#include "parmap/detail/split.hpp"
#include "parmap/detail/staging.hpp"
#include "parmap/ops.hpp"

namespace parmap::detail {

namespace {

// The precompiled loops that maps run (PARMAP_CPU_ISA's set), on `threads`.
void cpu_loops(const op_call& c, const void* in, void* out, std::size_t first, std::size_t last, int threads) {
  cpu_catalogue(active_cpu_kernels(), c, in, out, first, last, threads);
}

bool inside_parallel_region() noexcept {
#if defined(_OPENMP)
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

template <class Fn>
double best_of(int reps, Fn&& fn) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_seconds();
    fn();
    best = std::min(best, now_seconds() - t0);
  }
  return std::max(best, 1e-9);
}

// The CPU's best thread count for square at each bucket's size (the smallest
// of each), from 1, 2, 4, ... and all of cpu_threads: fewer threads are kept
// only when at least 5 % faster than all of them (starting threads costs, and
// small maps do not fill many cores' bandwidth).
void measure_cpu_threads(calibration& c, const op_call& square, const std::vector<float>& in,
                         std::vector<float>& out) {
  for (int k = 0; k < cpu_thread_buckets; ++k) {
    const std::size_t m = (std::size_t{1} << (cpu_thread_first_bucket_log2 + k)) / (2 * sizeof(float));
    const auto time_with = [&](int t) {
      return best_of(7, [&] { cpu_loops(square, in.data(), out.data(), 0, m, t); });
    };
    const double all = time_with(c.cpu_threads);
    int best_threads = c.cpu_threads;
    double best = all;
    for (int t = 1; t < c.cpu_threads; t *= 2) {
      const double s = time_with(t);
      if (s < best && s < 0.95 * all) {
        best = s;
        best_threads = t;
      }
    }
    c.cpu_threads_by_size[k] = best_threads;
  }
}

// Both at once: a split square with shares from the rates measured alone,
// each side's rate taken while the other runs (best of three by the later finisher).
void measure_split(calibration& c, staging_pool& pool, const std::vector<float>& in, std::vector<float>& out,
                   device_kernel kernel, const op_call& square, int device) {
  const std::size_t n = in.size();
  const split_threads st = threads_for_split(c.cpu_threads);
  const double cpu_rate = c.cpu_bandwidth * std::min(1.0, static_cast<double>(st.cpu) / c.cpu_threads);
  const bool registered = registration_pays(c, n * 2 * sizeof(float));  // as a split map would run
  const double gpu_rate = registered ? c.pipeline_registered_bandwidth : c.pipeline_bandwidth;
  const auto cpu_n = static_cast<std::size_t>(static_cast<double>(n) * cpu_rate / (cpu_rate + gpu_rate)) / 64 * 64;
  if (cpu_n == 0 || cpu_n >= n) return;  // one side is far faster: the split is never worth it
  // The fixed cost: one element each side.
  device_job one{in.data() + 1, out.data() + 1, 1, sizeof(float), sizeof(float), memory_kind::host,
                 memory_kind::host, kernel, &square};
  one.device = device;  // the GPU share runs on a thread of its own
  c.split_launch = best_of(5, [&] {
    const split_outcome o = run_split_job(pool, one, [&] { cpu_loops(square, in.data(), out.data(), 0, 1, 1); });
    if (o.gpu_failure) std::rethrow_exception(o.gpu_failure);
  });
  device_job gpu_part{in.data() + cpu_n, out.data() + cpu_n, n - cpu_n, sizeof(float), sizeof(float),
                      memory_kind::host, memory_kind::host, kernel, &square};
  gpu_part.copy_threads = st.copy;
  gpu_part.device = device;
  gpu_part.register_host = registered;
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < 3; ++r) {
    const split_outcome o = run_split_job(pool, gpu_part, [&] {
      cpu_loops(square, in.data(), out.data(), 0, cpu_n, st.cpu);
    });
    if (o.gpu_failure) std::rethrow_exception(o.gpu_failure);
    if (std::max(o.cpu_seconds, o.gpu_seconds) < best) {
      best = std::max(o.cpu_seconds, o.gpu_seconds);
      c.split_cpu_bandwidth = 2.0 * static_cast<double>(cpu_n * sizeof(float)) / std::max(o.cpu_seconds, 1e-9);
      c.split_gpu_bandwidth = 2.0 * static_cast<double>((n - cpu_n) * sizeof(float)) / std::max(o.gpu_seconds, 1e-9);
    }
  }
}

}  // namespace

std::string calibration_key(device_backend& b) {
  return cpu_model() + "; " + std::to_string(std::max(1U, std::thread::hardware_concurrency())) +
         " cores; " + b.probe().description;
}

calibration measure_calibration(device_backend& b, int threads, int device) {
  calibration c;
  c.key = calibration_key(b);
  c.source = "measured";
  c.cpu_threads = std::max(1, threads);

  // CPU: square over 64 MiB (past the caches of most CPUs), buffers touched first.
  constexpr std::size_t n = std::size_t{1} << 24;
  const std::vector<float> in(n, 1.5F);
  std::vector<float> out(n, 0.0F);
  const op_call square = make_op_call<float>(ops::square);
  const double bytes = 2.0 * static_cast<double>(n * sizeof(float));
  c.cpu_bandwidth =
      bytes / best_of(3, [&] { cpu_loops(square, in.data(), out.data(), 0, n, c.cpu_threads); });
  measure_cpu_threads(c, square, in, out);
  constexpr std::size_t m = std::size_t{1} << 18;
  const std::vector<double> xd(m, 0.5);
  std::vector<double> yd(m, 0.0);
  const op_call exp64 = make_op_call<double>(ops::exp);
  c.cpu_transcendental =
      best_of(3, [&] { cpu_loops(exp64, xd.data(), yd.data(), 0, m, 1); }) / static_cast<double>(m);
  if (!b.probe().available) return c;
  b.use_device(device);

  // GPU: copies and the catalogue's transforms on device data.
  const backend_block d_in(b, n * sizeof(float));
  const backend_block d_out(b, n * sizeof(float));
  const double copy_bytes = static_cast<double>(n * sizeof(float));
  c.h2d_bandwidth = copy_bytes / best_of(3, [&] { b.upload(d_in.get(), in.data(), n * sizeof(float)); });
  const device_kernel kernel = b.catalogue();
  c.gpu_bandwidth = bytes / best_of(3, [&] { b.launch(kernel, d_in.get(), d_out.get(), n, &square); });
  c.d2h_bandwidth =
      copy_bytes / best_of(3, [&] { b.download(out.data(), d_out.get(), n * sizeof(float)); });
  c.gpu_transcendental =
      best_of(3, [&] { b.launch(kernel, d_in.get(), d_out.get(), n / 2, &exp64); }) /
      static_cast<double>(n / 2);
  // The fixed cost of a host-resident map: allocations, copies, launch, syncs.
  const float one_in = 2.0F;
  float one_out = 0.0F;
  const device_job job{&one_in, &one_out, 1, sizeof(float), sizeof(float), memory_kind::host,
                       memory_kind::host, kernel, &square};
  staging_pool pool(b);  // its own slots, freed after: b need not be the backend in use
  c.gpu_launch = best_of(5, [&] { run_device_job(pool, job); });
  // Host data through the pipeline, as a large automatic map would run.
  const device_job host_map{in.data(), out.data(), n, sizeof(float), sizeof(float), memory_kind::host,
                            memory_kind::host, kernel, &square};
  c.pipeline_bandwidth = bytes / best_of(3, [&] { run_device_job(pool, host_map); });
  // The same with the caller's memory registered for each job, when it can be.
  if (b.register_host(in.data(), n * sizeof(float))) {
    b.unregister_host(in.data());
    device_job registered = host_map;
    registered.register_host = true;
    c.pipeline_registered_bandwidth = bytes / best_of(3, [&] { run_device_job(pool, registered); });
  }
  measure_split(c, pool, in, out, kernel, square, device);
  return c;
}

calibration load_or_measure_calibration(device_backend& b, int threads, int device) {
  if (auto cached = load_calibration(calibration_key(b))) return std::move(*cached);
  calibration c = measure_calibration(b, threads, device);
  if (inside_parallel_region()) {
    // Nested OpenMP regions run on one thread: the CPU figure is too low to keep.
    c.source = "measured inside a parallel region, not cached";
  } else {
    (void)save_calibration(c);
  }
  return c;
}

}  // namespace parmap::detail
