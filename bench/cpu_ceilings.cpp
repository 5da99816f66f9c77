// The benchmarks' CPU ceilings (cpu_ceilings.hpp): each loop once per
// instruction set, as the library builds its own (host/cpu_catalogue.cpp).
#include "cpu_ceilings.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "parmap/detail/cpu_loop.hpp"

namespace parmap::bench {
namespace {

using detail::cpu_isa;
using detail::op_call;
using detail::op_code;

// Runs body(b, e) on every thread's static share of [0, n).
template <class Body>
void on_all_cores(std::size_t n, const Body& body) {
#if defined(_OPENMP)
#pragma omp parallel
  {
    const auto [b, e] = detail::static_chunk(n, omp_get_thread_num(), omp_get_num_threads());
    body(b, e);
  }
#else
  body(std::size_t{0}, n);
#endif
}

inline void copy_body(const unsigned char* x, unsigned char* y, std::size_t b, std::size_t e) {
#pragma omp simd
  for (std::size_t i = b; i < e; ++i) y[i] = x[i];
}

inline void hand_body(const op_call& c, const void* x, void* y, std::size_t b, std::size_t e) {
  detail::visit(c, [&]<class T, class Fn>(std::type_identity<T>, const Fn& f) {
    constexpr op_code code = Fn::parmap_op;
    if constexpr (code == op_code::square || code == op_code::affine || code == op_code::exp ||
                  code == op_code::sqrt) {
      const T* px = static_cast<const T*>(x);
      T* py = static_cast<T*>(y);
#pragma omp simd
      for (std::size_t i = b; i < e; ++i) py[i] = f(px[i]);
    }
  });
}

void copy_baseline(const unsigned char* x, unsigned char* y, std::size_t b, std::size_t e) { copy_body(x, y, b, e); }
void hand_baseline(const op_call& c, const void* x, void* y, std::size_t b, std::size_t e) { hand_body(c, x, y, b, e); }
#if PARMAP_CPU_ISA_X86
PARMAP_CPU_TARGET_AVX2 void copy_avx2(const unsigned char* x, unsigned char* y, std::size_t b, std::size_t e) {
  copy_body(x, y, b, e);
}
PARMAP_CPU_TARGET_AVX2 void hand_avx2(const op_call& c, const void* x, void* y, std::size_t b, std::size_t e) {
  hand_body(c, x, y, b, e);
}
PARMAP_CPU_TARGET_AVX512 void copy_avx512(const unsigned char* x, unsigned char* y, std::size_t b, std::size_t e) {
  copy_body(x, y, b, e);
}
PARMAP_CPU_TARGET_AVX512 void hand_avx512(const op_call& c, const void* x, void* y, std::size_t b, std::size_t e) {
  hand_body(c, x, y, b, e);
}
#endif
#if PARMAP_CPU_AVX512_WIDE
PARMAP_CPU_TARGET_AVX512_WIDE void copy_avx512_wide(const unsigned char* x, unsigned char* y, std::size_t b,
                                                    std::size_t e) {
  copy_body(x, y, b, e);
}
PARMAP_CPU_TARGET_AVX512_WIDE void hand_avx512_wide(const op_call& c, const void* x, void* y, std::size_t b,
                                                    std::size_t e) {
  hand_body(c, x, y, b, e);
}
#endif

using copy_fn = void (*)(const unsigned char*, unsigned char*, std::size_t, std::size_t);
using hand_fn = void (*)(const op_call&, const void*, void*, std::size_t, std::size_t);

// The loops of the set and width of `loops`, a table of this CPU's.
copy_fn copy_for(const detail::cpu_kernels& loops) {
#if PARMAP_CPU_AVX512_WIDE
  if (loops.isa == cpu_isa::avx512 && loops.vector_bits == 512) return &copy_avx512_wide;
#endif
#if PARMAP_CPU_ISA_X86
  if (loops.isa == cpu_isa::avx512) return &copy_avx512;
  if (loops.isa == cpu_isa::avx2) return &copy_avx2;
#endif
  (void)loops;
  return &copy_baseline;
}

hand_fn hand_for(const detail::cpu_kernels& loops) {
#if PARMAP_CPU_AVX512_WIDE
  if (loops.isa == cpu_isa::avx512 && loops.vector_bits == 512) return &hand_avx512_wide;
#endif
#if PARMAP_CPU_ISA_X86
  if (loops.isa == cpu_isa::avx512) return &hand_avx512;
  if (loops.isa == cpu_isa::avx2) return &hand_avx2;
#endif
  (void)loops;
  return &hand_baseline;
}

// Thread shares of whole cache lines, so that no two threads write one line.
template <class Copy>
void copy_lines(std::size_t bytes, const Copy& copy) {
  constexpr std::size_t line = 64;
  on_all_cores((bytes + line - 1) / line, [&](std::size_t b, std::size_t e) {
    if (b * line < bytes) copy(b * line, std::min(bytes, e * line));
  });
}

}  // namespace

void parallel_memcpy(const void* x, void* y, std::size_t bytes) {
  const auto* px = static_cast<const unsigned char*>(x);
  auto* py = static_cast<unsigned char*>(y);
  copy_lines(bytes, [&](std::size_t b, std::size_t e) { std::memcpy(py + b, px + b, e - b); });
}

void parallel_copy_loop(const detail::cpu_kernels& loops, const void* x, void* y, std::size_t bytes) {
  const copy_fn copy = copy_for(loops);
  const auto* px = static_cast<const unsigned char*>(x);
  auto* py = static_cast<unsigned char*>(y);
  copy_lines(bytes, [&](std::size_t b, std::size_t e) { copy(px, py, b, e); });
}

void hand_loop(const detail::cpu_kernels& loops, const op_call& c, const void* x, void* y, std::size_t n) {
  if (c.code != op_code::square && c.code != op_code::affine && c.code != op_code::exp && c.code != op_code::sqrt) {
    throw std::invalid_argument("hand_loop: only square, affine, exp and sqrt are written out");
  }
  const hand_fn hand = hand_for(loops);
  on_all_cores(n, [&](std::size_t b, std::size_t e) { hand(c, x, y, b, e); });
}

}  // namespace parmap::bench
