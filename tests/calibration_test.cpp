// Automatic mode's calibrated cost model: decisions from synthetic
// calibrations (small n -> cpu, data on the GPU -> gpu, huge host data with a
// slow link -> cpu, fast link and slow CPU -> gpu, heavy ops), the estimate's
// arithmetic, the per-machine cache file, and no measuring without a GPU.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <fstream>
#include <string>
#include <vector>

#include "parmap/detail/calibration.hpp"
#include "parmap/detail/context.hpp"
#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::backend;
using parmap::detail::calibration;
using parmap::test::env_var;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

using parmap::test::synthetic_calibration;
using parmap::test::use_calibration;

TEST(CostModel, EstimateIsTheModelsArithmetic) {
  const calibration c = synthetic_calibration(10, 20);
  const auto e = parmap::detail::estimate_call(
      c, {.n = 1000000, .in_elem_bytes = 4, .out_elem_bytes = 4, .cost = parmap::detail::cost_class::memory, .threads = 2});
  EXPECT_DOUBLE_EQ(e.cpu, 8e6 / 10e9);
  EXPECT_DOUBLE_EQ(e.gpu, 20e-6 + 4e6 / 20e9 + 4e6 / 20e9 + 8e6 / 2e12);
  // One thread of two measured: half the bandwidth; data on the GPU: no copies.
  const auto one = parmap::detail::estimate_call(
      c, {.n = 1000000, .in_elem_bytes = 4, .out_elem_bytes = 4, .cost = parmap::detail::cost_class::memory, .threads = 1, .in_on_gpu = true, .out_on_gpu = true});
  EXPECT_DOUBLE_EQ(one.cpu, 8e6 / 5e9);
  EXPECT_DOUBLE_EQ(one.gpu, 20e-6 + 8e6 / 2e12);
  const auto heavy = parmap::detail::estimate_call(
      c, {.n = 1000000, .in_elem_bytes = 8, .out_elem_bytes = 8, .cost = parmap::detail::cost_class::transcendental, .threads = 2});
  EXPECT_DOUBLE_EQ(heavy.cpu, 16e6 / 10e9 + 1e6 * 5e-9 / 2);
  // Host maps of 8 MiB or more run through the pipeline, at its measured rate.
  calibration p = c;
  p.pipeline_bandwidth = 40e9;
  const auto big = parmap::detail::estimate_call(
      p, {.n = 4000000, .in_elem_bytes = 4, .out_elem_bytes = 4, .cost = parmap::detail::cost_class::memory, .threads = 2});
  EXPECT_DOUBLE_EQ(big.gpu, 20e-6 + 32e6 / 40e9);
  const auto small = parmap::detail::estimate_call(
      p, {.n = 1000000, .in_elem_bytes = 4, .out_elem_bytes = 4, .cost = parmap::detail::cost_class::memory, .threads = 2});
  EXPECT_DOUBLE_EQ(small.gpu, e.gpu);  // 8 MB < 8 MiB: copy in, run, copy out
}

#if defined(PARMAP_TEST_SIM)
class CostModelDecisions : public ::testing::Test {
 protected:
  env_var min_{"PARMAP_GPU_MIN_ELEMENTS", nullptr};
  env_var backend_{"PARMAP_BACKEND", nullptr};
  parmap::test::sim_backend sim_;
  parmap::test::use_backend use_{sim_};

  backend used(auto op, auto x, std::string* reason = nullptr) {
    parmap::report r;
    (void)parmap::map(op, x, {.n_jobs = 2, .out_report = &r});
    if (reason != nullptr) *reason = r.reason;
    return r.used;
  }
};

TEST_F(CostModelDecisions, SmallInputsStayOnTheCpu) {
  const calibration c = synthetic_calibration(1, 100);  // even with a slow CPU and a fast link
  const use_calibration use(c);
  std::string why;
  // Under 64 KiB moved: not even estimated (and CUDA is not started for it).
  EXPECT_EQ(used(parmap::ops::square, std::vector<float>(16, 1.0F), &why), backend::cpu);
  EXPECT_TRUE(contains(why, "too small for the GPU")) << why;
  EXPECT_EQ(used(parmap::ops::square, std::vector<float>(8191, 1.0F), &why), backend::cpu);
  EXPECT_TRUE(contains(why, "too small for the GPU")) << why;
  // From 64 KiB the model decides: this slow a CPU loses to the GPU.
  EXPECT_EQ(used(parmap::ops::square, std::vector<float>(8192, 1.0F), &why), backend::gpu);
  EXPECT_TRUE(contains(why, "estimated gpu")) << why;
  EXPECT_TRUE(contains(why, "(test)")) << why;
}

