// The calibrated cost model: measures the machine once (CPU bandwidth and
// libm cost; the GPU's copy and transform bandwidth, transcendental cost and
// fixed cost per call), caches the figures per machine on disk, and estimates
// each path's time for one call.
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

#include <nlohmann/json.hpp>

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

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
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

// The fields of the cache file, in order.
struct field {
  const char* name;
  double calibration::*member;
};
constexpr field number_fields[] = {
    {"cpu_bandwidth", &calibration::cpu_bandwidth},
    {"cpu_transcendental", &calibration::cpu_transcendental},
    {"h2d_bandwidth", &calibration::h2d_bandwidth},
    {"d2h_bandwidth", &calibration::d2h_bandwidth},
    {"gpu_bandwidth", &calibration::gpu_bandwidth},
    {"gpu_transcendental", &calibration::gpu_transcendental},
    {"gpu_launch", &calibration::gpu_launch},
    {"pipeline_bandwidth", &calibration::pipeline_bandwidth},
    {"pipeline_registered_bandwidth", &calibration::pipeline_registered_bandwidth},
    {"split_cpu_bandwidth", &calibration::split_cpu_bandwidth},
    {"split_gpu_bandwidth", &calibration::split_gpu_bandwidth},
    {"split_launch", &calibration::split_launch},
};

