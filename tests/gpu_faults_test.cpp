// Injected faults on a real GPU (label gpu; skipped without one): allocation,
// upload, launch and download failures fall back to the CPU in automatic mode
// (reason in the report) and raise gpu_error when the GPU is forced or the data
// lives on it; afterwards the device memory in use (the stream-ordered pool's
// count, and cudaMemGetInfo after trimming the pool) is what it was before.
// Also a real failure: an allocation larger than the GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::backend;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct device_memory {
  std::uint64_t pool_used = 0;
  std::size_t free_bytes = 0;
};

// Waits for all work, returns the pool's unused memory to the device, and reads both counts.
device_memory measure() {
  device_memory m;
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  int dev = 0;
  EXPECT_EQ(cudaGetDevice(&dev), cudaSuccess);
  cudaMemPool_t pool{};
  EXPECT_EQ(cudaDeviceGetDefaultMemPool(&pool, dev), cudaSuccess);
  EXPECT_EQ(cudaMemPoolTrimTo(pool, 0), cudaSuccess);
  EXPECT_EQ(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &m.pool_used), cudaSuccess);
  std::size_t total = 0;
  EXPECT_EQ(cudaMemGetInfo(&m.free_bytes, &total), cudaSuccess);
  return m;
}

TEST(GpuFaults, InjectedFaultsFallBackOrThrowAndLeakNothing) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  parmap::test::fault_injector faults(parmap::detail::current_device_backend());
  const parmap::test::use_backend use(faults);
  const parmap::test::env_var min("PARMAP_GPU_MIN_ELEMENTS", "0");
  std::vector<float> x(std::size_t{1} << 22);
  std::iota(x.begin(), x.end(), 0.0F);
  const auto original = x;
  parmap::device_array<float> d(x);
  (void)parmap::map(parmap::ops::square, x, {.where = backend::gpu});  // warm-up
  const device_memory before = measure();

  for (auto* flag :
       {&faults.fail_allocate, &faults.fail_upload, &faults.fail_launch, &faults.fail_download}) {
    parmap::report r;
    flag->store(true);
    const auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
    EXPECT_EQ(r.used, backend::cpu) << r.reason;
    EXPECT_TRUE(contains(r.reason, "injected fault")) << r.reason;
    EXPECT_EQ(y[4097], 4097.0F * 4097.0F);

    flag->store(true);
    EXPECT_THROW((void)parmap::map(parmap::ops::square, x, {.where = backend::gpu}), parmap::gpu_error);
    std::vector<float> inplace = x;
    flag->store(true);
    EXPECT_THROW(parmap::map_inplace(parmap::ops::square, inplace, {.where = backend::gpu}),
                 parmap::gpu_error);
    EXPECT_EQ(inplace, original) << "a failed in-place map changed the caller's data";
    flag->store(false);
    EXPECT_EQ(x, original);
    EXPECT_EQ(faults.live.load(), 0);
  }
  // Data on the GPU: a failed launch is an error even in automatic mode, and
  // the device data is unchanged.
  faults.fail_launch = true;
  EXPECT_THROW(parmap::map_inplace(parmap::ops::square, d.span()), parmap::gpu_error);
  EXPECT_EQ(d.to_vector(), original);

  const device_memory after = measure();
  EXPECT_EQ(after.pool_used, before.pool_used) << "device memory still allocated from the pool";
  // cudaMemGetInfo also sees other processes; allow them 64 MiB of movement.
  EXPECT_GE(after.free_bytes + (std::size_t{64} << 20), before.free_bytes);
}

// Faults after several chunks of the pipeline went through (2^26 floats: 8 chunks).
TEST(GpuFaults, FaultsInTheMiddleOfThePipeline) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  parmap::test::fault_injector faults(parmap::detail::current_device_backend());
  const parmap::test::use_backend use(faults);
  const parmap::test::env_var min("PARMAP_GPU_MIN_ELEMENTS", "0");
  std::vector<float> x(std::size_t{1} << 26);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 4099);
  (void)parmap::map(parmap::ops::square, x, {.where = backend::gpu});  // warm-up (pools)
  const device_memory before = measure();

  // Out of place: automatic mode redoes the whole map on the CPU.
  faults.pass_first = 4;
  faults.fail_download = true;
  parmap::report r;
  const auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu) << r.reason;
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < x.size(); ++i) wrong += y[i] != x[i] * x[i];
  EXPECT_EQ(wrong, 0U);

  // In place after results were copied back: gpu_error, not a second application of square.
  faults.pass_first = 5;
  faults.fail_download = true;
  std::vector<float> z = x;
  try {
    parmap::map_inplace(parmap::ops::square, z);
    FAIL() << "no exception";
  } catch (const parmap::gpu_error& e) {
    EXPECT_TRUE(contains(e.what(), "not retried on the CPU")) << e.what();
  }
  faults.fail_download = false;
  EXPECT_EQ(faults.live.load(), 0);
  const device_memory after = measure();
  EXPECT_EQ(after.pool_used, before.pool_used) << "device memory still allocated from the pool";
}

TEST(GpuFaults, AllocationLargerThanTheGpuIsAGpuErrorAndTheGpuStaysUsable) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  try {
    parmap::device_array<float> huge(std::size_t{1} << 40);  // 4 TiB
    FAIL() << "a 4 TiB allocation succeeded";
  } catch (const parmap::gpu_error& e) {
    EXPECT_TRUE(contains(e.what(), "cudaErrorMemoryAllocation")) << e.what();
  }
  const std::vector<float> x(1000, 3.0F);
  parmap::report r;
  const auto y = parmap::map(parmap::ops::square, x, {.where = backend::gpu, .out_report = &r});
  EXPECT_EQ(y[999], 9.0F);
  EXPECT_EQ(r.used, backend::gpu);
}

}  // namespace
