// The CPU loops' instruction sets (parmap/detail/cpu_isa.hpp): PARMAP_CPU_ISA's
// rule for any CPU (synthetic feature sets), what this CPU runs, and that the
// report and PARMAP_VERBOSE name it. That every set computes what the baseline
// loops compute is property_test.cpp's and elementwise_property_test.cpp's.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "parmap/detail/cpu_isa.hpp"
#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::detail::cpu_isa;
using parmap::detail::select_cpu_isa;

constexpr unsigned bit(cpu_isa isa) { return 1U << static_cast<unsigned>(isa); }
constexpr unsigned all_three = bit(cpu_isa::baseline) | bit(cpu_isa::avx2) | bit(cpu_isa::avx512);

TEST(CpuIsa, NamesRoundTrip) {
  for (const cpu_isa isa : parmap::detail::all_cpu_isas) {
    EXPECT_EQ(parmap::detail::parse_cpu_isa(to_string(isa)), isa);
  }
  EXPECT_EQ(std::string(to_string(cpu_isa::avx512)), "avx512");
  EXPECT_FALSE(parmap::detail::parse_cpu_isa("sse9"));
  EXPECT_FALSE(parmap::detail::parse_cpu_isa("AVX2"));
  EXPECT_FALSE(parmap::detail::parse_cpu_isa(""));
}

TEST(CpuIsa, AutoTakesTheWidestSetAndAForcedOneMustBeThere) {
  EXPECT_EQ(select_cpu_isa(std::nullopt, bit(cpu_isa::baseline)), cpu_isa::baseline);
  EXPECT_EQ(select_cpu_isa(std::nullopt, bit(cpu_isa::baseline) | bit(cpu_isa::avx2)), cpu_isa::avx2);
  EXPECT_EQ(select_cpu_isa(std::nullopt, all_three), cpu_isa::avx512);
  EXPECT_EQ(select_cpu_isa(cpu_isa::baseline, all_three), cpu_isa::baseline);
  EXPECT_EQ(select_cpu_isa(cpu_isa::avx2, all_three), cpu_isa::avx2);
  try {
    (void)select_cpu_isa(cpu_isa::avx512, bit(cpu_isa::baseline) | bit(cpu_isa::avx2));
    FAIL() << "no config_error";
  } catch (const parmap::config_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("PARMAP_CPU_ISA=avx512"), std::string::npos) << m;
    EXPECT_NE(m.find("baseline, avx2"), std::string::npos) << m;
  }
  EXPECT_THROW((void)select_cpu_isa(cpu_isa::avx2, bit(cpu_isa::baseline)), parmap::config_error);
}

TEST(CpuIsa, ThisCpuRunsBaselineAndByDefaultItsWidestSet) {
  const parmap::test::env_var unset("PARMAP_CPU_ISA", nullptr);
  EXPECT_TRUE(parmap::detail::cpu_supports(cpu_isa::baseline));
  const unsigned have = parmap::detail::supported_cpu_isas();
  for (const cpu_isa isa : parmap::detail::all_cpu_isas) {
    EXPECT_EQ(parmap::detail::cpu_supports(isa), (have & bit(isa)) != 0);
  }
  // A wider set implies the narrower ones.
  if (parmap::detail::cpu_supports(cpu_isa::avx512)) {
    EXPECT_TRUE(parmap::detail::cpu_supports(cpu_isa::avx2));
  }
  EXPECT_EQ(parmap::detail::active_cpu_kernels().isa, select_cpu_isa(std::nullopt, have));
  const parmap::test::env_var automatic("PARMAP_CPU_ISA", "auto");
  EXPECT_EQ(parmap::detail::active_cpu_kernels().isa, select_cpu_isa(std::nullopt, have));
}

TEST(CpuIsa, EachSetThisCpuHasCanBeForcedAndTheReportNamesIt) {
  const parmap::test::default_settings defaults;
  const std::vector<float> x(100000, 1.5f);
  const int ran = parmap::test::for_each_cpu_isa([&](const parmap::detail::cpu_kernels& loops) {
    const std::string named = std::string("CPU loops: ") + loops.name;
    parmap::report r;
    const auto y = parmap::map(parmap::ops::square, x, {.where = parmap::backend::cpu, .out_report = &r});
    EXPECT_EQ(y[99999], 2.25f);
    EXPECT_NE(r.reason.find(named), std::string::npos) << r.reason;
    // A traced program runs the same loops.
    const auto f = parmap::elementwise([](auto v) { return v * v + 1; });
    std::vector<double> xd(5000, 2.0), yd(5000);
    parmap::detail::map_op(parmap::detail::program_call(f.program_for(parmap::detail::dtype::f64).code,
                                                        parmap::detail::dtype::f64),
                           xd.data(), yd.data(), xd.size(), {.where = parmap::backend::cpu, .out_report = &r});
    EXPECT_EQ(yd[4999], 5.0);
    EXPECT_NE(r.reason.find(named), std::string::npos) << r.reason;
  });
  EXPECT_GE(ran, 1);
}

