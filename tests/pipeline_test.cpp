// The overlapped host<->device pipeline, on the simulated GPU (every machine)
// and on a real one (Gpu*, skipped without one): chunk sizes, results around
// chunk boundaries, inputs larger than the GPU's free memory, out-of-memory
// shrinking the chunks, faults in the middle of the pipeline.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::backend;
using parmap::detail::device_job;
using parmap::detail::memory_kind;
using parmap::detail::pipeline_chunk;

device_job host_job(std::size_t n, std::size_t size) {
  return {nullptr, nullptr, n, size, size, memory_kind::host, memory_kind::host, nullptr, nullptr};
}

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

TEST(PipelineChunk, FollowsTheLimits) {
  const std::size_t unlimited = static_cast<std::size_t>(-1);
  // 32 MiB per buffer at most.
  EXPECT_EQ(pipeline_chunk(host_job(std::size_t{1} << 30, 4), unlimited), std::size_t{8} << 20);
  EXPECT_EQ(pipeline_chunk(host_job(std::size_t{1} << 30, 8), unlimited), std::size_t{4} << 20);
  // Never more than the job.
  EXPECT_EQ(pipeline_chunk(host_job(1000, 4), unlimited), 1000U);
  // Half the free memory over 3 slots of in + out buffers: 6 MiB / (3 * 8 B).
  EXPECT_EQ(pipeline_chunk(host_job(std::size_t{1} << 30, 4), std::size_t{12} << 20), std::size_t{1} << 18);
  // At least 1024 elements, however little is free.
  EXPECT_EQ(pipeline_chunk(host_job(std::size_t{1} << 30, 4), 100), 1024U);
  // Data already on the device needs no buffer on that side.
  device_job half = host_job(std::size_t{1} << 30, 4);
  half.in_kind = memory_kind::device;
  EXPECT_EQ(pipeline_chunk(half, std::size_t{12} << 20), std::size_t{1} << 19);
}

#if defined(PARMAP_TEST_SIM)
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class SimPipeline : public ::testing::Test {
 protected:
  parmap::test::env_var min_{"PARMAP_GPU_MIN_ELEMENTS", "0"};
  parmap::test::sim_backend sim_;
};

// A "GPU" with 64 KiB free: 1365-element chunks of floats. Jobs that do not
// fit in half of it (here from 4096 floats) or move 8 MiB or more go through
// the pipeline; every size around the chunk boundaries, in every residency,
// matches the reference, with inputs up to 170 times the device memory.
TEST_F(SimPipeline, ChunkBoundariesAndInputsLargerThanTheGpu) {
  const parmap::test::use_backend use(sim_);
  sim_.free_bytes = std::size_t{64} << 10;
  const std::size_t chunk = pipeline_chunk(host_job(std::size_t{1} << 30, 4), sim_.free_bytes);
  ASSERT_EQ(chunk, (std::size_t{64} << 10) / 2 / (3 * 8));
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
  EXPECT_EQ(sim_.live_allocations(), 0U);
}

// Allocations above 256 KiB fail: the pipeline halves its chunks until they fit.
TEST_F(SimPipeline, OutOfMemoryShrinksTheChunks) {
  const parmap::test::use_backend use(sim_);
  sim_.max_allocation = std::size_t{256} << 10;
  const auto x = values(std::size_t{3} << 20);
  parmap::report r;
  const auto y = parmap::map(parmap::ops::square, x, {.where = backend::gpu, .out_report = &r});
  EXPECT_EQ(r.used, backend::gpu);
  EXPECT_TRUE(squared(x, y));
  EXPECT_LE(sim_.largest_launch.load() * sizeof(float), sim_.max_allocation.load());
  EXPECT_GE(sim_.largest_launch.load() * sizeof(float) * 2, sim_.max_allocation.load());
  EXPECT_EQ(sim_.live_allocations(), 0U);

  // Not even 1024 elements fit: automatic mode runs on the CPU, forced gpu throws.
  sim_.max_allocation = 1000;
  const auto z = parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_TRUE(contains(r.reason, "GPU failed")) << r.reason;
  EXPECT_TRUE(squared(x, z));
  EXPECT_THROW((void)parmap::map(parmap::ops::square, x, {.where = backend::gpu}), parmap::gpu_error);
  EXPECT_EQ(sim_.live_allocations(), 0U);
}

// Faults after some chunks went through.
TEST_F(SimPipeline, FaultsInTheMiddle) {
  parmap::test::fault_injector faults(sim_);
  const parmap::test::use_backend use(faults);
  sim_.free_bytes = std::size_t{1} << 20;
  const auto x = values(std::size_t{1} << 20);  // 24 chunks
  for (auto* flag : {&faults.fail_upload, &faults.fail_launch, &faults.fail_download}) {
    // Out of place: automatic mode redoes the map on the CPU from the intact input.
    faults.pass_first = 5;
    flag->store(true);
    parmap::report r;
    const auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
    EXPECT_EQ(r.used, backend::cpu);
    EXPECT_TRUE(contains(r.reason, "injected fault")) << r.reason;
    EXPECT_TRUE(squared(x, y));
    EXPECT_EQ(faults.live.load(), 0);
    EXPECT_EQ(sim_.live_allocations(), 0U);
  }
  // In place, failing before any result was copied back: redone on the CPU, squared once.
  faults.pass_first = 0;
  faults.fail_upload = true;
  std::vector<float> z = x;
  parmap::map_inplace(parmap::ops::square, z);
  EXPECT_TRUE(squared(x, z));
  // In place, failing after results were copied back: gpu_error even in automatic mode.
  faults.pass_first = 6;
  faults.fail_download = true;
  std::vector<float> w = x;
  try {
    parmap::map_inplace(parmap::ops::square, w);
    FAIL() << "no exception";
  } catch (const parmap::gpu_error& e) {
    EXPECT_TRUE(contains(e.what(), "not retried on the CPU")) << e.what();
  }
  EXPECT_EQ(faults.live.load(), 0);
  EXPECT_EQ(sim_.live_allocations(), 0U);
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

}  // namespace
