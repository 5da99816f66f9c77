// The op catalogue as a device kernel: one Thrust transform per (op, element
// type) in transform.cu, and per element type for a traced program in
// program_transform*.cu; compiled by nvcc for CUDA and by g++ for Thrust's
// OpenMP device system (the *_omp.cpp files), from the same source.
#pragma once

#include <cstddef>

namespace parmap::detail {
namespace cuda {
// ctx: const op_call*; stream: cudaStream_t. A program goes on to program_kernel.
void catalogue_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx);
// ctx: const op_call* whose code is op_code::program.
void program_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx);
}  // namespace cuda
namespace thrust_omp {
// ctx: const op_call*; stream unused. A program goes on to program_kernel.
void catalogue_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx);
// ctx: const op_call* whose code is op_code::program.
void program_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx);
}  // namespace thrust_omp
}  // namespace parmap::detail