TEST_F(CostModelDecisions, HugeHostDataWithASlowLinkStaysOnTheCpu) {
  const calibration c = synthetic_calibration(20, 1);
  const use_calibration use(c);
  EXPECT_EQ(used(parmap::ops::square, std::vector<float>(1 << 22, 1.0F)), backend::cpu);
}

TEST_F(CostModelDecisions, FastLinkAndSlowCpuGoToTheGpu) {
  const calibration c = synthetic_calibration(2, 50);
  const use_calibration use(c);
  std::string why;
  EXPECT_EQ(used(parmap::ops::square, std::vector<float>(1 << 22, 1.0F), &why), backend::gpu) << why;
  // PARMAP_GPU_MIN_ELEMENTS overrides the model.
  const env_var min("PARMAP_GPU_MIN_ELEMENTS", "100000000");
  EXPECT_EQ(used(parmap::ops::square, std::vector<float>(1 << 22, 1.0F), &why), backend::cpu);
  EXPECT_TRUE(contains(why, "PARMAP_GPU_MIN_ELEMENTS")) << why;
}

TEST_F(CostModelDecisions, TheMeasuredPipelineRateDecidesLargeHostMaps) {
  calibration c = synthetic_calibration(20, 1);  // slow plain copies ...
  c.pipeline_bandwidth = 100e9;    // ... but a fast overlapped pipeline
  const use_calibration use(c);
  EXPECT_EQ(used(parmap::ops::square, std::vector<float>(1 << 22, 1.0F)), backend::gpu);  // 32 MiB
  EXPECT_EQ(used(parmap::ops::square, std::vector<float>(1 << 18, 1.0F)), backend::cpu);  // 2 MiB
}

TEST_F(CostModelDecisions, TranscendentalOpsTipTowardsTheGpuEarlier) {
  const calibration c = synthetic_calibration(20, 12);
  const use_calibration use(c);
  const std::vector<double> x(1 << 20, 0.5);
  EXPECT_EQ(used(parmap::ops::square, x), backend::cpu);  // gpu 1.4 ms (the link) vs cpu 0.8 ms
  EXPECT_EQ(used(parmap::ops::exp, x), backend::gpu);     // cpu 3.5 ms: libm adds 2.6 ms
}

TEST_F(CostModelDecisions, DataOnTheGpuStaysThere) {
  const calibration c = synthetic_calibration(100, 0.001);
  const use_calibration use(c);
  parmap::device_array<float> d(std::vector<float>(64, 2.0F));
  parmap::report r;
  parmap::map_inplace(parmap::ops::square, d.span(), {.out_report = &r});
  EXPECT_EQ(r.used, backend::gpu);
  EXPECT_EQ(d.to_vector()[63], 4.0F);
}

// A GPU that fails while it is measured: automatic mode runs on the CPU and
// says why, caches nothing, and measures again on the next call.
TEST(CostModelFailure, AGpuFailureWhileCalibratingRunsOnTheCpu) {
  const env_var min("PARMAP_GPU_MIN_ELEMENTS", nullptr);
  const env_var backend_env("PARMAP_BACKEND", nullptr);
  const auto dir = std::filesystem::temp_directory_path() / ("parmap-calfail-" + std::to_string(::getpid()));
  const env_var xdg("XDG_CACHE_HOME", dir.c_str());
  parmap::test::sim_backend sim("simulated GPU that fails while calibrating");
  parmap::test::fault_injector faults(sim);
  const parmap::test::use_backend use(faults, parmap::test::calibrated::measured);
  faults.fail_upload = true;
  const std::vector<float> x(1 << 16, 3.0F);
  parmap::report r;
  const auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_TRUE(contains(r.reason, "GPU failed while calibrating")) << r.reason;
  EXPECT_TRUE(contains(r.reason, "injected fault")) << r.reason;
  EXPECT_EQ(y[12345], 9.0F);
  EXPECT_FALSE(std::filesystem::exists(dir / "parmap")) << "a failed calibration was cached";
  faults.clear();
  (void)parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_TRUE(contains(r.reason, "(measured)")) << r.reason;
  parmap::release_cached_memory();
  std::filesystem::remove_all(dir);
}

