// The overlapped host<->device pipeline, on the simulated GPU (every machine)
// and on a real one (Gpu*, skipped without one): chunk sizes, results around
// chunk boundaries, inputs larger than the GPU's free memory, out-of-memory
// shrinking the staging slots, faults in the middle of the pipeline, and the
// staging pool's bound under many sizes and concurrent callers.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "parmap/detail/context.hpp"
#include "parmap/detail/pipeline.hpp"
#include "parmap/parmap.hpp"
#include "support/fault_checks.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::backend;
std::vector<float> values(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 10007) - 5000.0F;
  return v;
}

::testing::AssertionResult squared(const std::vector<float>& x, const std::vector<float>& y) {
  if (x.size() != y.size()) return ::testing::AssertionFailure() << "size " << y.size();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (y[i] != x[i] * x[i]) {
      return ::testing::AssertionFailure() << "element " << i << ": " << y[i] << " for " << x[i];
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(PipelineChunks, OverlapEvenWhenOneSlotWouldHoldTheJob) {
  using parmap::detail::pipeline_chunk_elements;
  using parmap::detail::pipeline_slots_wanted;
  constexpr std::size_t mib = std::size_t{1} << 20;
  const std::size_t slot = 32 * mib;
  EXPECT_EQ(pipeline_slots_wanted(64), 1);
  EXPECT_EQ(pipeline_slots_wanted(mib), 1);
  EXPECT_EQ(pipeline_slots_wanted(mib + 1), 2);
  EXPECT_EQ(pipeline_slots_wanted(16 * mib), 3);
  EXPECT_EQ(pipeline_slots_wanted(std::size_t{1} << 40), 3);
  // 16 MiB of floats in 3 slots: 4 chunks of 4 MiB.
  EXPECT_EQ(pipeline_chunk_elements(4 * mib, 4, slot, 3), mib);
  // Large jobs: a slot's worth.
  EXPECT_EQ(pipeline_chunk_elements(std::size_t{1} << 28, 4, slot, 3), 8 * mib);
  // Never below 1 MiB (a chunk past the end takes what is left).
  EXPECT_EQ(pipeline_chunk_elements(300000, 4, slot, 2), mib / 4);
  EXPECT_EQ(pipeline_chunk_elements(16, 4, slot, 1), mib / 4);
  // Small slots (a small GPU) bound the chunk.
  EXPECT_EQ(pipeline_chunk_elements(std::size_t{1} << 20, 4, 8192, 3), 2048U);
}

TEST(StagingSlotBytes, FollowsTheLimits) {
  using parmap::detail::staging_slot_bytes;
  // 32 MiB at most, however large the GPU.
  EXPECT_EQ(staging_slot_bytes(static_cast<std::size_t>(-1)), std::size_t{32} << 20);
  EXPECT_EQ(staging_slot_bytes(std::size_t{140} << 30), std::size_t{32} << 20);
  // A quarter of the free memory over the pool's 12 device buffers.
  EXPECT_EQ(staging_slot_bytes(std::size_t{12} << 20), std::size_t{256} << 10);
  // At least 4 KiB, however little is free; always a multiple of 256 bytes.
  EXPECT_EQ(staging_slot_bytes(100), std::size_t{4} << 10);
  EXPECT_EQ(staging_slot_bytes((std::size_t{12} << 20) + 4800) % 256, 0U);
}

#if defined(PARMAP_TEST_SIM)
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class SimPipeline : public ::testing::Test {
 protected:
  parmap::test::env_var min_{"PARMAP_GPU_MIN_ELEMENTS", "0"};
  parmap::test::sim_backend sim_;
};

// A "GPU" with 384 KiB free: 8 KiB slots, 2048-float chunks. Every size
// around the chunk boundaries, in every residency, matches the reference,
// with inputs up to 80 times the device memory.
TEST_F(SimPipeline, ChunkBoundariesAndInputsLargerThanTheGpu) {
  const parmap::test::use_backend use(sim_);
  sim_.free_bytes = std::size_t{384} << 10;
  const std::size_t chunk = parmap::detail::staging_slot_bytes(sim_.free_bytes) / sizeof(float);
  ASSERT_EQ(chunk, 2048U);
  for (const std::size_t n : {4 * chunk - 1, 4 * chunk, 4 * chunk + 1, 7 * chunk, 16 * chunk + 7,
                              1000 * chunk + 3}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const auto x = values(n);
    const auto original = x;
    const int launches = sim_.launches.load();
    sim_.largest_launch = 0;
    std::vector<float> y(n, -1.0F);
    parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(y), {.where = backend::gpu});
    EXPECT_TRUE(squared(x, y));
    EXPECT_EQ(x, original);
    EXPECT_EQ(static_cast<std::size_t>(sim_.launches.load() - launches), (n + chunk - 1) / chunk);
    EXPECT_EQ(sim_.largest_launch.load(), std::min(n, chunk));

    std::vector<float> z = x;
    parmap::map_inplace(parmap::ops::square, z, {.where = backend::gpu});
    EXPECT_TRUE(squared(x, z));

    // Host in, device out; device in, host out.
    parmap::device_array<float> d(n);
    parmap::map(parmap::ops::square, std::span<const float>(x), d.span());
    EXPECT_TRUE(squared(x, d.to_vector()));
    parmap::device_array<float> e(x);
    std::vector<float> back(n);
    parmap::map(parmap::ops::square, std::span<const float>(e.span()), std::span<float>(back));
    EXPECT_TRUE(squared(x, back));
  }
  // The staging slots stay for the next job until they are released.
  EXPECT_EQ(sim_.live_allocations(), 2U * parmap::detail::staging_usage().slots);
  EXPECT_GT(parmap::release_cached_memory(), 0U);
  EXPECT_EQ(sim_.live_allocations(), 0U);
  EXPECT_EQ(sim_.pinned_live.load(), 0);
}

// Allocations above 256 KiB fail: the pool halves its slots until they fit.
TEST_F(SimPipeline, OutOfMemoryShrinksTheSlots) {
  const parmap::test::use_backend use(sim_);
  sim_.max_allocation = std::size_t{256} << 10;
  const auto x = values(std::size_t{3} << 20);
  parmap::report r;
  const auto y = parmap::map(parmap::ops::square, x, {.where = backend::gpu, .out_report = &r});
  EXPECT_EQ(r.used, backend::gpu);
  EXPECT_TRUE(squared(x, y));
  EXPECT_LE(sim_.largest_launch.load() * sizeof(float), sim_.max_allocation.load());
  EXPECT_GE(sim_.largest_launch.load() * sizeof(float) * 2, sim_.max_allocation.load());
  parmap::release_cached_memory();
  EXPECT_EQ(sim_.live_allocations(), 0U);

  // Not even the smallest slot (4 KiB) fits: automatic mode runs on the CPU, forced gpu throws.
  sim_.max_allocation = 1000;
  const auto z = parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_TRUE(contains(r.reason, "GPU failed")) << r.reason;
  EXPECT_TRUE(squared(x, z));
  EXPECT_THROW((void)parmap::map(parmap::ops::square, x, {.where = backend::gpu}), parmap::gpu_error);
  EXPECT_EQ(sim_.live_allocations(), 0U);
  EXPECT_EQ(parmap::detail::staging_usage().slots, 0);
}

// Faults after some chunks went through (1 MiB free: 21 KiB slots, 193 chunks).
TEST_F(SimPipeline, FaultsInTheMiddle) {
  parmap::test::fault_injector faults(sim_);
  const parmap::test::use_backend use(faults);
  sim_.free_bytes = std::size_t{1} << 20;
  parmap::test::check_faults_mid_pipeline(faults, std::size_t{1} << 20);
  EXPECT_EQ(sim_.live_allocations(), 0U);
  EXPECT_EQ(sim_.pinned_live.load(), 0);
}

// Every kind of fault, the same check as GpuFaults.InjectedFaults* on a real GPU.
TEST_F(SimPipeline, InjectedFaultsFallBackOrThrowAndLeakNothing) {
  parmap::test::fault_injector faults(sim_);
  const parmap::test::use_backend use(faults);
  parmap::test::check_injected_faults(faults, (std::size_t{1} << 22) + 3);
  EXPECT_EQ(sim_.live_allocations(), 0U);
}

// 3 MiB free: 64 KiB slots. 300 distinct sizes, then 8 concurrent callers:
// a bounded number of allocations, all given back by release_cached_memory().
TEST_F(SimPipeline, ManySizesAndConcurrentCallersUseABoundedPool) {
  parmap::test::fault_injector counted(sim_);
  const parmap::test::use_backend use(counted);
  sim_.free_bytes = std::size_t{3} << 20;
  parmap::test::check_staging_bounded(counted);
  EXPECT_EQ(sim_.live_allocations(), 0U);
  EXPECT_EQ(sim_.pinned_live.load(), 0);
}
#endif

// A real GPU: sizes around the 32 MiB chunks, and more data than the slots hold.
TEST(GpuPipeline, ChunkBoundariesOnTheGpu) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  const std::size_t chunk = std::size_t{8} << 20;  // floats per 32 MiB chunk
  for (const std::size_t n : {chunk - 1, chunk + 1, 3 * chunk + 5, 10 * chunk + 3}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const auto x = values(n);
    std::vector<float> y(n, -1.0F);
    parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(y), {.where = backend::gpu});
    EXPECT_TRUE(squared(x, y));
    std::vector<float> z = x;
    parmap::map_inplace(parmap::ops::square, z, {.where = backend::gpu});
    EXPECT_TRUE(squared(x, z));
  }
}

// The real backend under a counting wrapper: the same bound as on the simulated GPU.
TEST(GpuPipeline, ManySizesAndConcurrentCallersUseABoundedPool) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  parmap::test::fault_injector counted(parmap::detail::current_device_backend());
  const parmap::test::use_backend use(counted);
  parmap::test::check_staging_bounded(counted);
}

}  // namespace
