// parmap-bench: GPU against CPU, for element-wise maps, on this machine.
//
// For each op, element type and size n (powers of two) it times, with
// buffers allocated and first-touched once outside every timing:
//   cpu         parmap::map forced to the CPU (OpenMP)
//   auto        parmap::map in automatic mode on host data (and which path it chose)
//   gpu-device  parmap::map on device_array data (end to end), and the Thrust
//               transform alone timed with CUDA events
//   gpu-host    parmap::map forced to the GPU on host vectors (copies included);
//               gpu-host-staged / -registered: the same with the caller's memory
//               staged through pinned buffers / registered for DMA
//   split       automatic with PARMAP_SPLIT=on: the CPU and the GPU each take
//               the model's share of one map (16 MiB and more)
// The CPU ceilings below, cpu, cpu-lambda, the gpu-host forms, auto and split
// are timed interleaved on the same buffers (each round one sample of each),
// so that a ratio compares calls made under the same conditions. The
// ceilings of the same run, each moving the same bytes (n elements read + n
// written):
//   cpu-copy    a parallel copy: the faster of memcpy and a copy loop
//   cpu-hand    a hand-written loop over each thread's share
//   (both built for the CPU loops' instruction set, PARMAP_CPU_ISA: the
//   sweep's header names it), and for cpu-lambda cpu-hand-tu, the hand loop
//   compiled in this translation unit with its flags, as the lambda is
//   gpu-d2d     cudaMemcpyAsync D2D    pcie       pinned H2D then D2H
//   duplex      pinned H2D and D2H at once on two streams: max(H2D, D2H)
//   copy-under-dma  cpu-copy while pinned H2D and D2H run (64 MiB and more)
// Reports median and min of the repetitions, GB/s (bytes read + written over
// the median) and the ratio to the ceiling; a table on stdout, a crossover
// summary, and --json / --csv files.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <nlohmann/json.hpp>

#include "cpu_ceilings.hpp"
#include "git_commit.hpp"  // PARMAP_GIT_COMMIT, written at each build (cmake/git_commit.cmake)
#include "gpu_timing.hpp"
#include "interleave.hpp"
#include "parmap/detail/calibration.hpp"
#include "parmap/detail/context.hpp"
#include "parmap/detail/progress.hpp"
#include "parmap/parmap.hpp"

#ifndef PARMAP_GIT_COMMIT
#define PARMAP_GIT_COMMIT "unknown"
#endif