// Automatic mode runs a memory-bound map on the calibrated best thread count
// for its size; forced, n_jobs given, or other sizes and costs: the threads asked for.
TEST_F(CostModelDecisions, CalibratedThreadsBySize) {
  calibration c = synthetic_calibration(20, 1);  // the CPU wins: host path
  c.cpu_threads = 4;
  const int table[parmap::detail::cpu_thread_buckets] = {1, 2, 2, 4, 4, 0};
  std::copy(std::begin(table), std::end(table), std::begin(c.cpu_threads_by_size));
  const use_calibration use(c);
  auto plan = [](std::size_t n, parmap::detail::cost_class cost, parmap::options opt) {
    static std::vector<float> data(std::size_t{1} << 22);
    return parmap::detail::decide(parmap::test::float_op_call(n, data.data(), data.data(), cost), opt);
  };
  using parmap::detail::cost_class;
  using parmap::detail::exec_path;
  const parmap::options automatic{.n_jobs = -1};
  const auto d15 = plan(std::size_t{1} << 15, cost_class::memory, automatic);
  EXPECT_EQ(d15.path(), exec_path::serial);  // calibrated: one thread at 2^15
  // Not applied: forced, n_jobs given, transcendental ops, the unmeasured bucket.
  const auto forced = plan(std::size_t{1} << 15, cost_class::memory, {.where = backend::cpu});
  EXPECT_EQ(forced.path(), exec_path::parallel);
  ASSERT_GE(parmap::test::threads_of(forced), 2) << "needs two threads (OMP_NUM_THREADS)";
  const auto d17 = plan((std::size_t{1} << 17) + 5, cost_class::memory, automatic);
  EXPECT_EQ(d17.path(), exec_path::parallel);
  EXPECT_EQ(parmap::test::threads_of(d17), 2) << "2^17: the table's 2 threads";
  const auto all = plan(std::size_t{1} << 22, cost_class::memory, automatic);
  EXPECT_EQ(parmap::test::threads_of(all), parmap::test::threads_of(forced));
  const auto given = plan(std::size_t{1} << 15, cost_class::memory, {.n_jobs = 2});
  EXPECT_EQ(parmap::test::threads_of(given), 2);
  const auto heavy = plan(std::size_t{1} << 15, cost_class::transcendental, automatic);
  EXPECT_EQ(parmap::test::threads_of(heavy), parmap::test::threads_of(forced));
  const auto unmeasured = plan(std::size_t{1} << 20, cost_class::memory, automatic);
  EXPECT_EQ(parmap::test::threads_of(unmeasured), parmap::test::threads_of(forced));
  // The table is by bytes moved: 2^18 f32 elements move 2^21 bytes (bucket 3).
  EXPECT_EQ(parmap::detail::cpu_threads_for(c, std::size_t{1} << 21, 3), 3);  // never above what is available
  EXPECT_EQ(parmap::detail::cpu_threads_for(c, std::size_t{1} << 19, 8), 2);
  EXPECT_EQ(parmap::detail::cpu_threads_for(c, 800, 8), 8);
  // f64 moves twice the bytes of f32: 2^14 doubles fall in 2^15 floats' bucket.
  static std::vector<double> wide(std::size_t{1} << 14);
  auto doubles = parmap::test::float_op_call(wide.size(), nullptr, nullptr);
  doubles.in = doubles.out = wide.data();
  doubles.in_elem_bytes = doubles.out_elem_bytes = sizeof(double);
  EXPECT_EQ(parmap::detail::decide(doubles, automatic).path(), exec_path::serial);  // calibrated: one thread at 2^18 bytes

}

// Without a test calibration the dispatcher measures (or loads) the machine's.
TEST_F(CostModelDecisions, MeasuredOrCachedWhenNoneIsGiven) {
  const parmap::test::use_backend measured(sim_, parmap::test::calibrated::measured);
  std::string why;
  (void)used(parmap::ops::square, std::vector<float>(1 << 16, 1.0F), &why);
  EXPECT_TRUE(contains(why, "(measured)") || contains(why, "(cache ")) << why;
}

