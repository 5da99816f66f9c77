// What the catalogue's kernels (transform.cu) and the program's
// (program_transform.cu) share: the Thrust system they are built for, named
// by PARMAP_KERNEL_NS (cuda under nvcc, thrust_omp under g++ with
// THRUST_DEVICE_SYSTEM_OMP), and one element-wise thrust::transform on a
// stream. Two files, so that nvcc compiles them side by side.
#pragma once

#include <thrust/transform.h>

#include <cstddef>

#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#include <cuda_runtime_api.h>

#include <thrust/system/cuda/execution_policy.h>
#define PARMAP_KERNEL_NS cuda
#else
#include <thrust/system/omp/execution_policy.h>
#define PARMAP_KERNEL_NS thrust_omp
#endif

namespace parmap::detail::PARMAP_KERNEL_NS {

// out[i] = f(in[i]) for n elements of T on `stream` (a cudaStream_t; unused on
// Thrust's OpenMP system).
template <class T, class Fn>
void transform(const void* in, void* out, std::size_t n, void* stream, const Fn& f) {
  const T* first = static_cast<const T*>(in);
  T* result = static_cast<T*>(out);
#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
  // Not through cuda::proclaim_copyable_arguments: with it, CUB 3.0 (CUDA
  // 13.0) picks its bulk-copy algorithm on sm_90, and square f32 at 2^28 ran
  // at 0.51 x the device-to-device copy on an H200 (2026-12-04), against
  // 0.98 x without it (2026-11-26, and the native device(f) functor in the
  // same run as the 0.51: 0.96 x).
  // par_nosync: the backend synchronises the stream once after the job.
  thrust::transform(thrust::cuda::par_nosync.on(static_cast<cudaStream_t>(stream)), first, first + n,
                    result, f);
#else
  (void)stream;
  thrust::transform(thrust::omp::par, first, first + n, result, f);
#endif
}

}  // namespace parmap::detail::PARMAP_KERNEL_NS
