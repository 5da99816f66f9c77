// A user's own __host__ __device__ functor, made GPU-capable with
// parmap::device (parmap/cuda.cuh, nvcc only), on a real GPU.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "parmap/cuda.cuh"
#include "support/reference.hpp"

namespace {

// Extended lambdas may not live in a test body (a private member function).
void add_half_on_device(parmap::device_array<float>& d) {
  parmap::map_inplace(parmap::device([] __host__ __device__(float v) { return v + 0.5F; }), d.span());
}

struct poly {
  float a;
  __host__ __device__ float operator()(float x) const { return a * x * x + 1.0F; }
};

TEST(GpuUserDeviceOp, RunsOnTheGpuInTheCallersTranslationUnit) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  std::vector<float> x(100003);
  std::iota(x.begin(), x.end(), 0.0F);
  const auto f = parmap::device(poly{2.0F});
  static_assert(parmap::is_device_op_v<decltype(f)>);
  parmap::report r;
  const auto y = parmap::map(f, x, {.where = parmap::backend::gpu, .out_report = &r});
  EXPECT_EQ(r.used, parmap::backend::gpu) << r.reason;
  // nvcc contracts a * x * x + 1 into an FMA in this translation unit (its
  // default --fmad=true), so the GPU may round once where the host rounds twice.
  std::vector<float> ref(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) ref[i] = poly{2.0F}(x[i]);
  EXPECT_TRUE(parmap::test::elements_match<float>(ref, y, false, 2));

}

TEST(GpuUserDeviceOp, MapsDeviceResidentData) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  std::vector<float> x(4099);
  std::iota(x.begin(), x.end(), 0.0F);
  parmap::device_array<float> d(x);
  parmap::report r;
  parmap::map_inplace(parmap::device(poly{1.0F}), d.span(), {.out_report = &r});
  EXPECT_EQ(r.used, parmap::backend::gpu) << r.reason;
  EXPECT_EQ(d.to_vector()[10], 101.0F);
}

TEST(GpuUserDeviceOp, MapsWithAnExtendedLambda) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  std::vector<float> x(4099);
  std::iota(x.begin(), x.end(), 0.0F);
  parmap::device_array<float> d(x);
  add_half_on_device(d);
  EXPECT_EQ(d.to_vector()[10], 10.5F);
}

TEST(GpuUserDeviceOp, FallsBackToTheCpuWithoutAGpu) {
  if (parmap::gpu_available()) GTEST_SKIP() << "a GPU is present";
  const auto y = parmap::map(parmap::device(poly{1.0F}), std::vector<float>{1.0F, 2.0F});
  EXPECT_EQ(y, (std::vector<float>{2.0F, 5.0F}));
}

}  // namespace
