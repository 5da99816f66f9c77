// Host code is free of CUDA: this translation unit is compiled by the host
// compiler with no CUDA include path and includes only the umbrella header.
#include <parmap/parmap.hpp>

#if defined(__CUDACC__) || defined(__CUDA_RUNTIME_H__) || defined(CUDART_VERSION) || \
    defined(__CUDA_RUNTIME_API_H__) || defined(THRUST_VERSION)
#error "parmap/parmap.hpp pulled in a CUDA header"
#endif

#include <gtest/gtest.h>

#include <vector>

TEST(NvccIndependence, UmbrellaHeaderMapsWithoutCuda) {
  const std::vector<float> x = {1.0F, 2.0F, 3.0F};
  parmap::report r;
  const auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_EQ(y, (std::vector<float>{1.0F, 4.0F, 9.0F}));
  EXPECT_EQ(r.n, 3U);
}
