// The precompiled op catalogue: thrust::transform for every built-in op and
// element type. Compiled by nvcc for the GPU, and (through transform_omp.cpp)
// by g++ with THRUST_DEVICE_SYSTEM_OMP so tests run the same code everywhere.
#include <thrust/transform.h>

#include <type_traits>

#include "catalogue_kernel.hpp"
#include "parmap/detail/catalogue.hpp"
#include "parmap/detail/program.hpp"

#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#include <cuda_runtime_api.h>

#include <cuda/functional>  // cuda::proclaim_copyable_arguments

#include <thrust/system/cuda/execution_policy.h>
#define PARMAP_KERNEL_NS cuda
#else
#include <thrust/system/omp/execution_policy.h>
#define PARMAP_KERNEL_NS thrust_omp
#endif

namespace parmap::detail::PARMAP_KERNEL_NS {
namespace {

// A traced program as a Thrust functor: the whole program travels by value
// in the kernel's parameters; every thread runs the same instructions.
template <class T>
struct program_functor {
  program p;
  PARMAP_HOST_DEVICE T operator()(T x) const { return run_program<T, T>(p, x); }
};

template <class T, class Fn>
void transform(const void* in, void* out, std::size_t n, void* stream, const Fn& f) {
  const T* first = static_cast<const T*>(in);
  T* result = static_cast<T*>(out);
#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
  // The functors take their argument by value: saying so lets CUB's
  // transform use its fastest algorithm (bulk copies into shared memory on
  // sm_90, "ublkcp") instead of the one for address-dependent functors.
  const auto copyable = ::cuda::proclaim_copyable_arguments(f);
  static_assert(::cuda::proclaims_copyable_arguments<std::decay_t<decltype(copyable)>>::value);
  // par_nosync: the backend synchronises the stream once after the job.
  thrust::transform(thrust::cuda::par_nosync.on(static_cast<cudaStream_t>(stream)), first, first + n,
                    result, copyable);
#else
  (void)stream;
  thrust::transform(thrust::omp::par, first, first + n, result, f);
#endif
}

}  // namespace

void catalogue_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx) {
  const auto& call = *static_cast<const op_call*>(ctx);
  if (call.code == op_code::program) {  // the device path maps T to T only
    switch (call.type) {
#define PARMAP_Y(name, type, ...)                                                           \
  case dtype::name:                                                                         \
    transform<type>(in, out, n, stream, program_functor<type>{program_of(call)});           \
    return;
      PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
    }
    return;
  }
  visit(call, [&]<class T, class Fn>(std::type_identity<T>, const Fn& f) {
    transform<T>(in, out, n, stream, f);
  });
}

}  // namespace parmap::detail::PARMAP_KERNEL_NS