namespace {

using parmap::detail::now_seconds;

struct config {
  std::size_t min_size = std::size_t{1} << 4;
  std::size_t max_size = std::size_t{1} << 26;
  int reps = 5;
  double min_sample = 1e-3;  // s: a sample repeats the call until it lasts this long
  std::vector<std::string> ops{"square"};
  std::vector<std::string> types{"f32", "f64", "i32"};
  std::vector<std::string> paths{"cpu", "auto", "gpu-device", "gpu-host", "split"};
  std::string json, csv, commit = PARMAP_GIT_COMMIT;
  bool progress = false;
};

struct row {
  std::string op, type, path;
  std::size_t n = 0;
  double bytes = 0;
  double median = 0, min = 0;
  std::string ceiling;        // name of the ceiling the ratio is against
  double ratio = NAN;         // ceiling time / this time (<= 1 means slower than the ceiling)
  double kernel = NAN;        // gpu-device: transform alone (CUDA events)
  double kernel_ratio = NAN;  // gpu-d2d / kernel
  std::string chosen;         // auto: backend it used
};

using stats = parmap::bench::timing;

// Times f: each sample repeats f until it lasts cfg.min_sample; median and min per call.
stats time_it(const config& cfg, const std::function<void()>& f) {
  const int inner = parmap::bench::calls_per_sample(cfg.min_sample, f);
  std::vector<double> t;
  for (int r = 0; r < cfg.reps; ++r) t.push_back(parmap::bench::sample(inner, f));
  return parmap::bench::summarise(std::move(t));
}

// One way of doing a call: the PARMAP_* settings it runs under (set before
// each of its samples; the others unset) and the call.
struct variant {
  std::string name;
  std::vector<std::pair<const char*, const char*>> env;
  std::function<void()> call;
};

// The PARMAP_* variables the variants steer; each sample sets them as its
// variant says, and reloads them only when that changes anything.
void apply_env(const variant& v) {
  static std::string applied = "unset";
  std::string key;
  for (const auto& [name, value] : v.env) key += std::string(name) + "=" + value + ";";
  if (key == applied) return;
  for (const char* name : {"PARMAP_SPLIT", "PARMAP_HOST_REGISTER"}) ::unsetenv(name);
  for (const auto& [name, value] : v.env) ::setenv(name, value, 1);
  parmap::reload_environment();
  applied = key;
}

// Times several ways of doing the same call, interleaved (interleave.hpp),
// each sample under its variant's PARMAP_* settings.
std::vector<stats> time_interleaved(const config& cfg, const std::vector<variant>& vs) {
  std::vector<std::function<void()>> calls;
  for (const auto& v : vs) calls.push_back(v.call);
  auto out = parmap::bench::time_interleaved(cfg.reps, cfg.min_sample, calls,
                                             [&](std::size_t i) { apply_env(vs[i]); });
  apply_env(variant{});
  return out;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

int omp_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Calls body(op) with the built-in op named `name`, for element type T.
template <class T, class Body>
bool with_op(const std::string& name, Body&& body) {
  namespace ops = parmap::ops;
  if (name == "square") return body(ops::square), true;
  if (name == "affine") return body(ops::affine(T(3), T(1))), true;
  if constexpr (std::is_floating_point_v<T>) {
    if (name == "exp") return body(ops::exp), true;
    if (name == "sqrt") return body(ops::sqrt), true;
  }
  return false;
}

class sweep {
 public:
  sweep(const config& cfg, const parmap::bench::gpu_machine& gpu) : cfg_(cfg), gpu_(gpu) {}
  // The instruction set and width of parmap's CPU loops, and so of the ceilings' loops.
  const parmap::detail::cpu_kernels& loops_ = parmap::detail::active_cpu_kernels();

  template <class T>
  void run_type(const std::string& type, parmap::detail::progress_bar& bar) {
    const std::size_t max = cfg_.max_size;
    // Allocated and first-touched once, in parallel, outside every timing.
    std::vector<T> x(max), y(max);
    parmap::map([](T) { return T(0); }, x, y, {.where = parmap::backend::cpu});
    for (std::size_t i = 0; i < max; ++i) x[i] = static_cast<T>(1 + (i % 1000) * 0.001);
    std::optional<parmap::device_array<T>> dx, dy;
    const bool gpu = gpu_.available && (has(cfg_.paths, "gpu-device") || has(cfg_.paths, "gpu-host") ||
                                        has(cfg_.paths, "auto"));
    if (gpu) {
      dx.emplace(x);
      dy.emplace(max);
    }
    for (const auto& op_name : cfg_.ops) {
      with_op<T>(op_name, [&](auto op) {
        for (std::size_t n = cfg_.min_size; n <= max; n *= 2) {
          run_case<T>(op, op_name, type, n, x, y, dx ? &*dx : nullptr, dy ? &*dy : nullptr);
          bar.add();
        }
      });
    }
  }

  [[nodiscard]] const std::vector<row>& rows() const { return rows_; }

 private:
  template <class T, class Op>
  void run_case(const Op& op, const std::string& op_name, const std::string& type, std::size_t n,
                std::vector<T>& x, std::vector<T>& y, parmap::device_array<T>* dx,
                parmap::device_array<T>* dy) {
    const double bytes = 2.0 * static_cast<double>(n) * sizeof(T);
    const std::span<const T> in(x.data(), n);
    const std::span<T> out(y.data(), n);
    auto add = [&](const std::string& path, stats s) -> row& {
      row r;
      r.op = op_name;
      r.type = type;
      r.path = path;
      r.n = n;
      r.bytes = bytes;
      r.median = s.median;
      r.min = s.min;
      rows_.push_back(r);
      return rows_.back();
    };

    // CPU ceilings.
    const T* px = x.data();
    T* py = y.data();
    // The ceilings and the map on host data, forced to each path and
    // automatic: timed together, interleaved, on the same buffers, so that
    // each ratio compares calls made under the same conditions of the machine.
    //   the all-core copy: each thread copies its static share, by memcpy and
    //   by a copy loop of the loops' instruction set; the faster is the ceiling
    //   the hand-written loop, built for the same instruction set as parmap's
    const std::size_t nbytes = n * sizeof(T);
    const auto parallel_memcpy = [&] { parmap::bench::parallel_memcpy(px, py, nbytes); };
    const auto call = parmap::detail::make_op_call<T>(op);
    std::vector<variant> maps = {
        {"cpu-memcpy", {}, parallel_memcpy},
        {"cpu-copy-loop", {}, [&] { parmap::bench::parallel_copy_loop(loops_, px, py, nbytes); }},
        {"cpu-hand", {}, [&] { parmap::bench::hand_loop(loops_, call, px, py, n); }},
    };
    const auto forced = [&](parmap::backend b) {
      return [&, b] { parmap::map(op, in, out, {.where = b}); };
    };
    if (has(cfg_.paths, "cpu")) maps.push_back({"cpu", {}, forced(parmap::backend::cpu)});
    // The same op as a user's lambda: the chunk body compiled here, in the
    // caller's translation unit, against the hand loop compiled here too, with
    // the caller's flags (cpu-hand-tu).
    const auto lambda = [op](T v) noexcept { return op(v); };
    if (has(cfg_.paths, "cpu-lambda")) {
      maps.push_back({"cpu-hand-tu", {}, [&] {
                        PARMAP_OMP(parallel for simd schedule(static))
                        for (std::size_t i = 0; i < n; ++i) py[i] = op(px[i]);
                      }});
      maps.push_back({"cpu-lambda", {}, [&] { parmap::map(lambda, in, out, {.where = parmap::backend::cpu}); }});
    }
    if (dx != nullptr && has(cfg_.paths, "gpu-host")) {
      maps.push_back({"gpu-host", {}, forced(parmap::backend::gpu)});
      // The caller's memory staged through the pinned buffers, and registered for DMA.
      maps.push_back({"gpu-host-staged", {{"PARMAP_HOST_REGISTER", "off"}}, forced(parmap::backend::gpu)});
      maps.push_back({"gpu-host-registered", {{"PARMAP_HOST_REGISTER", "on"}}, forced(parmap::backend::gpu)});
    }
    if (has(cfg_.paths, "auto")) maps.push_back({"auto", {}, [&] { parmap::map(op, in, out); }});
    if (dx != nullptr && has(cfg_.paths, "split") && bytes >= 16.0 * (1 << 20)) {
      maps.push_back({"split", {{"PARMAP_SPLIT", "on"}}, [&] { parmap::map(op, in, out); }});
    }
    std::map<std::string, stats> host;
    const auto timed = time_interleaved(cfg_, maps);
    for (std::size_t i = 0; i < maps.size(); ++i) host.emplace(maps[i].name, timed[i]);
    const auto host_time = [&](const std::string& name) -> std::optional<stats> {
      const auto it = host.find(name);
      return it == host.end() ? std::nullopt : std::optional<stats>(it->second);
    };
    const stats copy = std::min(host.at("cpu-memcpy"), host.at("cpu-copy-loop"),
                                [](const stats& a, const stats& b) { return a.median < b.median; });
    add("cpu-copy", copy);
    const stats hand = host.at("cpu-hand");
    add("cpu-hand", hand).ratio = copy.median / hand.median;
    stats hand_here{};
    if (const std::optional<stats> h = host_time("cpu-hand-tu")) {
      hand_here = *h;
      add("cpu-hand-tu", hand_here).ratio = copy.median / hand_here.median;
    }
    const std::optional<stats> cpu = host_time("cpu");
    const std::optional<stats> gpu_host = host_time("gpu-host");
    if (cpu) {
      parmap::map(op, in, out, {.where = parmap::backend::cpu});
      verify(op, in, out);
      auto& r = add("cpu", *cpu);
      r.ceiling = "cpu-copy";
      r.ratio = copy.median / cpu->median;
    }
    if (const std::optional<stats> s = host_time("cpu-lambda")) {
      parmap::map(lambda, in, out, {.where = parmap::backend::cpu});
      verify(op, in, out);
      auto& r = add("cpu-lambda", *s);
      r.ceiling = "cpu-hand-tu";
      r.ratio = hand_here.median / s->median;
    }

    if (dx != nullptr) {
      const std::span<const T> din(dx->data(), n);
      const std::span<T> dout(dy->data(), n);
      const stats d2d = {parmap::bench::time_d2d_copy(dout.data(), din.data(), n * sizeof(T), cfg_.reps), 0};
      add("gpu-d2d", {d2d.median, d2d.median});
      const double pcie = parmap::bench::time_pinned_roundtrip(n * sizeof(T), cfg_.reps);
      add("pcie", {pcie, pcie});
      const double duplex = parmap::bench::time_pinned_duplex(n * sizeof(T), cfg_.reps);
      add("duplex", {duplex, duplex});
      if (has(cfg_.paths, "gpu-device")) {
        const stats s = time_it(cfg_, [&] { parmap::map(op, din, dout, {.where = parmap::backend::gpu}); });
        auto& r = add("gpu-device", s);
        r.ceiling = "gpu-d2d";
        r.ratio = d2d.median / s.median;
        r.kernel = parmap::bench::time_catalogue_kernel(parmap::detail::make_op_call<T>(op), din.data(),
                                                        dout.data(), n, cfg_.reps);
        r.kernel_ratio = d2d.median / r.kernel;
        std::vector<T> back(n);  // checked against the host reference through a copy down
        parmap::map(parmap::ops::scale(T(1)), std::span<const T>(dout), std::span<T>(back));
        verify(op, in, std::span<T>(back));
      }
      if (gpu_host) {
        parmap::map(op, in, out, {.where = parmap::backend::gpu});
        verify(op, in, out);
        auto& r = add("gpu-host", *gpu_host);
        r.ceiling = "pcie";
        r.ratio = pcie / gpu_host->median;
      }
      // The pipeline against the duplex bound, staged and registered.
      for (const auto& v : maps) {
        if (v.name != "gpu-host-staged" && v.name != "gpu-host-registered") continue;
        run_as(v);
        verify(op, in, out);
        auto& r = add(v.name, host.at(v.name));
        r.ceiling = "duplex";
        r.ratio = duplex / r.median;
      }
      // The cores' copy bandwidth while the DMA engines run: the host memory
      // a split map shares (large sizes only; each sample queues 4 duplex rounds).
      if (bytes >= 64.0 * (1 << 20)) {
        const double under = parmap::bench::time_copy_during_duplex(n * sizeof(T), cfg_.reps, parallel_memcpy);
        if (under > 0) {
          auto& r = add("copy-under-dma", {under, under});
          r.ceiling = "cpu-copy";
          r.ratio = copy.median / under;
        }
      }
    }
    if (const auto automatic = host_time("auto")) {
      parmap::report rep;  // asked for once, outside the timing: building its text costs
      parmap::map(op, in, out, {.out_report = &rep});
      verify(op, in, out);
      const stats s = *automatic;
      auto& r = add("auto", s);
      r.chosen = parmap::to_string(rep.used);
      double best = cpu ? cpu->median : INFINITY;
      if (gpu_host) best = std::min(best, gpu_host->median);
      if (std::isfinite(best)) {
        r.ceiling = "best of cpu, gpu-host";
        r.ratio = best / s.median;
      }
    }
    if (const auto split = host_time("split")) {
      parmap::report rep;
      for (const auto& v : maps) {
        if (v.name != "split") continue;
        apply_env(v);
        parmap::map(op, in, out, {.out_report = &rep});
        apply_env(variant{});
      }
      verify(op, in, out);
      auto& r = add("split", *split);
      r.chosen = rep.reason.substr(0, rep.reason.find(';'));  // "split: cpu x %, gpu y %"
      const double best = std::min(cpu ? cpu->median : INFINITY, gpu_host ? gpu_host->median : INFINITY);
      if (std::isfinite(best)) {
        r.ceiling = "best of cpu, gpu-host";
        r.ratio = best / split->median;
      }
    }
  }

  static void run_as(const variant& v) {
    apply_env(v);
    v.call();
    apply_env(variant{});
  }

  template <class Op, class T>
  static void verify(const Op& op, std::span<const T> in, std::span<T> out) {
    for (std::size_t i = 0; i < in.size(); i += 1 + in.size() / 64) {
      const T want = op(in[i]);
      if (!(out[i] == want) && !(std::abs(static_cast<double>(out[i]) - static_cast<double>(want)) <=
                                 1e-5 * std::abs(static_cast<double>(want)))) {
        throw std::runtime_error("parmap-bench: wrong result at element " + std::to_string(i));
      }
    }
  }

  const config& cfg_;
  const parmap::bench::gpu_machine& gpu_;
  std::vector<row> rows_;
};

std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

struct machine_info {
  std::string cpu, cpu_isa, cpu_loops, gpu, gpu_versions, commit, date;
  int cores = 0, threads = 0, cpu_vector_bits = 0;
  double gpu_gib = 0;
};

void write_json(const std::string& path, const machine_info& m, const config& cfg,
                const std::vector<row>& rows, const std::vector<std::string>& summary) {
  using json = nlohmann::ordered_json;
  const auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  const auto text = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  json j;
  j["schema"] = "parmap-bench/1";
  j["machine"] = {{"cpu", m.cpu},           {"cpu_isa", m.cpu_isa},  {"cpu_vector_bits", m.cpu_vector_bits},
                  {"cores", m.cores},
                  {"omp_threads", m.threads}, {"gpu", m.gpu},
                  {"gpu_memory_gib", number(m.gpu_gib)}, {"gpu_versions", m.gpu_versions},
                  {"commit", m.commit},     {"date", m.date}};
  j["config"] = {{"min_size", cfg.min_size}, {"max_size", cfg.max_size}, {"reps", cfg.reps}};
  j["summary"] = summary;
  json results = json::array();
  for (const row& r : rows) {
    results.push_back({{"op", r.op},
                       {"type", r.type},
                       {"n", r.n},
                       {"path", r.path},
                       {"bytes", static_cast<unsigned long long>(r.bytes)},
                       {"median_s", number(r.median)},
                       {"min_s", number(r.min)},
                       {"gbps", number(r.bytes / r.median / 1e9)},
                       {"ceiling", text(r.ceiling)},
                       {"ratio", number(r.ratio)},
                       {"kernel_s", number(r.kernel)},
                       {"kernel_ratio", number(r.kernel_ratio)},
                       {"chosen", text(r.chosen)}});
  }
  j["results"] = std::move(results);
  std::ofstream f(path);
  f << j.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
  if (!f) throw std::runtime_error("parmap-bench: cannot write " + path);
}

void write_csv(const std::string& path, const std::vector<row>& rows) {
  std::ofstream f(path);
  f << "op,type,n,path,bytes,median_s,min_s,gbps,ceiling,ratio,kernel_s,kernel_ratio,chosen\n";
  for (const row& r : rows) {
    f << r.op << ',' << r.type << ',' << r.n << ',' << r.path << ',' << static_cast<unsigned long long>(r.bytes) << ','
      << num(r.median) << ',' << num(r.min) << ',' << num(r.bytes / r.median / 1e9) << ',' << r.ceiling
      << ',' << num(r.ratio) << ',' << num(r.kernel) << ',' << num(r.kernel_ratio) << ',' << r.chosen
      << '\n';
  }
  if (!f) throw std::runtime_error("parmap-bench: cannot write " + path);
}

std::string time_text(double s) {
  char buf[32];
  if (s < 1e-3) {
    std::snprintf(buf, sizeof buf, "%8.2f us", s * 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%8.3f ms", s * 1e3);
  }
  return buf;
}

std::string ratio_text(double r) {
  if (!std::isfinite(r)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", r);
  return buf;
}

void print_table(const std::vector<row>& rows) {
  std::printf("%-7s %-4s %11s  %-10s %11s %11s %9s  %-8s %s\n", "op", "type", "n", "path", "median",
              "min", "GB/s", "ratio", "vs");
  for (const row& r : rows) {
    std::string vs = r.ceiling;
    if (!r.chosen.empty()) vs += " (chose " + r.chosen + ")";
    if (std::isfinite(r.kernel)) {
      char k[96];
      std::snprintf(k, sizeof k, "; transform alone %s = %.2f x d2d", time_text(r.kernel).c_str(), r.kernel_ratio);
      vs += k;
    }
    std::printf("%-7s %-4s %11zu  %-10s %s %s %9.1f  %-8s %s\n", r.op.c_str(), r.type.c_str(), r.n,
                r.path.c_str(), time_text(r.median).c_str(), time_text(r.min).c_str(),
                r.bytes / r.median / 1e9, ratio_text(r.ratio).c_str(), vs.c_str());
  }
}

// "gpu-device beats cpu from n = ..." per op and type.
std::vector<std::string> crossover(const config& cfg, const std::vector<row>& rows) {
  std::vector<std::string> out;
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::map<std::size_t, double>>> t;
  for (const row& r : rows) t[{r.op, r.type}][r.path][r.n] = r.median;
  for (auto& [key, paths] : t) {
    for (const char* g : {"gpu-device", "gpu-host"}) {
      if (!paths.count(g) || !paths.count("cpu")) continue;
      std::optional<std::size_t> from;
      for (auto it = paths[g].rbegin(); it != paths[g].rend(); ++it) {
        if (it->second < paths["cpu"][it->first]) {
          from = it->first;
        } else {
          break;
        }
      }
      char line[200];
      if (from) {
        std::snprintf(line, sizeof line, "%s %s: %s beats cpu from n = %zu (2^%d) up to %zu", key.first.c_str(),
                      key.second.c_str(), g, *from, static_cast<int>(std::log2(static_cast<double>(*from))),
                      cfg.max_size);
      } else {
        std::snprintf(line, sizeof line, "%s %s: %s never beats cpu at the largest n = %zu", key.first.c_str(),
                      key.second.c_str(), g, cfg.max_size);
      }
      out.emplace_back(line);
    }
    // Host data at the largest n: the pipeline against the duplex bound
    // (target >= 0.85) and the split against the faster forced path (>= 1.3).
    const auto at_max = [&](const char* path) -> const row* {
      const row* found = nullptr;
      for (const row& r : rows) {
        if (r.op == key.first && r.type == key.second && r.path == path && (found == nullptr || r.n > found->n)) {
          found = &r;
        }
      }
      return found;
    };
    for (const char* p : {"gpu-host", "gpu-host-staged", "gpu-host-registered"}) {
      const row* r = at_max(p);
      const row* d = at_max("duplex");
      if (r == nullptr || d == nullptr || d->n != r->n) continue;
      char line[200];
      std::snprintf(line, sizeof line, "%s %s: %s at n = %zu: %.3f ms, %.2f x the duplex bound (%.3f ms; target >= 0.85)",
                    key.first.c_str(), key.second.c_str(), p, r->n, r->median * 1e3, d->median / r->median,
                    d->median * 1e3);
      out.emplace_back(line);
    }
    if (const row* s = at_max("split")) {
      char line[240];
      std::snprintf(line, sizeof line, "%s %s: split at n = %zu (%s): %.3f ms, %.2f x faster than the faster forced path "
                    "(target >= 1.3)", key.first.c_str(), key.second.c_str(), s->n, s->chosen.c_str(),
                    s->median * 1e3, s->ratio);
      out.emplace_back(line);
      const row* alone = at_max("cpu-copy");
      const row* under = at_max("copy-under-dma");
      if (alone != nullptr && under != nullptr && under->n == s->n && alone->n == s->n) {
        std::snprintf(line, sizeof line, "%s %s: host memory at n = %zu: all-core copy %.1f GB/s alone, %.1f GB/s while "
                      "H2D and D2H run", key.first.c_str(), key.second.c_str(), s->n, alone->bytes / alone->median / 1e9,
                      under->bytes / under->median / 1e9);
        out.emplace_back(line);
      }
    }
    if (paths.count("auto")) {
      double worst = 0;
      std::size_t at = 0;
      for (const row& r : rows) {
        if (r.op == key.first && r.type == key.second && r.path == "auto" && std::isfinite(r.ratio) &&
            1.0 / r.ratio > worst) {
          worst = 1.0 / r.ratio;
          at = r.n;
        }
      }
      char line[200];
      std::snprintf(line, sizeof line, "%s %s: automatic is at worst %.2f x the faster path (at n = %zu)",
                    key.first.c_str(), key.second.c_str(), worst, at);
      out.emplace_back(line);
    }
  }
  // Over everything: automatic's worst ratio to the faster forced path
  // (target: at most 1.10), from the interleaved timings.
  const row* worst = nullptr;
  for (const row& r : rows) {
    if (r.path == "auto" && std::isfinite(r.ratio) && (worst == nullptr || r.ratio < worst->ratio)) worst = &r;
  }
  if (worst != nullptr) {
    char line[240];
    std::snprintf(line, sizeof line,
                  "automatic, every op, type and n from %zu to %zu: at worst %.2f x the faster forced path "
                  "(%s %s, n = %zu, chose %s; target <= 1.10)",
                  cfg.min_size, cfg.max_size, 1.0 / worst->ratio, worst->op.c_str(), worst->type.c_str(),
                  worst->n, worst->chosen.c_str());
    out.emplace_back(line);
  }
  return out;
}

std::size_t parse_size(const std::string& s) {
  // "2^26", "1<<20" or a plain number.
  const auto caret = s.find('^');
  if (caret != std::string::npos) return std::size_t{1} << std::stoul(s.substr(caret + 1));
  const auto shift = s.find("<<");
  if (shift != std::string::npos) return std::stoul(s.substr(0, shift)) << std::stoul(s.substr(shift + 2));
  return std::stoull(s);
}

// --calibrate: measures the figures of automatic mode's cost model, caches and prints them.
int run_calibration() {
  auto& b = parmap::detail::current_device_backend();
  const auto c = parmap::detail::measure_calibration(b, omp_threads());
  std::printf("machine: %s\n", c.key.c_str());
  std::printf("CPU (%d threads): square %.2f GB/s, exp %.2f ns per element per thread\n", c.cpu_threads,
              c.cpu_bandwidth / 1e9, c.cpu_transcendental * 1e9);
  std::printf("CPU threads for square by size (f32 elements; 8 bytes moved each):");
  for (int k = 0; k < parmap::detail::cpu_thread_buckets; ++k) {
    std::printf(" 2^%d: %d%s", parmap::detail::cpu_thread_first_bucket_log2 - 3 + k, c.cpu_threads_by_size[k],
                k + 1 < parmap::detail::cpu_thread_buckets ? "," : "\n");
  }
  if (!parmap::gpu_available()) {
    std::printf("no GPU (%s): automatic mode always uses the CPU and needs no calibration; nothing cached\n",
                parmap::gpu_description().c_str());
    return 0;
  }
  std::printf("GPU: host-to-device %.2f GB/s, device-to-host %.2f GB/s, square %.1f GB/s, "
              "exp %.4f ns per element, one-element map %.1f us, host data through the pipeline %.2f GB/s\n",
              c.h2d_bandwidth / 1e9, c.d2h_bandwidth / 1e9, c.gpu_bandwidth / 1e9, c.gpu_transcendental * 1e9,
              c.gpu_launch * 1e6, c.pipeline_bandwidth / 1e9);
  std::printf("registered host memory: pipeline %.2f GB/s (%s)\n", c.pipeline_registered_bandwidth / 1e9,
              c.pipeline_registered_bandwidth <= 0 ? "cannot register"
              : parmap::detail::registration_pays(c, std::size_t{64} << 20) ? "faster than staging: used from 8 MiB"
                                                                           : "not faster than staging: not used");
  std::printf("split (each side while the other runs): CPU %.2f GB/s, GPU %.2f GB/s%s\n", c.split_cpu_bandwidth / 1e9,
              c.split_gpu_bandwidth / 1e9, c.split_cpu_bandwidth > 0 ? "" : " (not measured: one side far faster)");
  if (!parmap::detail::save_calibration(c)) {
    std::fprintf(stderr, "parmap-bench: could not write %s\n", parmap::detail::calibration_path(c.key).c_str());
    return 1;
  }
  std::printf("cached in %s\n", parmap::detail::calibration_path(c.key).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  CLI::App app{"parmap-bench: parmap's element-wise map on GPU and CPU against this machine's ceilings"};
  std::string min_s = "2^4", max_s = "2^26";
  app.add_option("--min-size", min_s, "smallest n (power of two; 2^k, 1<<k or a number)")->capture_default_str();
  app.add_option("--max-size", max_s, "largest n (up to 2^28 on a GPU machine)")->capture_default_str();
  app.add_option("--reps", cfg.reps, "repetitions per case (median and min reported)")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--ops", cfg.ops, "ops: square, affine, exp, sqrt")
      ->delimiter(',')->check(CLI::IsMember({"square", "affine", "exp", "sqrt"}))->capture_default_str();
  app.add_option("--types", cfg.types, "element types: f32, f64, i32, i64")
      ->delimiter(',')->check(CLI::IsMember({"f32", "f64", "i32", "i64"}))->capture_default_str();
  app.add_option("--paths", cfg.paths,
                 "paths: cpu, cpu-lambda (the op as a user's lambda, against the hand-written loop), auto, "
                 "gpu-device, gpu-host (with its -staged and -registered forms), split "
                 "(automatic at the model's CPU/GPU shares; 16 MiB and more)")
      ->delimiter(',')
      ->check(CLI::IsMember({"cpu", "cpu-lambda", "auto", "gpu-device", "gpu-host", "split"}))
      ->capture_default_str();
  app.add_option("--json", cfg.json, "write the results as JSON to this file");
  app.add_option("--csv", cfg.csv, "write the results as CSV to this file");
  app.add_option("--commit", cfg.commit, "commit to record in the output")->capture_default_str();
  app.add_flag("--progress", cfg.progress, "draw the progress bar even when stderr is not a terminal");
  bool calibrate = false;
  app.add_flag("--calibrate", calibrate,
               "measure this machine for automatic mode's cost model, cache it, print it and exit");
  CLI11_PARSE(app, argc, argv);
  if (calibrate) return run_calibration();

  try {
    cfg.min_size = parse_size(min_s);
    cfg.max_size = parse_size(max_s);
  } catch (const std::exception&) {
    std::fprintf(stderr, "parmap-bench: bad size: %s / %s\n", min_s.c_str(), max_s.c_str());
    return 2;
  }
  if (cfg.min_size == 0 || cfg.min_size > cfg.max_size || cfg.max_size > (std::size_t{1} << 30)) {
    std::fprintf(stderr, "parmap-bench: need 1 <= min-size <= max-size <= 2^30\n");
    return 2;
  }

  const auto gpu = parmap::bench::describe_gpu();
  machine_info m;
  m.cpu = cpu_model();
  try {
    const parmap::detail::cpu_kernels& loops = parmap::detail::active_cpu_kernels();
    m.cpu_isa = parmap::detail::to_string(loops.isa);
    m.cpu_vector_bits = static_cast<int>(loops.vector_bits);
    m.cpu_loops = loops.name;
  } catch (const parmap::config_error& e) {
    std::fprintf(stderr, "parmap-bench: %s\n", e.what());
    return 2;
  }
  m.cores = static_cast<int>(std::thread::hardware_concurrency());
  m.threads = omp_threads();
  m.gpu = gpu.available ? gpu.name : "none (" + parmap::gpu_description() + ")";
  m.gpu_gib = gpu.available ? gpu.memory_gib : NAN;
  m.gpu_versions = gpu.versions;
  m.commit = cfg.commit;
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  m.date = date;
  std::printf("parmap-bench  %s\nCPU: %s, %d cores, %d OpenMP threads, %s loops\nGPU: %s%s%s\ncommit %s\n\n",
              m.date.c_str(), m.cpu.c_str(), m.cores, m.threads, m.cpu_loops.c_str(), m.gpu.c_str(), gpu.available ? ", " : "", m.gpu_versions.c_str(),
              m.commit.c_str());

  if (gpu.available) {  // automatic mode's calibration, loaded or measured now, not inside a timing
    const auto& cal = parmap::detail::current_calibration(m.threads);
    std::printf("automatic mode's cost model: %s\n\n", cal.source.c_str());
  }

  std::size_t sizes = 0;
  for (std::size_t n = cfg.min_size; n <= cfg.max_size; n *= 2) ++sizes;
  std::size_t cases = 0;
  for (const auto& t : cfg.types) {
    for (const auto& o : cfg.ops) {
      if (t[0] == 'f' || o == "square" || o == "affine") cases += sizes;
    }
  }
  sweep s(cfg, gpu);
  try {
    parmap::detail::progress_bar bar(cases, "parmap-bench", cfg.progress);
    for (const auto& t : cfg.types) {
      if (t == "f32") s.run_type<float>(t, bar);
      if (t == "f64") s.run_type<double>(t, bar);
      if (t == "i32") s.run_type<std::int32_t>(t, bar);
      if (t == "i64") s.run_type<std::int64_t>(t, bar);
    }
    bar.finish();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "parmap-bench: out of memory at max-size %zu; lower --max-size\n", cfg.max_size);
    return 3;
  }
  parmap::bench::release_gpu_scratch();

  print_table(s.rows());
  const auto summary = crossover(cfg, s.rows());
  std::printf("\n");
  for (const auto& line : summary) std::printf("%s\n", line.c_str());
  if (!cfg.json.empty()) write_json(cfg.json, m, cfg, s.rows(), summary);
  if (!cfg.csv.empty()) write_csv(cfg.csv, s.rows());
  return 0;
}