TEST(CalibrationCache, RoundTripAndRejection) {
  const auto dir = std::filesystem::temp_directory_path() / ("parmap-cal-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const env_var xdg("XDG_CACHE_HOME", dir.c_str());
  parmap::test::sim_backend sim;
  const calibration c = parmap::detail::measure_calibration(sim, 2);
  EXPECT_EQ(c.source, "measured");
  EXPECT_EQ(c.cpu_threads, 2);
  for (const double v : {c.cpu_bandwidth, c.cpu_transcendental, c.h2d_bandwidth, c.d2h_bandwidth,
                         c.gpu_bandwidth, c.gpu_transcendental, c.gpu_launch, c.pipeline_bandwidth}) {
    EXPECT_GT(v, 0.0);
  }
  EXPECT_TRUE(contains(c.key, sim.probe().description)) << c.key;
  const std::string path = parmap::detail::calibration_path(c.key);
  EXPECT_EQ(path.rfind(dir.string(), 0), 0U) << path;
  ASSERT_TRUE(parmap::detail::save_calibration(c));
  const auto back = parmap::detail::load_calibration(c.key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->key, c.key);
  EXPECT_EQ(back->source, "cache " + path);
  EXPECT_EQ(back->cpu_threads, c.cpu_threads);
  EXPECT_DOUBLE_EQ(back->cpu_bandwidth, c.cpu_bandwidth);
  EXPECT_DOUBLE_EQ(back->gpu_launch, c.gpu_launch);
  EXPECT_DOUBLE_EQ(back->h2d_bandwidth, c.h2d_bandwidth);
  EXPECT_DOUBLE_EQ(back->pipeline_bandwidth, c.pipeline_bandwidth);
  for (int k = 0; k < parmap::detail::cpu_thread_buckets; ++k) {
    EXPECT_GE(c.cpu_threads_by_size[k], 1) << k;
    EXPECT_LE(c.cpu_threads_by_size[k], c.cpu_threads) << k;
    EXPECT_EQ(back->cpu_threads_by_size[k], c.cpu_threads_by_size[k]) << k;
  }

  EXPECT_FALSE(parmap::detail::load_calibration("another machine").has_value());
  {
    std::ofstream damaged(path);
    damaged << "{ \"key\": \"" << c.key << "\", \"cpu_threads\": 2, \"cpu_bandwidth\": oops }";
  }
  EXPECT_FALSE(parmap::detail::load_calibration(c.key).has_value());
  {  // an older file, without the thread counts by size: measured again
    std::ofstream older(path);
    older << "{ \"key\": \"" << c.key << "\", \"cpu_threads\": 2, \"cpu_bandwidth\": 1e9, \"cpu_transcendental\": 1e-9, "
          << "\"h2d_bandwidth\": 1e9, \"d2h_bandwidth\": 1e9, \"gpu_bandwidth\": 1e9, \"gpu_transcendental\": 1e-9, "
          << "\"gpu_launch\": 1e-5, \"pipeline_bandwidth\": 1e9, \"pipeline_registered_bandwidth\": 0, "
          << "\"split_cpu_bandwidth\": 0, \"split_gpu_bandwidth\": 0, \"split_launch\": 0 }";
  }
  EXPECT_FALSE(parmap::detail::load_calibration(c.key).has_value());
  {
    std::ofstream truncated(path);
    truncated << "{ \"key\": \"" << c.key << "\", \"cpu_threads\": 2, \"cpu_band";
  }
  EXPECT_FALSE(parmap::detail::load_calibration(c.key).has_value());

  // Any text in a key (a CPU model names itself) survives the file; bytes
  // that are not UTF-8 are replaced when written, so such a key no longer
  // matches and the machine is measured again, rather than a throw.
  calibration odd = c;
  odd.key = "CPU \xff";
  EXPECT_TRUE(parmap::detail::save_calibration(odd));
  EXPECT_FALSE(parmap::detail::load_calibration(odd.key).has_value());
  odd.key = "CPU\u00ae \"Gold\" \\ 6\tcores\n; GPU";
  ASSERT_TRUE(parmap::detail::save_calibration(odd));
  const auto valid_back = parmap::detail::load_calibration(odd.key);
  ASSERT_TRUE(valid_back.has_value());
  EXPECT_EQ(valid_back->key, odd.key);
  EXPECT_DOUBLE_EQ(valid_back->gpu_bandwidth, odd.gpu_bandwidth);
  std::filesystem::remove_all(dir);
}
#endif

// No GPU: automatic mode decides without the model, and nothing is measured or written.
TEST(CalibrationCache, NothingIsMeasuredWithoutAGpu) {
  const auto dir = std::filesystem::temp_directory_path() / ("parmap-nocal-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const env_var xdg("XDG_CACHE_HOME", dir.c_str());
  const env_var min("PARMAP_GPU_MIN_ELEMENTS", nullptr);
  parmap::test::absent_backend none("no CUDA device (test)");
  const parmap::test::use_backend use(none);
  parmap::report r;
  (void)parmap::map(parmap::ops::square, std::vector<float>(1 << 20, 1.0F), {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_FALSE(contains(r.reason, "estimated")) << r.reason;
  EXPECT_FALSE(std::filesystem::exists(dir)) << "something was cached without a GPU";
}

}  // namespace
