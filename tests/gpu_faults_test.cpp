// Injected faults on a real GPU (label gpu; skipped without one), through a
// fault_injector over the CUDA backend: the checks of tests/support/
// fault_checks.cpp that the simulated GPU also runs, plus the device memory
// in use (the stream-ordered pool's count, and cudaMemGetInfo after trimming
// the pool) before and after. Also a real failure: an allocation larger than
// the GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "parmap/parmap.hpp"
#include "support/fault_checks.hpp"
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

// The same checks as SimPipeline.InjectedFaults* on the simulated GPU, plus
// the CUDA runtime's own accounting of device memory.
TEST(GpuFaults, InjectedFaultsFallBackOrThrowAndLeakNothing) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  parmap::test::fault_injector faults(parmap::detail::current_device_backend());
  const parmap::test::use_backend use(faults);
  (void)parmap::map(parmap::ops::square, std::vector<float>(4), {.where = backend::gpu});  // CUDA started
  parmap::release_cached_memory();
  const device_memory before = measure();
  parmap::test::check_injected_faults(faults, (std::size_t{1} << 22) + 3);
  const device_memory after = measure();
  EXPECT_EQ(after.pool_used, before.pool_used) << "device memory still allocated from the pool";
  // cudaMemGetInfo also sees other processes; allow them 64 MiB of movement.
  EXPECT_GE(after.free_bytes + (std::size_t{64} << 20), before.free_bytes);
}

// Faults after several chunks of the pipeline went through (2^26 floats: 8
// chunks of 32 MiB), as SimPipeline.FaultsInTheMiddle.
TEST(GpuFaults, FaultsInTheMiddleOfThePipeline) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  parmap::test::fault_injector faults(parmap::detail::current_device_backend());
  const parmap::test::use_backend use(faults);
  (void)parmap::map(parmap::ops::square, std::vector<float>(4), {.where = backend::gpu});
  parmap::release_cached_memory();
  const device_memory before = measure();
  parmap::test::check_faults_mid_pipeline(faults, std::size_t{1} << 26);
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
