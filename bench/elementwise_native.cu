// x*x + 2*x + 1 as a __host__ __device__ functor through parmap::device:
// the native form the traced program is measured against.
#include <span>

#include "elementwise_native.hpp"
#include "parmap/cuda.cuh"
#include "parmap/parmap.hpp"

namespace parmap::bench {
namespace {
struct poly {
  __host__ __device__ float operator()(float x) const { return x * x + 2 * x + 1; }
};
}  // namespace

bool native_available() { return true; }

void map_native_poly(const float* in, float* out, std::size_t n) {
  parmap::map(parmap::device(poly{}), std::span<const float>(in, n), std::span<float>(out, n),
              {.where = parmap::backend::gpu});
}

}  // namespace parmap::bench
