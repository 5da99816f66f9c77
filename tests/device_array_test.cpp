// device_array: upload, download, moves, size checks, on the simulated GPU
// (every machine) and on a real one (Gpu*, skipped without one).
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

void exercise_device_array() {
  std::vector<double> host(3001);
  std::iota(host.begin(), host.end(), -1500.0);
  parmap::device_array<double> d(host);
  EXPECT_EQ(d.size(), host.size());
  EXPECT_EQ(d.to_vector(), host);

  parmap::report r;
  parmap::map_inplace(parmap::ops::affine(2.0, 1.0), d.span(), {.out_report = &r});
  EXPECT_EQ(r.used, parmap::backend::gpu) << r.reason;
  const auto back = d.to_vector();
  for (std::size_t i = 0; i < host.size(); ++i) ASSERT_EQ(back[i], host[i] * 2.0 + 1.0) << i;

  // Device to device, out of place.
  parmap::device_array<double> e(host.size());
  parmap::map(parmap::ops::negate, std::span<const double>(d.span()), e.span());
  EXPECT_EQ(e.to_vector()[0], -(host[0] * 2.0 + 1.0));

  // Moves leave the source empty.
  parmap::device_array<double> moved = std::move(d);
  EXPECT_EQ(moved.size(), host.size());
  EXPECT_TRUE(d.empty());  // NOLINT(bugprone-use-after-move): documented state
  std::vector<double> wrong(5);
  EXPECT_THROW(moved.download(wrong), std::invalid_argument);
  EXPECT_THROW(moved.upload(wrong), std::invalid_argument);

  parmap::device_array<float> empty(0);
  EXPECT_TRUE(empty.to_vector().empty());
}

#if defined(PARMAP_TEST_SIM)
TEST(DeviceArray, WorksOnTheSimulatedGpu) {
  parmap::test::sim_backend sim;
  {
    parmap::test::use_backend use(sim);
    exercise_device_array();
  }
  EXPECT_EQ(sim.live_allocations(), 0U) << "device memory leaked";
}
#endif

TEST(GpuDeviceArray, WorksOnTheGpu) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  exercise_device_array();
}

TEST(GpuProbe, DescribesTheGpu) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  EXPECT_NE(parmap::gpu_description().find(", cc "), std::string::npos) << parmap::gpu_description();
}

TEST(GpuDispatch, ForcedAndAutomaticOnTheGpu) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  std::vector<float> x(1 << 20);
  std::iota(x.begin(), x.end(), 0.0F);
  parmap::report r;
  const auto y = parmap::map(parmap::ops::sqrt, x, {.where = parmap::backend::gpu, .out_report = &r});
  EXPECT_EQ(r.used, parmap::backend::gpu);
  EXPECT_EQ(y[1024], 32.0F);
  // A callable without a GPU implementation is refused when the GPU is forced.
  EXPECT_THROW((void)parmap::map([](float v) { return v; }, x, {.where = parmap::backend::gpu}),
               parmap::backend_unavailable);
}

}  // namespace
