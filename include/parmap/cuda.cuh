// For nvcc callers: make your own __host__ __device__ functor GPU-capable.
// The Thrust transform is compiled in your translation unit; the dispatcher,
// staging and fallbacks are parmap's.
#pragma once

#if !defined(__CUDACC__)
#error "parmap/cuda.cuh is for nvcc; include parmap/parmap.hpp from host code"
#endif

#include <cuda_runtime_api.h>
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/transform.h>

#include <cstddef>
#include <utility>

#include "parmap.hpp"

namespace parmap {

/// @brief A user functor marked as a device op: runs as a Thrust transform on
/// the GPU, and as a plain call on the CPU path. Made by parmap::device.
template <class F>
struct device_fn {
  static constexpr bool parmap_device_op = true;
  F fn;

  template <class T>
  __host__ __device__ auto operator()(const T& x) const {
    return fn(x);
  }

  // Called by parmap with device pointers and the stream to use.
  template <class T, class U>
  void parmap_gpu_transform(const T* in, U* out, std::size_t n, void* stream) const {
    thrust::transform(thrust::cuda::par_nosync.on(static_cast<cudaStream_t>(stream)), in, in + n,
                      out, fn);
  }
};

/// @brief Marks a `__host__ __device__` functor (or extended lambda) as GPU-capable.
/// @code
/// struct poly { __host__ __device__ float operator()(float x) const { return 2 * x * x + 1; } };
/// auto y = parmap::map(parmap::device(poly{}), x);   // GPU when it pays, CPU otherwise
/// @endcode
template <class F>
device_fn<F> device(F f) {
  return {std::move(f)};
}

}  // namespace parmap
