// The built-in ops' CPU loops, precompiled once per instruction set
// (detail/cpu_isa.hpp; at -O3 with OpenMP SIMD and without FMA contraction)
// for every op and element type of the catalogue, so that they vectorise at
// the CPU's width whatever flags the caller compiles with.
#include "parmap/detail/cpu_catalogue.hpp"

#include <type_traits>

#include "cpu_kernels.hpp"

namespace parmap::detail {
namespace {

inline void catalogue_body(const op_call& c, const void* in, void* out, std::size_t b, std::size_t e,
                           failure& fail) {
  visit(c, [&]<class T, class Fn>(std::type_identity<T>, const Fn& f) {
    run_range(f, static_cast<const T*>(in), static_cast<T*>(out), b, e, fail);
  });
}

}  // namespace

void catalogue_chunk_baseline(const op_call& c, const void* in, void* out, std::size_t b, std::size_t e,
                              failure& fail) {
  catalogue_body(c, in, out, b, e, fail);
}
#if PARMAP_CPU_ISA_X86
PARMAP_CPU_TARGET_AVX2 void catalogue_chunk_avx2(const op_call& c, const void* in, void* out, std::size_t b,
                                                 std::size_t e, failure& fail) {
  catalogue_body(c, in, out, b, e, fail);
}
PARMAP_CPU_TARGET_AVX512 void catalogue_chunk_avx512(const op_call& c, const void* in, void* out, std::size_t b,
                                                     std::size_t e, failure& fail) {
  catalogue_body(c, in, out, b, e, fail);
}
#endif
#if PARMAP_CPU_AVX512_WIDE
PARMAP_CPU_TARGET_AVX512_WIDE void catalogue_chunk_avx512_wide(const op_call& c, const void* in, void* out,
                                                               std::size_t b, std::size_t e, failure& fail) {
  catalogue_body(c, in, out, b, e, fail);
}
#endif

void cpu_catalogue(const cpu_kernels& k, const op_call& c, const void* in, void* out, std::size_t first,
                   std::size_t last, int threads) {
  cpu_map([&](std::size_t b, std::size_t e, failure& fail) { catalogue_chunk(k, c, in, out, b, e, fail); },
          first, last, threads);
}

}  // namespace parmap::detail
