// A traced program (parmap::elementwise) as one Thrust transform per element
// type, run as an accumulator machine (detail/program_gpu.hpp). The floating
// types' kernels are built in program_transform.cu, the integer types' in
// program_transform_int.cu, so that nvcc (or g++, for Thrust's OpenMP system:
// the *_omp.cpp files) compiles the two halves side by side.
#pragma once

#include <cstdint>

#include "parmap/detail/program.hpp"
#include "parmap/detail/program_gpu.hpp"
#include "thrust_transform.hpp"

#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#include "cuda_check.hpp"
#endif

namespace parmap::detail::PARMAP_KERNEL_NS {

// A traced program as Thrust functors, run as an accumulator machine
// (detail/program_gpu.hpp): every thread runs the same steps, read through a
// pointer to one copy of the program in the device's memory (the host's on
// Thrust's OpenMP system). Not the program by value: a functor is a kernel
// parameter, and indexing into a parameter makes each thread copy all of it
// to its local memory first (0.04 x the device-to-device copy on an H200,
// f32 2^28). Each call of program_lanes runs the program on four elements,
// so that a step is decoded once for all of them; program_functor maps what
// is left, one by one.
template <class T>
struct alignas(sizeof(T) * 4) lanes4 {
  T v[4];
};

template <class T, class Types>
struct program_functor {
  const gpu_program* g;
  PARMAP_HOST_DEVICE T operator()(T x) const {
    T y;
    run_gpu_program<T, 1, Types>(*g, &x, &y);
    return y;
  }
};

template <class T, class Types>
struct program_lanes {
  const gpu_program* g;
  PARMAP_HOST_DEVICE lanes4<T> operator()(lanes4<T> x) const {
    lanes4<T> y;
    run_gpu_program<T, 4, Types>(*g, x.v, y.v);
    return y;
  }
};

// In groups of four where both arrays are aligned for them, the rest (and
// all of a misaligned call) one by one.
template <class T, class Types>
void transform_lanes(const void* in, void* out, std::size_t n, void* stream, const gpu_program* p) {
  constexpr std::size_t align = alignof(lanes4<T>);
  const bool aligned = (reinterpret_cast<std::uintptr_t>(in) | reinterpret_cast<std::uintptr_t>(out)) % align == 0;
  const std::size_t grouped = aligned ? n / 4 * 4 : 0;
  if (grouped != 0) transform<lanes4<T>>(in, out, grouped / 4, stream, program_lanes<T, Types>{p});
  if (grouped != n) {
    transform<T>(static_cast<const T*>(in) + grouped, static_cast<T*>(out) + grouped, n - grouped, stream,
                 program_functor<T, Types>{p});
  }
}

// steps (on the host) describe the program at p (where the kernels read it):
// a narrow program runs in the kernels built for T and bool alone, which
// need fewer registers than those for every type.
template <class T>
void transform_steps(const void* in, void* out, std::size_t n, void* stream, const gpu_program& steps,
                     const gpu_program* p) {
  if (steps.narrow) {
    transform_lanes<T, only_type<T>>(in, out, n, stream, p);
  } else {
    transform_lanes<T, all_types>(in, out, n, stream, p);
  }
}

#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
// The program's steps in device memory for the kernels of one call on
// `stream` (one per chunk of host data): allocated, filled and freed in the
// stream's order (the copy from the caller's pageable memory is staged
// before cudaMemcpyAsync returns). A failure is a gpu_error, as the
// backend's own.
template <class T>
void transform_program(const void* in, void* out, std::size_t n, void* stream, const program& code) {
  const gpu_program steps = make_gpu_program(code);
  const auto s = static_cast<cudaStream_t>(stream);
  void* d = nullptr;
  check_cuda(cudaMallocAsync(&d, sizeof(gpu_program), s), "program upload (cudaMallocAsync)");
  struct release {
    void* d;
    cudaStream_t s;
    ~release() { (void)cudaFreeAsync(d, s); }
  } on_exit{d, s};
  check_cuda(cudaMemcpyAsync(d, &steps, sizeof(gpu_program), cudaMemcpyHostToDevice, s),
             "program upload (cudaMemcpyAsync)");
  transform_steps<T>(in, out, n, stream, steps, static_cast<const gpu_program*>(d));
}
#else
template <class T>
void transform_program(const void* in, void* out, std::size_t n, void* stream, const program& code) {
  const gpu_program steps = make_gpu_program(code);
  transform_steps<T>(in, out, n, stream, steps, &steps);
}
#endif

// Built in program_transform_int.cu.
extern template void transform_program<std::int32_t>(const void*, void*, std::size_t, void*, const program&);
extern template void transform_program<std::int64_t>(const void*, void*, std::size_t, void*, const program&);

}  // namespace parmap::detail::PARMAP_KERNEL_NS