TEST(CpuIsa, Avx512TakesFiveHundredTwelveBitVectorsOnIntelAndTwoHundredFiftySixElsewhere) {
  using parmap::detail::default_vector_bits;
  EXPECT_EQ(default_vector_bits(cpu_isa::avx512, true), 512U);
  EXPECT_EQ(default_vector_bits(cpu_isa::avx512, false), 256U);
  EXPECT_EQ(default_vector_bits(cpu_isa::avx2, true), 256U);
  EXPECT_EQ(default_vector_bits(cpu_isa::avx2, false), 256U);
  EXPECT_EQ(default_vector_bits(cpu_isa::baseline, true), 128U);
}

TEST(CpuIsa, EveryTableIsOneSetAtOneWidthAndNamesBoth) {
  const auto tables = parmap::detail::all_cpu_kernels();
  ASSERT_FALSE(tables.empty());
  EXPECT_EQ(tables[0].isa, cpu_isa::baseline);
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const std::string name = tables[i].name;
    EXPECT_EQ(name.rfind(to_string(tables[i].isa), 0), 0U) << name;
    EXPECT_NE(tables[i].catalogue, nullptr) << name;
    EXPECT_NE(tables[i].program, nullptr) << name;
    for (std::size_t j = 0; j < i; ++j) {
      EXPECT_FALSE(tables[j].isa == tables[i].isa && tables[j].vector_bits == tables[i].vector_bits) << name;
    }
    if (tables[i].isa == cpu_isa::avx512) {  // two widths: the name says which
      EXPECT_NE(name.find(std::to_string(tables[i].vector_bits) + "-bit"), std::string::npos) << name;
    }
  }
#if PARMAP_CPU_AVX512_WIDE
  EXPECT_EQ(tables.size(), 4U);
#endif
}

TEST(CpuIsa, AutoTakesThisCpusWidthAndAForcedWidthMustBeBuilt) {
  const parmap::test::default_settings defaults;
  const parmap::test::env_var unset("PARMAP_CPU_ISA", nullptr);
  const cpu_isa widest = select_cpu_isa(std::nullopt, parmap::detail::supported_cpu_isas());
  const unsigned bits = parmap::detail::default_vector_bits(widest, parmap::detail::cpu_is_intel());
  {
    const parmap::test::env_var automatic("PARMAP_CPU_VECTOR_BITS", "auto");
    EXPECT_EQ(parmap::detail::active_cpu_kernels().isa, widest);
    EXPECT_EQ(parmap::detail::active_cpu_kernels().vector_bits, bits);
  }
  {
    const parmap::test::env_var bad("PARMAP_CPU_VECTOR_BITS", "300");
    try {
      (void)parmap::map(parmap::ops::square, std::vector<float>(10, 1.0f));
      FAIL() << "no config_error";
    } catch (const parmap::config_error& e) {
      EXPECT_NE(std::string(e.what()).find("PARMAP_CPU_VECTOR_BITS"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("300"), std::string::npos) << e.what();
    }
  }
  {  // the baseline set has 128-bit vectors only: 512 is an error naming both
    const parmap::test::env_var base("PARMAP_CPU_ISA", "baseline");
    const parmap::test::env_var wide("PARMAP_CPU_VECTOR_BITS", "512");
    try {
      (void)parmap::map(parmap::ops::square, std::vector<float>(10, 1.0f));
      FAIL() << "no config_error";
    } catch (const parmap::config_error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("PARMAP_CPU_VECTOR_BITS=512"), std::string::npos) << m;
      EXPECT_NE(m.find("baseline loops are built in 128-bit"), std::string::npos) << m;
    }
  }
  // Back to auto: maps run again.
  EXPECT_EQ(parmap::map(parmap::ops::square, std::vector<float>(10, 3.0f))[9], 9.0f);
}

TEST(CpuIsa, TheCallersOwnLoopsAreNotNamed) {
  const parmap::test::default_settings defaults;
  const std::vector<float> x(100000, 1.5f);
  parmap::report r;
  (void)parmap::map([](float v) { return v * v; }, x, {.where = parmap::backend::cpu, .out_report = &r});
  EXPECT_EQ(r.reason.find("CPU loops"), std::string::npos) << r.reason;
}

TEST(CpuIsa, AnUnknownOrMissingSetIsAConfigErrorNamingIt) {
  const parmap::test::default_settings defaults;
  const std::vector<float> x(10, 1.0f);
  {
    const parmap::test::env_var bad("PARMAP_CPU_ISA", "sse9");
    try {
      (void)parmap::map(parmap::ops::square, x);
      FAIL() << "no config_error";
    } catch (const parmap::config_error& e) {
      EXPECT_NE(std::string(e.what()).find("PARMAP_CPU_ISA"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("sse9"), std::string::npos) << e.what();
    }
  }
  for (const cpu_isa isa : parmap::detail::all_cpu_isas) {
    if (parmap::detail::cpu_supports(isa)) continue;
    const parmap::test::env_var missing("PARMAP_CPU_ISA", to_string(isa));
    EXPECT_THROW((void)parmap::map(parmap::ops::square, x), parmap::config_error) << to_string(isa);
    EXPECT_THROW((void)parmap::detail::cpu_kernels_for(isa), parmap::config_error);
  }
  // Back to auto: maps run again.
  EXPECT_EQ(parmap::map(parmap::ops::square, x)[0], 1.0f);
}

}  // namespace
