// The benchmarks' CPU ceilings, built with the library's instruction-set
// dispatch (parmap/detail/cpu_isa.hpp), so that parmap's precompiled loops are
// measured against loops at the same vector width:
//   parallel_copy  every thread copies its static share of the bytes, once by
//                  glibc's memcpy and once by a copy loop built for the set
//                  (some CPUs' memcpy is many times slower than a loop for
//                  some buffer offsets: the bound is the faster of the two)
//   hand_loop      `y[i] = op(x[i])` for each thread's static share, written
//                  out by hand for square, affine, exp and sqrt
#pragma once

#include <cstddef>

#include "parmap/detail/catalogue.hpp"
#include "parmap/detail/cpu_isa.hpp"

namespace parmap::bench {

// One all-core copy of `bytes` from x to y, by memcpy.
void parallel_memcpy(const void* x, void* y, std::size_t bytes);
// One all-core copy of `bytes` from x to y, by a loop built for the set and
// vector width of `loops` (detail::active_cpu_kernels(): parmap's own).
void parallel_copy_loop(const detail::cpu_kernels& loops, const void* x, void* y, std::size_t bytes);
// y[i] = op(x[i]) for i < n on all cores, by a loop built for the set and
// width of `loops`; c is square, affine, exp or sqrt (std::invalid_argument
// otherwise).
void hand_loop(const detail::cpu_kernels& loops, const detail::op_call& c, const void* x, void* y, std::size_t n);

}  // namespace parmap::bench
