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
#include <span>
#include <string_view>

#include "catalogue.hpp"
#include "cpu_loop.hpp"
#include "program.hpp"

namespace parmap::detail {

// The sets, from the one every x86-64 (or aarch64) CPU has up.
//   baseline  x86-64 SSE2 (aarch64: NEON); the only one on other targets
//   avx2      AVX2, FMA, BMI1/2 and POPCNT (x86-64-v3's vector part)
//   avx512    AVX-512 F, BW, DQ, VL and CD (x86-64-v4): the instructions AVX2
//             lacks (vpmullq for int64, masked tails), built twice, in
//             256-bit and in 512-bit vectors (PARMAP_CPU_VECTOR_BITS). Each
//             CPU maker's cores ran faster at one width: on Intel 512-bit
//             (square in cache at 0.81-1.00 x a parallel memcpy against
//             0.64-1.01 x, from memory the same within the spread; 2-core
//             Xeon VM, bench/compare_vector_bits.py), on AMD 256-bit (512-bit
//             streamed 5-15 % slower on a Zen 4 VM, in cache no faster), so
//             auto takes 512 on Intel CPUs and 256 on others.
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
  unsigned vector_bits = 128;  // the loops' vector width: 128, 256 or 512
  const char* name = "baseline";  // for the report: "avx2", "avx512 (512-bit vectors)"
  // A built-in op (not a program).
  void (*catalogue)(const op_call& c, const void* in, void* out, std::size_t b, std::size_t e,
                    failure& fail) = nullptr;
  // A traced program; in has p.in's type, out p.out's.
  void (*program)(const program& p, const void* in, void* out, std::size_t b, std::size_t e) = nullptr;
};

// Every table of this build (baseline first), whether or not this CPU runs it.
std::span<const cpu_kernels> all_cpu_kernels() noexcept;
// The width auto takes for isa: avx512's 512 on an Intel CPU (`intel`), 256
// on others; the only width of baseline (128) and avx2 (256).
unsigned default_vector_bits(cpu_isa isa, bool intel) noexcept;
// Whether this CPU is an Intel one (cpuid's vendor; false off x86-64).
bool cpu_is_intel() noexcept;

// The loops of isa in vectors of vector_bits (0: default_vector_bits for this
// CPU); config_error when cpu_supports(isa) is false, or when the set has no
// such width (PARMAP_CPU_VECTOR_BITS names it).
const cpu_kernels& cpu_kernels_for(cpu_isa isa, unsigned vector_bits = 0);
// The loops maps run: PARMAP_CPU_ISA's set (auto: the widest) at
// PARMAP_CPU_VECTOR_BITS's width (auto: default_vector_bits), as the kept
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
// PARMAP_CPU_TARGET_AVX512_WIDE: the AVX-512 loops in 512-bit vectors
// (PARMAP_CPU_TARGET_AVX512: 256-bit ones), built where the compiler takes a
// vector width per function (GCC's prefer-vector-width;
// PARMAP_CPU_AVX512_WIDE is 1 then). Clang keeps its own tuning: its builds
// have one AVX-512 table.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PARMAP_CPU_ISA_X86 1
#define PARMAP_CPU_AVX512_FEATURES "avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx2,fma,bmi,bmi2,popcnt"
#define PARMAP_CPU_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt"), flatten))
#if defined(__clang__)
#define PARMAP_CPU_AVX512_WIDE 0
#define PARMAP_CPU_TARGET_AVX512 __attribute__((target(PARMAP_CPU_AVX512_FEATURES), flatten))
#else
#define PARMAP_CPU_AVX512_WIDE 1
#define PARMAP_CPU_TARGET_AVX512 \
  __attribute__((target(PARMAP_CPU_AVX512_FEATURES ",prefer-vector-width=256"), flatten))
#define PARMAP_CPU_TARGET_AVX512_WIDE \
  __attribute__((target(PARMAP_CPU_AVX512_FEATURES ",prefer-vector-width=512"), flatten))
#endif
#else
#define PARMAP_CPU_ISA_X86 0
#define PARMAP_CPU_AVX512_WIDE 0
#endif