// The CPU's best thread count for square at each bucket's size (the smallest
// of each), from 1, 2, 4, ... and all of cpu_threads: fewer threads are kept
// only when at least 5 % faster than all of them (starting threads costs, and
// small maps do not fill many cores' bandwidth).
void measure_cpu_threads(calibration& c, const op_call& square, const std::vector<float>& in,
                         std::vector<float>& out) {
  for (int k = 0; k < cpu_thread_buckets; ++k) {
    const std::size_t m = std::size_t{1} << (15 + k);
    const auto time_with = [&](int t) {
      return best_of(7, [&] { cpu_catalogue(square, in.data(), out.data(), 0, m, t); });
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
                   device_kernel kernel, const op_call& square) {
  const std::size_t n = in.size();
  const split_threads st = threads_for_split(c.cpu_threads);
  const double cpu_rate = c.cpu_bandwidth * std::min(1.0, static_cast<double>(st.cpu) / c.cpu_threads);
  const bool registered = registration_pays(c, n * 2 * sizeof(float));  // as a split map would run
  const double gpu_rate = registered ? c.pipeline_registered_bandwidth : c.pipeline_bandwidth;
  const auto cpu_n = static_cast<std::size_t>(static_cast<double>(n) * cpu_rate / (cpu_rate + gpu_rate)) / 64 * 64;
  if (cpu_n == 0 || cpu_n >= n) return;  // one side is far faster: the split is never worth it
  // The fixed cost: one element each side.
  const device_job one{in.data() + 1, out.data() + 1, 1, sizeof(float), sizeof(float), memory_kind::host,
                       memory_kind::host, kernel, &square};
  c.split_launch = best_of(5, [&] {
    const split_outcome o = run_split_job(pool, one, [&] { cpu_catalogue(square, in.data(), out.data(), 0, 1, 1); });
    if (o.gpu_failure) std::rethrow_exception(o.gpu_failure);
  });
  device_job gpu_part{in.data() + cpu_n, out.data() + cpu_n, n - cpu_n, sizeof(float), sizeof(float),
                      memory_kind::host, memory_kind::host, kernel, &square};
  gpu_part.copy_threads = st.copy;
  gpu_part.register_host = registered;
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < 3; ++r) {
    const split_outcome o = run_split_job(pool, gpu_part, [&] {
      cpu_catalogue(square, in.data(), out.data(), 0, cpu_n, st.cpu);
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

std::optional<calibration> load_calibration(const std::string& key) {
  const std::string path = calibration_path(key);
  if (path.empty()) return std::nullopt;
  std::ifstream f(path);
  if (!f) return std::nullopt;
  // Damaged, another machine's, or of another layout: nullopt, and it is measured again.
  const nlohmann::json j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  const auto text = [&](const char* name) -> std::optional<std::string> {
    const auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const auto number = [&](const char* name) -> std::optional<double> {
    const auto it = j.find(name);
    if (it == j.end() || !it->is_number()) return std::nullopt;
    const double x = it->get<double>();
    if (!std::isfinite(x) || x < 0) return std::nullopt;
    return x;
  };
  if (text("key") != key) return std::nullopt;
  calibration c;
  c.key = key;
  c.source = "cache " + path;
  const auto threads = j.find("cpu_threads");
  if (threads == j.end() || !threads->is_number_integer()) return std::nullopt;
  c.cpu_threads = threads->get<int>();
  for (const auto& fld : number_fields) {
    const auto v = number(fld.name);
    if (!v) return std::nullopt;
    c.*fld.member = *v;
  }
  const auto by_size = j.find("cpu_threads_by_size");
  if (by_size == j.end() || !by_size->is_array() || by_size->size() != cpu_thread_buckets) return std::nullopt;
  for (int k = 0; k < cpu_thread_buckets; ++k) {
    const auto& t = (*by_size)[static_cast<std::size_t>(k)];
    if (!t.is_number_integer() || t.get<int>() < 0) return std::nullopt;
    c.cpu_threads_by_size[k] = t.get<int>();
  }
  if (c.cpu_threads < 1 || c.cpu_bandwidth <= 0) return std::nullopt;
  return c;
}

estimate estimate_call(const calibration& c, std::size_t n, std::size_t in_elem_bytes,
                       std::size_t out_elem_bytes, cost_class cost, int threads, bool in_on_gpu,
                       bool out_on_gpu) noexcept {
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

int cpu_threads_for(const calibration& c, std::size_t n, int threads) noexcept {
  if (n < (std::size_t{1} << 15) || n >= (std::size_t{1} << (15 + cpu_thread_buckets))) return threads;
  int k = 0;
  while (n >= (std::size_t{1} << (16 + k))) ++k;
  const int best = c.cpu_threads_by_size[k];
  return best > 0 ? std::min(best, threads) : threads;
}

bool registration_pays(const calibration& c, std::size_t bytes_moved) noexcept {
  return pipelined_by_size(bytes_moved) && c.pipeline_registered_bandwidth > c.pipeline_bandwidth;
}

split_estimate estimate_split(const calibration& c, std::size_t n, std::size_t in_elem_bytes,
                              std::size_t out_elem_bytes, cost_class cost, int threads) noexcept {
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

std::string calibration_key(device_backend& b) {
  return cpu_model() + "; " + std::to_string(std::max(1U, std::thread::hardware_concurrency())) +
         " cores; " + b.probe().description;
}

std::string calibration_path(const std::string& key) {
  std::filesystem::path dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    dir = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    dir = std::filesystem::path(home) / ".cache";
  } else {
    return "";
  }
  char name[64];
  std::snprintf(name, sizeof name, "calibration-%016llx.json",
                static_cast<unsigned long long>(fnv1a(key)));
  return (dir / "parmap" / name).string();
}

calibration measure_calibration(device_backend& b, int threads) {
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
      bytes / best_of(3, [&] { cpu_catalogue(square, in.data(), out.data(), 0, n, c.cpu_threads); });
  measure_cpu_threads(c, square, in, out);
  constexpr std::size_t m = std::size_t{1} << 18;
  const std::vector<double> xd(m, 0.5);
  std::vector<double> yd(m, 0.0);
  const op_call exp64 = make_op_call<double>(ops::exp);
  c.cpu_transcendental =
      best_of(3, [&] { cpu_catalogue(exp64, xd.data(), yd.data(), 0, m, 1); }) / static_cast<double>(m);
  if (!b.probe().available) return c;

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
  measure_split(c, pool, in, out, kernel, square);
  return c;
}

bool save_calibration(const calibration& c) {
  const std::string path = calibration_path(c.key);
  if (path.empty()) return false;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return false;
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  nlohmann::ordered_json j;
  j["key"] = c.key;
  j["cpu_threads"] = c.cpu_threads;
  for (const auto& fld : number_fields) j[fld.name] = c.*fld.member;
  j["cpu_threads_by_size"] = c.cpu_threads_by_size;
  {
    std::ofstream f(tmp);
    if (!f) return false;
    f << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
    if (!f) return false;
  }
  std::filesystem::rename(tmp, path, ec);  // atomic: concurrent processes see old or new
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

calibration load_or_measure_calibration(device_backend& b, int threads) {
  if (auto cached = load_calibration(calibration_key(b))) return std::move(*cached);
  calibration c = measure_calibration(b, threads);
  if (inside_parallel_region()) {
    // Nested OpenMP regions run on one thread: the CPU figure is too low to keep.
    c.source = "measured inside a parallel region, not cached";
  } else {
    (void)save_calibration(c);
  }
  return c;
}

}  // namespace parmap::detail
