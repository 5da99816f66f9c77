// One map split between the CPU and the GPU (issue: co-processing): the
// split arithmetic of the cost model, and on the simulated GPU every split
// point bit for bit against the serial reference, in place, a GPU failure at
// every chunk, concurrent callers, the report, and that a forced backend or
// PARMAP_SPLIT=off never splits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "parmap/detail/calibration.hpp"
#include "parmap/detail/context.hpp"
#include "parmap/detail/split.hpp"
#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"
#include "support/split_checks.hpp"

namespace {

using parmap::backend;
using parmap::detail::calibration;
using parmap::detail::cost_class;
using parmap::detail::estimate_split;
using parmap::test::env_var;

// A map of n elements of `bytes` bytes in and out, on 4 threads, for the model.
parmap::detail::call_shape shape(std::size_t n, std::size_t bytes, cost_class cost) {
  return {.n = n, .in_elem_bytes = bytes, .out_elem_bytes = bytes, .cost = cost, .threads = 4};
}

calibration rates(double cpu_gbs, double gpu_gbs, double launch = 0) {
  calibration c;
  c.key = "synthetic";
  c.source = "test";
  c.cpu_threads = 4;
  c.cpu_bandwidth = cpu_gbs * 1e9;
  c.cpu_transcendental = 8e-9;
  c.h2d_bandwidth = c.d2h_bandwidth = 20e9;
  c.gpu_bandwidth = 2e12;
  c.gpu_transcendental = 1e-12;
  c.gpu_launch = launch;
  c.split_launch = std::max(launch, 1e-12);  // measured (0 would mean: not measured)
  c.pipeline_bandwidth = gpu_gbs * 1e9;
  c.split_cpu_bandwidth = cpu_gbs * 1e9;
  c.split_gpu_bandwidth = gpu_gbs * 1e9;
  return c;
}

TEST(SplitArithmetic, SharesMakeBothSidesFinishTogether) {
  const std::size_t n = std::size_t{1} << 24;
  // Equal rates, no fixed cost: half each.
  const auto half = estimate_split(rates(10, 10), shape(n, 4, cost_class::memory));
  EXPECT_EQ(half.cpu_elements, n / 2);
  EXPECT_NEAR(half.seconds, static_cast<double>(n / 2) * 8 / 10e9, 1e-9);
  // A GPU three times as fast takes three quarters; its fixed cost moves a little back to the CPU.
  const auto quarter = estimate_split(rates(10, 30), shape(n, 4, cost_class::memory));
  EXPECT_NEAR(static_cast<double>(quarter.cpu_elements), n / 4.0, 64);
  const auto launch = estimate_split(rates(10, 30, 1e-3), shape(n, 4, cost_class::memory));
  EXPECT_GT(launch.cpu_elements, quarter.cpu_elements);
  const double cpu_time = static_cast<double>(launch.cpu_elements) * 8 / 10e9;
  const double gpu_time = 1e-3 + static_cast<double>(n - launch.cpu_elements) * 8 / 30e9;
  EXPECT_NEAR(cpu_time, gpu_time, 64 * 8 / 10e9);  // within one 64-element step
  EXPECT_EQ(launch.cpu_elements % 64, 0U);
  // A transcendental op costs the CPU more per element (8 ns over its 3 split
  // threads, against 1 ps on the GPU): the GPU takes more.
  const auto heavy = estimate_split(rates(10, 10), shape(n, 8, cost_class::transcendental));
  const double a_cpu = 16 / 10e9 + 8e-9 / 3;
  const double a_gpu = 16 / 10e9 + 1e-12;
  EXPECT_NEAR(static_cast<double>(heavy.cpu_elements), n * a_gpu / (a_cpu + a_gpu), 64);
  EXPECT_LT(heavy.cpu_elements, n / 2);
}

TEST(SplitArithmetic, EdgesGoToOneSide) {
  // No split figures (not measured, or no GPU): never.
  calibration none = rates(10, 10);
  none.split_cpu_bandwidth = 0;
  const auto never = estimate_split(none, shape(1 << 20, 4, cost_class::memory));
  EXPECT_FALSE(std::isfinite(never.seconds));
  // The GPU's fixed cost outweighs a small map: all on the CPU.
  const auto small = estimate_split(rates(10, 100, 1e-3), shape(1000, 4, cost_class::memory));
  EXPECT_EQ(small.cpu_elements, 1000U);
  // Fewer than 64 elements: all on one side.
  const auto tiny = estimate_split(rates(10, 10), shape(50, 4, cost_class::memory));
  EXPECT_TRUE(tiny.cpu_elements == 0 || tiny.cpu_elements == 50) << tiny.cpu_elements;
  // A far faster GPU: everything on it.
  const auto gpu = estimate_split(rates(0.001, 1000), shape(1 << 20, 4, cost_class::memory));
  EXPECT_EQ(gpu.cpu_elements, 0U);
  EXPECT_EQ(estimate_split(rates(10, 10), shape(0, 4, cost_class::memory)).cpu_elements, 0U);
}

TEST(SplitArithmetic, ThreadsAreShared) {
  for (int t : {1, 2, 3, 4, 8, 16, 64}) {
    const auto s = parmap::detail::threads_for_split(t);
    EXPECT_GE(s.cpu, 1);
    EXPECT_GE(s.copy, 1);
    EXPECT_LE(s.cpu + s.copy, std::max(2, t)) << t;
  }
  EXPECT_EQ(parmap::detail::threads_for_split(16).copy, 4);
}

#if defined(PARMAP_TEST_SIM)

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

using parmap::test::inputs;
using parmap::test::mismatches;

class Split : public ::testing::Test {
 protected:
  parmap::test::default_settings settings_;
  parmap::test::sim_backend sim_{"simulated GPU (split tests)"};
  parmap::test::use_backend use_{sim_};
};

TEST_F(Split, EverySplitPointOfASmallMapIsExact) { parmap::test::check_every_split_point(true); }

TEST_F(Split, SplitPointsAroundChunkBoundariesAreExact) { parmap::test::check_split_at_chunk_boundaries(); }

TEST_F(Split, InPlaceMapsEachElementOnce) { parmap::test::check_split_in_place(); }

// The GPU's share fails at its k-th chunk, for every k: the CPU maps the rest
// of that share, each element once (in place as well), and the report says so.
TEST_F(Split, AGpuFailureAtEveryChunkFinishesOnTheCpu) {
  parmap::test::fault_injector faults(sim_);
  const parmap::test::use_backend use(faults);
  parmap::test::check_split_failures(faults);
}

TEST_F(Split, RegisteredOrStagedResultsAreRight) { parmap::test::check_registered_results(); }

TEST_F(Split, AForcedBackendOrOffNeverSplits) {
  const auto x = inputs<float>(1 << 16);
  parmap::report r;
  {
    const env_var split("PARMAP_SPLIT", "0.5");
    (void)parmap::map(parmap::ops::square, x, {.where = backend::cpu, .out_report = &r});
    EXPECT_EQ(r.used, backend::cpu);
    EXPECT_FALSE(contains(r.reason, "split")) << r.reason;
    const auto y = parmap::map(parmap::ops::square, x, {.where = backend::gpu, .out_report = &r});
    EXPECT_EQ(r.used, backend::gpu);
    EXPECT_FALSE(contains(r.reason, "split")) << r.reason;
    EXPECT_EQ(mismatches(parmap::ops::square, x, y), 0U);
    // Not a device op: nothing to split.
    (void)parmap::map([](float v) { return v * v; }, x, {.out_report = &r});
    EXPECT_FALSE(contains(r.reason, "split")) << r.reason;
  }
  // The model would split, but PARMAP_SPLIT=off.
  parmap::detail::install_calibration(rates(10, 10));
  {
    const env_var split("PARMAP_SPLIT", "off");
    (void)parmap::map(parmap::ops::square, inputs<float>(1 << 22), {.out_report = &r});
    EXPECT_FALSE(contains(r.reason, "split")) << r.reason;
  }
}

TEST_F(Split, TheModelSplitsWhenBothTogetherClearlyWin) {
  const auto x = inputs<float>(1 << 22);
  parmap::report r;
  // Equal rates: together about twice as fast as either alone.
  parmap::detail::install_calibration(rates(10, 10, 1e-4));
  auto y = parmap::map(parmap::ops::square, x, {.n_jobs = 4, .out_report = &r});
  EXPECT_EQ(r.used, backend::gpu);
  EXPECT_TRUE(contains(r.reason, "split: cpu 5")) << r.reason;  // just over half: the GPU's fixed cost
  EXPECT_TRUE(contains(r.reason, "estimated")) << r.reason;
  EXPECT_EQ(mismatches(parmap::ops::square, x, y), 0U);
  // One thread asked for: no split (the split needs a thread to feed the GPU).
  (void)parmap::map(parmap::ops::square, x, {.n_jobs = 1, .out_report = &r});
  EXPECT_FALSE(contains(r.reason, "split")) << r.reason;
  // Both sides slow each other down so much that the split does not pay.
  calibration contended = rates(10, 10, 1e-4);
  contended.split_cpu_bandwidth = 4e9;
  contended.split_gpu_bandwidth = 4e9;
  parmap::detail::install_calibration(contended);
  (void)parmap::map(parmap::ops::square, x, {.n_jobs = 4, .out_report = &r});
  EXPECT_FALSE(contains(r.reason, "split")) << r.reason;
  {  // PARMAP_SPLIT=on: at the model's shares even so
    const env_var on("PARMAP_SPLIT", "on");
    y = parmap::map(parmap::ops::square, x, {.n_jobs = 4, .out_report = &r});
    EXPECT_TRUE(contains(r.reason, "split: cpu 5")) << r.reason;
    EXPECT_EQ(mismatches(parmap::ops::square, x, y), 0U);
  }
  // Small maps never split (too small for the GPU at all).
  parmap::detail::install_calibration(rates(10, 10, 1e-4));
  (void)parmap::map(parmap::ops::square, inputs<float>(1000), {.n_jobs = 4, .out_report = &r});
  EXPECT_FALSE(contains(r.reason, "split")) << r.reason;
}

TEST_F(Split, ConcurrentCallersGetTheirOwnResults) {
  const env_var split("PARMAP_SPLIT", "0.4");
  std::vector<std::thread> threads;
  std::vector<std::size_t> wrong(4, 0);
  for (std::size_t t = 0; t < wrong.size(); ++t) {
    threads.emplace_back([&wrong, t] {
      for (int i = 0; i < 10; ++i) {
        const std::size_t n = 50000 + t * 7919 + static_cast<std::size_t>(i) * 1237;
        const auto x = inputs<double>(n);
        const auto y = parmap::map(parmap::ops::affine(2.0, static_cast<double>(t)), x);
        wrong[t] += mismatches(parmap::ops::affine(2.0, static_cast<double>(t)), x, y);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (std::size_t t = 0; t < wrong.size(); ++t) EXPECT_EQ(wrong[t], 0U) << "caller " << t;
}

// Selects GPU `index` as the context's device for the guard's lifetime.
struct context_device {
  explicit context_device(int index) { parmap::detail::select_context_device(index); }
  ~context_device() { parmap::detail::select_context_device(0); }
  context_device(const context_device&) = delete;
  context_device& operator=(const context_device&) = delete;
};

// Two simulated GPUs and the context on the second (as parmap::mpi selects
// one per rank): a split's GPU thread, a GPU map from a thread that never
// chose a device, and the calibration all run on GPU 1, none on GPU 0.
TEST(ContextDevice, TheSplitTheGpuPathAndTheCalibrationRunOnTheContextsDevice) {
  const parmap::test::default_settings settings;
  parmap::test::sim_backend sim("two simulated GPUs");
  sim.devices = 2;
  const parmap::test::use_backend use(sim);
  const context_device second(1);
  EXPECT_EQ(parmap::detail::context_device(), 1);
  const auto x = inputs<float>(std::size_t{1} << 20);
  {
    const env_var split("PARMAP_SPLIT", "0.5");
    sim.device_mask = 0;
    parmap::report r;
    std::vector<float> y;
    std::thread caller([&] { y = parmap::map(parmap::ops::square, x, {.out_report = &r}); });  // device 0 current
    caller.join();
    EXPECT_TRUE(contains(r.reason, "split")) << r.reason;
    EXPECT_EQ(mismatches(parmap::ops::square, x, y), 0U);
    EXPECT_EQ(sim.device_mask.load(), 2U) << "copies or launches ran on GPU 0";
  }
  {
    const env_var min("PARMAP_GPU_MIN_ELEMENTS", "1");
    sim.device_mask = 0;
    std::vector<float> y;
    std::thread caller([&] { y = parmap::map(parmap::ops::square, x); });
    caller.join();
    EXPECT_EQ(mismatches(parmap::ops::square, x, y), 0U);
    EXPECT_EQ(sim.device_mask.load(), 2U) << "copies or launches ran on GPU 0";
  }
  {
    // No cache: the calibration is measured now, on the context's device.
    const env_var xdg("XDG_CACHE_HOME", nullptr);
    const env_var home("HOME", nullptr);
    const parmap::test::use_calibration none(std::nullopt);
    sim.device_mask = 0;
    std::thread caller([] { (void)parmap::detail::current_calibration(2); });
    caller.join();
    const auto* c = parmap::detail::calibration_if_made();
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->source, "measured");
    EXPECT_EQ(sim.device_mask.load(), 2U) << "the calibration ran on GPU 0";
  }
}

#endif

// The same checks on a real GPU (label gpu; skipped without one).
class GpuSplit : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  }
  env_var backend_{"PARMAP_BACKEND", nullptr};
  env_var min_{"PARMAP_GPU_MIN_ELEMENTS", nullptr};
};

TEST_F(GpuSplit, EverySplitPointOfASmallMapIsExact) { parmap::test::check_every_split_point(false); }

TEST_F(GpuSplit, SplitPointsAroundChunkBoundariesAreExact) { parmap::test::check_split_at_chunk_boundaries(); }

TEST_F(GpuSplit, InPlaceMapsEachElementOnce) { parmap::test::check_split_in_place(); }

TEST_F(GpuSplit, AGpuFailureAtEveryChunkFinishesOnTheCpu) {
  parmap::test::fault_injector faults(parmap::detail::current_device_backend());
  const parmap::test::use_backend use(faults);
  parmap::test::check_split_failures(faults);
}

TEST_F(GpuSplit, RegisteredOrStagedResultsAreRight) { parmap::test::check_registered_results(); }

TEST(SplitSetting, BadValuesAreConfigErrors) {
  for (const char* v : {"half", "1.5", "-0.1", "0.5x", "nan"}) {
    const env_var split("PARMAP_SPLIT", v);
    EXPECT_THROW((void)parmap::map(parmap::ops::square, std::vector<float>(4, 1.0F)), parmap::config_error) << v;
  }
}

}  // namespace
