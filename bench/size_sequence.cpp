// parmap-size-sequence: does a long-running process stay as fast as a fresh
// one? Times square (f32, host data in and out, buffers allocated and touched
// once outside every timing) at a few sizes right after start, then after 300
// maps of distinct sizes, after 8 threads mapped 20 mixed sizes each, and
// after release_cached_memory(); prints each time and its ratio to the fresh
// one (target: at most 1.10), and the staging pool's slots after each phase.
// The fresh phase is timed twice in a row: their ratio is the noise floor.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "parmap/detail/clock.hpp"
#include "parmap/parmap.hpp"

namespace {

using parmap::detail::now_seconds;

struct phase {
  std::string name;
  std::vector<double> ms;  // median per timed size
  int slots = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parmap-size-sequence: square f32 host data, fresh and after many sizes and callers"};
  std::string where_s = "gpu";
  std::vector<std::size_t> timed{std::size_t{1} << 24, std::size_t{1} << 28};
  int reps = 15;
  std::size_t sequence = 300;
  std::size_t first = std::size_t{1} << 21;
  std::size_t spread = 1200000;
  int callers = 8;
  std::string json;
  app.add_option("--backend", where_s, "gpu, cpu or auto")->check(CLI::IsMember({"gpu", "cpu", "auto"}))
      ->capture_default_str();
  app.add_option("--sizes", timed, "sizes timed in every phase")->delimiter(',')->capture_default_str();
  app.add_option("--reps", reps, "timed calls per size (median)")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--sequence", sequence, "maps of distinct sizes in the sequence phase")->capture_default_str();
  app.add_option("--first", first, "smallest size of the sequence")->capture_default_str();
  app.add_option("--spread", spread, "sizes run from --first to --first + --spread")->capture_default_str();
  app.add_option("--callers", callers, "threads in the concurrent phase")->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--json", json, "write the phases as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  const parmap::backend where = where_s == "gpu"   ? parmap::backend::gpu
                                : where_s == "cpu" ? parmap::backend::cpu
                                                   : parmap::backend::automatic;
  if (where == parmap::backend::gpu && !parmap::gpu_available()) {
    std::fprintf(stderr, "parmap-size-sequence: no GPU (%s); use --backend cpu\n", parmap::gpu_description().c_str());
    return 2;
  }
  std::sort(timed.begin(), timed.end());
  const std::size_t per_caller = first + spread;
  const std::size_t total = std::max(timed.back(), per_caller * static_cast<std::size_t>(callers));
  std::vector<float> x(total);
  std::vector<float> y(total, 0.0F);
  for (std::size_t i = 0; i < total; ++i) x[i] = static_cast<float>(i % 4099) - 2000.0F;
  const parmap::options opt{.where = where};
  auto square = [&](std::size_t off, std::size_t n) {
    parmap::map(parmap::ops::square, std::span<const float>(x.data() + off, n), std::span<float>(y.data() + off, n),
                opt);
  };
  std::size_t wrong = 0;
  auto check = [&](std::size_t off, std::size_t n) {
    for (std::size_t i = off; i < off + n; i += 997) wrong += y[i] != x[i] * x[i] ? 1 : 0;
    wrong += y[off + n - 1] != x[off + n - 1] * x[off + n - 1] ? 1 : 0;
  };

  std::vector<phase> phases;
  auto time_phase = [&](const std::string& name) {
    phase p{name, {}, 0};
    for (const std::size_t n : timed) {
      square(0, n);  // warm-up (a first call after release makes slots)
      std::vector<double> t;
      for (int r = 0; r < reps; ++r) {
        const double t0 = now_seconds();
        square(0, n);
        t.push_back((now_seconds() - t0) * 1e3);
      }
      check(0, n);
      p.ms.push_back(median(t));
    }
    p.slots = parmap::detail::staging_usage().slots;
    phases.push_back(p);
    std::fprintf(stderr, "  %s done\n", name.c_str());
  };

  time_phase("fresh");
  time_phase("fresh, again");  // the spread of the measurement itself
  for (std::size_t i = 0; i < sequence; ++i) {  // distinct sizes, spread over the range
    const std::size_t n = first + (i * 7919) % spread;
    square(0, n);
    check(0, n);
  }
  time_phase("after " + std::to_string(sequence) + " sizes");
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < callers; ++t) {
      threads.emplace_back([&, t] {
        const std::size_t off = per_caller * static_cast<std::size_t>(t);
        for (std::size_t j = 0; j < 20; ++j) {
          square(off, first / 4 + ((static_cast<std::size_t>(t) * 20 + j) * 104729) % spread);
        }
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < callers; ++t) check(per_caller * static_cast<std::size_t>(t), first / 4);
  }
  time_phase("after " + std::to_string(callers) + " callers");
  parmap::release_cached_memory();
  time_phase("after release");

  std::printf("parmap-size-sequence: square f32, host data, backend %s, %s, median of %d\n", where_s.c_str(),
              parmap::gpu_description().c_str(), reps);
  std::printf("%-22s", "phase");
  for (const std::size_t n : timed) std::printf(" %14s %6s", ("n=" + std::to_string(n) + " ms").c_str(), "ratio");
  std::printf(" %6s\n", "slots");
  double worst = 0;
  for (const auto& p : phases) {
    std::printf("%-22s", p.name.c_str());
    for (std::size_t k = 0; k < timed.size(); ++k) {
      const double ratio = p.ms[k] / phases.front().ms[k];
      worst = std::max(worst, ratio);
      std::printf(" %14.3f %6.3f", p.ms[k], ratio);
    }
    std::printf(" %6d\n", p.slots);
  }
  std::printf("worst ratio to fresh: %.3f (target <= 1.10); wrong elements: %zu\n", worst, wrong);
  if (!json.empty()) {
    std::ofstream f(json);
    f << "{\"backend\": \"" << where_s << "\", \"gpu\": \"" << parmap::gpu_description() << "\", \"reps\": " << reps
      << ", \"sizes\": [";
    for (std::size_t k = 0; k < timed.size(); ++k) f << (k ? ", " : "") << timed[k];
    f << "], \"phases\": [";
    for (std::size_t i = 0; i < phases.size(); ++i) {
      f << (i ? ", " : "") << "{\"name\": \"" << phases[i].name << "\", \"slots\": " << phases[i].slots << ", \"ms\": [";
      for (std::size_t k = 0; k < timed.size(); ++k) f << (k ? ", " : "") << phases[i].ms[k];
      f << "]}";
    }
    f << "], \"worst_ratio\": " << worst << ", \"wrong\": " << wrong << "}\n";
  }
  return wrong == 0 ? 0 : 1;
}
