// The op catalogue as a device kernel: one Thrust transform per (op, element
// type), compiled by nvcc for CUDA (transform.cu) and by g++ for Thrust's
// OpenMP device system (transform_omp.cpp), from the same source.
#pragma once

#include <cstddef>

namespace parmap::detail {
namespace cuda {
// ctx: const op_call*; stream: cudaStream_t.
void catalogue_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx);
}  // namespace cuda
namespace thrust_omp {
// ctx: const op_call*; stream unused.
void catalogue_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx);
}  // namespace thrust_omp
}  // namespace parmap::detail
