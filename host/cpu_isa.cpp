// Which instruction sets this build and CPU have, and each set's table of
// loops (detail/cpu_isa.hpp).
#include "parmap/detail/cpu_isa.hpp"

#include <string>

#include "cpu_kernels.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {
namespace {

constexpr unsigned bit(cpu_isa isa) noexcept { return 1U << static_cast<unsigned>(isa); }

unsigned detect() noexcept {
  unsigned s = bit(cpu_isa::baseline);
#if PARMAP_CPU_ISA_X86
  // __builtin_cpu_supports also checks that the OS saves the vector state.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
      __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt")) {
    s |= bit(cpu_isa::avx2);
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512cd")) {
      s |= bit(cpu_isa::avx512);
    }
  }
#endif
  return s;
}

std::string names_of(unsigned set) {
  std::string s;
  for (cpu_isa isa : all_cpu_isas) {
    if ((set & bit(isa)) == 0) continue;
    if (!s.empty()) s += ", ";
    s += to_string(isa);
  }
  return s;
}

constexpr cpu_kernels tables[] = {
    {cpu_isa::baseline, 128, "baseline", &catalogue_chunk_baseline, &program_chunk_baseline},
#if PARMAP_CPU_ISA_X86
    {cpu_isa::avx2, 256, "avx2", &catalogue_chunk_avx2, &program_chunk_avx2},
    {cpu_isa::avx512, 256, "avx512 (256-bit vectors)", &catalogue_chunk_avx512, &program_chunk_avx512},
#endif
#if PARMAP_CPU_AVX512_WIDE
    {cpu_isa::avx512, 512, "avx512 (512-bit vectors)", &catalogue_chunk_avx512_wide, &program_chunk_avx512_wide},
#endif
};

std::string widths_of(cpu_isa isa) {
  std::string s;
  for (const cpu_kernels& k : tables) {
    if (k.isa != isa) continue;
    if (!s.empty()) s += " or ";
    s += std::to_string(k.vector_bits);
  }
  return s;
}

}  // namespace

const char* to_string(cpu_isa isa) noexcept {
  switch (isa) {
    case cpu_isa::baseline: return "baseline";
    case cpu_isa::avx2: return "avx2";
    case cpu_isa::avx512: return "avx512";
  }
  return "?";
}

std::optional<cpu_isa> parse_cpu_isa(std::string_view s) noexcept {
  for (cpu_isa isa : all_cpu_isas) {
    if (s == to_string(isa)) return isa;
  }
  return std::nullopt;
}

unsigned supported_cpu_isas() noexcept {
  static const unsigned set = detect();
  return set;
}

bool cpu_supports(cpu_isa isa) noexcept { return (supported_cpu_isas() & bit(isa)) != 0; }

cpu_isa select_cpu_isa(std::optional<cpu_isa> asked, unsigned supported) {
  if (asked) {
    if ((supported & bit(*asked)) == 0) {
      throw config_error(std::string("parmap: PARMAP_CPU_ISA=") + to_string(*asked) + ": " +
                         (PARMAP_CPU_ISA_X86 ? "this CPU cannot run it" : "this build has no such loops (not x86-64)") +
                         " (it has: " + names_of(supported) + ")");
    }
    return *asked;
  }
  cpu_isa best = cpu_isa::baseline;
  for (cpu_isa isa : all_cpu_isas) {
    if ((supported & bit(isa)) != 0) best = isa;
  }
  return best;
}

std::span<const cpu_kernels> all_cpu_kernels() noexcept { return tables; }

unsigned default_vector_bits(cpu_isa isa, bool intel) noexcept {
  switch (isa) {
    case cpu_isa::baseline: return 128;
    case cpu_isa::avx2: return 256;
    case cpu_isa::avx512: return intel ? 512 : 256;
  }
  return 128;
}

bool cpu_is_intel() noexcept {
#if PARMAP_CPU_ISA_X86
  __builtin_cpu_init();
  return __builtin_cpu_is("intel");
#else
  return false;
#endif
}

const cpu_kernels& cpu_kernels_for(cpu_isa isa, unsigned vector_bits) {
  const cpu_isa chosen = select_cpu_isa(isa, supported_cpu_isas());
  const unsigned bits = vector_bits != 0 ? vector_bits : default_vector_bits(chosen, cpu_is_intel());
  const cpu_kernels* any = nullptr;
  for (const cpu_kernels& k : tables) {
    if (k.isa != chosen) continue;
    if (k.vector_bits == bits) return k;
    if (any == nullptr) any = &k;
  }
  // auto's width where this build lacks it (a Clang build: one AVX-512 table)
  if (vector_bits == 0 && any != nullptr) return *any;
  throw config_error("parmap: PARMAP_CPU_VECTOR_BITS=" + std::to_string(bits) + ": the " + to_string(chosen) +
                     " loops are built in " + widths_of(chosen) + "-bit vectors");
}

}  // namespace parmap::detail
