// The instruction sets of the precompiled CPU loops (the built-in ops' and the
// program interpreter's), chosen when the PARMAP_* environment is read, as
// NumPy and glibc choose theirs: each loop is compiled once per instruction set
// in the same translation unit (a function with a `target` attribute that
// inlines its whole body, PARMAP_CPU_TARGET_*), and a table of function
// pointers per set is picked from what the CPU has (host/cpu_isa.cpp). A
// wheel built for baseline x86-64 so runs AVX2 or AVX-512 loops where the CPU
// has them. Every set computes bit for bit what the baseline loops compute:
// no FMA contraction (-ffp-contract=off), libm's own transcendental functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "catalogue.hpp"
#include "cpu_loop.hpp"
#include "program.hpp"

namespace parmap::detail {

// The sets, from the one every x86-64 (or aarch64) CPU has up.
//   baseline  x86-64 SSE2 (aarch64: NEON); the only one on other targets
//   avx2      AVX2, FMA, BMI1/2 and POPCNT (x86-64-v3's vector part)
//   avx512    AVX-512 F, BW, DQ, VL and CD (x86-64-v4) in 256-bit vectors, as
//             GCC and LLVM tune for AVX-512 CPUs: the instructions AVX2
//             lacks (vpmullq for int64, masked tails) without 512-bit
//             vectors, which streamed from memory ran 5-15 % slower than
//             256-bit ones (2-core AMD EPYC VM, Zen 4) and in cache no faster
//             (the program interpreter's: 512-bit, PARMAP_CPU_TARGET_AVX512_WIDE)
enum class cpu_isa : unsigned char { baseline, avx2, avx512 };
inline constexpr cpu_isa all_cpu_isas[] = {cpu_isa::baseline, cpu_isa::avx2, cpu_isa::avx512};

// "baseline", "avx2", "avx512": the names of PARMAP_CPU_ISA and the report.
const char* to_string(cpu_isa isa) noexcept;
// The set named s (one of the names above), or nullopt.
std::optional<cpu_isa> parse_cpu_isa(std::string_view s) noexcept;

// Whether this build has loops for isa (x86-64 builds with GCC or Clang have
// all three) and this CPU and OS can run them.
bool cpu_supports(cpu_isa isa) noexcept;
// The sets of this build and CPU, one bit per cpu_isa value.
unsigned supported_cpu_isas() noexcept;
// PARMAP_CPU_ISA's rule: `asked` (nullopt: auto) when it is among `supported`
// (bit per cpu_isa), else config_error naming the variable, the set and what
// the CPU has; auto takes the widest supported set.
cpu_isa select_cpu_isa(std::optional<cpu_isa> asked, unsigned supported);

// One set's loops: out[i] = op(in[i]) for i in [b, e), on the calling thread.
struct cpu_kernels {
  cpu_isa isa = cpu_isa::baseline;
  // A built-in op (not a program).
  void (*catalogue)(const op_call& c, const void* in, void* out, std::size_t b, std::size_t e,
                    failure& fail) = nullptr;
  // A traced program; in has p.in's type, out p.out's.
  void (*program)(const program& p, const void* in, void* out, std::size_t b, std::size_t e) = nullptr;
};

// The loops of isa; config_error when cpu_supports(isa) is false.
const cpu_kernels& cpu_kernels_for(cpu_isa isa);
// The loops maps run: PARMAP_CPU_ISA's set (auto: the widest), as the kept
// PARMAP_* reading has it (host/context.cpp). Throws config_error while a
// PARMAP_* value is bad.
const cpu_kernels& active_cpu_kernels();

}  // namespace parmap::detail

// The function attributes that compile one loop function for a set. `flatten`
// inlines everything the function calls (the op, the loop, the interpreter's
// instructions) into it, so that all of it is built for the set and no inline
// function shared with other code is ever compiled for it. Only the feature
// list is changed, not arch= or tune=: GCC inlines only callees with the same
// arch and tuning. Functions left out of line (libm's, the C++ runtime's)
// stay baseline and are safe to call.
//
// PARMAP_CPU_TARGET_AVX512_WIDE: the program interpreter's AVX-512 loops, in
// 512-bit vectors: each of its passes over a block runs in L1, where a pass
// costs its instructions, not the memory's time, so half as many pay.
// Interleaved in one process on the 2-core Intel Xeon VM (x*x + 2*x + 1, f32,
// 2 threads), 512-bit ran at 0.63-0.76 x a parallel memcpy at 2^20-2^24 where
// 256-bit ran at 0.44-0.56, 1.3-1.5 x as fast in three runs
// (bench/results/cpu-intel-2core-2026-12-05-interpreter-512.txt; GCC; Clang
// keeps its own tuning).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PARMAP_CPU_ISA_X86 1
#define PARMAP_CPU_AVX512_FEATURES "avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx2,fma,bmi,bmi2,popcnt"
#define PARMAP_CPU_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt"), flatten))
#if defined(__clang__)
#define PARMAP_CPU_TARGET_AVX512 __attribute__((target(PARMAP_CPU_AVX512_FEATURES), flatten))
#define PARMAP_CPU_TARGET_AVX512_WIDE PARMAP_CPU_TARGET_AVX512
#else
#define PARMAP_CPU_TARGET_AVX512 \
  __attribute__((target(PARMAP_CPU_AVX512_FEATURES ",prefer-vector-width=256"), flatten))
#define PARMAP_CPU_TARGET_AVX512_WIDE \
  __attribute__((target(PARMAP_CPU_AVX512_FEATURES ",prefer-vector-width=512"), flatten))
#endif
#else
#define PARMAP_CPU_ISA_X86 0
#endif
