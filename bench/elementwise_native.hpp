// The expression of parmap-elementwise-bench as a user's own functor compiled
// by nvcc through parmap::device (elementwise_native.cu, CUDA builds), the
// comparison for the traced program on the GPU.
#pragma once

#include <cstddef>

namespace parmap::bench {

// Whether this build has the native functor (CUDA builds).
bool native_available();
// parmap::map(parmap::device(x*x + 2*x + 1), in, out) on device-resident data.
void map_native_poly(const float* in, float* out, std::size_t n);

}  // namespace parmap::bench
