// Run by ctest in a fresh process with a stand-in libcuda.so.1 on
// LD_LIBRARY_PATH (support/fake_libcuda.c), which marks a file when it is
// loaded: host work (plain and blocking callables, parallel(), small maps of
// device ops) must not load the CUDA driver; asking for the GPU does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "parmap/parmap.hpp"

namespace {

TEST(CudaStart, HostWorkDoesNotLoadTheDriver) {
  const char* mark = std::getenv("PARMAP_FAKE_LIBCUDA_MARK");
  if (mark == nullptr) GTEST_SKIP() << "run by ctest with the stand-in driver";
  std::filesystem::remove(mark);
  const std::vector<double> x(4, 2.0);
  EXPECT_EQ(parmap::map([](double v) { return v + 1; }, x)[3], 3.0);
  EXPECT_EQ(parmap::map(parmap::blocking([](double v) { return v * 3; }), x)[3], 6.0);
  EXPECT_EQ(parmap::map(parmap::ops::square, x)[3], 4.0);
  std::vector<parmap::task<int>> tasks;
  tasks.push_back(parmap::delayed([](int a) { return a + 1; }, 41));
  EXPECT_EQ(parmap::parallel(std::move(tasks))[0], 42);
  EXPECT_FALSE(std::filesystem::exists(mark)) << "host work loaded the CUDA driver";

  // Asking for the GPU loads it (so the check above can fail); this one has no driver in it.
  EXPECT_FALSE(parmap::gpu_available());
  EXPECT_TRUE(std::filesystem::exists(mark)) << "the probe did not load libcuda.so.1 from LD_LIBRARY_PATH";
  std::filesystem::remove(mark);
}

}  // namespace
