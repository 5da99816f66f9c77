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
  const int ran = parmap::test::for_each_cpu_isa([&](cpu_isa isa) {
    parmap::report r;
    const auto y = parmap::map(parmap::ops::square, x, {.where = parmap::backend::cpu, .out_report = &r});
    EXPECT_EQ(y[99999], 2.25f);
    EXPECT_NE(r.reason.find(std::string("CPU loops: ") + to_string(isa)), std::string::npos) << r.reason;
    // A traced program runs the same loops.
    const auto f = parmap::elementwise([](auto v) { return v * v + 1; });
    std::vector<double> xd(5000, 2.0), yd(5000);
    parmap::detail::map_op(parmap::detail::program_call(f.program_for(parmap::detail::dtype::f64).code,
                                                        parmap::detail::dtype::f64),
                           xd.data(), yd.data(), xd.size(), {.where = parmap::backend::cpu, .out_report = &r});
    EXPECT_EQ(yd[4999], 5.0);
    EXPECT_NE(r.reason.find(std::string("CPU loops: ") + to_string(isa)), std::string::npos) << r.reason;
  });
  EXPECT_GE(ran, 1);
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
