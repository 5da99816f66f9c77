// Each instruction set's loop functions (detail/cpu_isa.hpp): the built-in
// ops' (host/cpu_catalogue.cpp) and the program interpreter's
// (host/program_cpu.cpp), gathered into one table per set by host/cpu_isa.cpp.
#pragma once

#include <cstddef>

#include "parmap/detail/cpu_isa.hpp"

namespace parmap::detail {

#define PARMAP_CPU_KERNELS_OF(isa)                                                                     \
  void catalogue_chunk_##isa(const op_call& c, const void* in, void* out, std::size_t b, std::size_t e, \
                             failure& fail);                                                           \
  void program_chunk_##isa(const program& p, const void* in, void* out, std::size_t b, std::size_t e);
PARMAP_CPU_KERNELS_OF(baseline)
#if PARMAP_CPU_ISA_X86
PARMAP_CPU_KERNELS_OF(avx2)
PARMAP_CPU_KERNELS_OF(avx512)
#endif
#if PARMAP_CPU_AVX512_WIDE
PARMAP_CPU_KERNELS_OF(avx512_wide)
#endif
#undef PARMAP_CPU_KERNELS_OF

}  // namespace parmap::detail
