// Every built-in op, on every backend, for every catalogue element type and a
// sweep of sizes, through all three forms, against a serial reference.
// Instances: Cpu (OpenMP), Sim (the catalogue's Thrust code on Thrust's OpenMP
// device system, through the GPU dispatch and staging path) and Gpu (a real
// GPU; skipped without one).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "parmap/detail/context.hpp"
#include "parmap/detail/pipeline.hpp"
#include "parmap/parmap.hpp"
#include "support/reference.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::detail::dtype;
using parmap::test::elements_match;

enum class where { cpu, sim, gpu };

// f(op, name, exact) for each op that exists for T, with fixed parameters.
template <class T, class F>
void for_each_op(F&& f) {
  namespace ops = parmap::ops;
  f(ops::square, "square", true);
  f(ops::cube, "cube", true);
  f(ops::negate, "negate", true);
  f(ops::abs, "abs", true);
  f(ops::relu, "relu", true);
  f(ops::scale(3), "scale", true);
  f(ops::shift(-2), "shift", true);
  f(ops::affine(3, -7), "affine", true);
  f(ops::clamp(-5, 5), "clamp", true);
  if constexpr (std::is_floating_point_v<T>) {
    f(ops::scale(0.37), "scale(0.37)", true);
    f(ops::affine(1.5, 0.25), "affine(1.5, 0.25)", true);
    f(ops::pow(1.5), "pow(1.5)", false);
    f(ops::sqrt, "sqrt", false);
    f(ops::rsqrt, "rsqrt", false);
    f(ops::exp, "exp", false);
    f(ops::log, "log", false);
    f(ops::sin, "sin", false);
    f(ops::cos, "cos", false);
    f(ops::tanh, "tanh", false);
    f(ops::sigmoid, "sigmoid", false);
  } else {
    f(ops::pow(5), "pow(5)", true);
    f(ops::pow(-1), "pow(-1)", true);
  }
}

using param = std::tuple<where, dtype, std::size_t>;

class MapAllOps : public ::testing::TestWithParam<param> {};

TEST_P(MapAllOps, MatchesSerialReference) {
  const auto [w, type, n] = GetParam();
#if defined(PARMAP_TEST_SIM)
  std::optional<parmap::test::sim_backend> sim;
  std::optional<parmap::test::use_backend> installed;
  if (w == where::sim) {
    sim.emplace();
    installed.emplace(*sim);
  }
#else
  if (w == where::sim) GTEST_SKIP() << "built without Thrust's OpenMP device system";
#endif
  if (w == where::gpu && !parmap::gpu_available()) {
    GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  }
  const auto expected_backend = w == where::cpu ? parmap::backend::cpu : parmap::backend::gpu;

  parmap::test::with_type(type, [&]<class T>() {
    const std::vector<T> in = parmap::test::make_input<T>(n, 1234 + n);
    const std::vector<T> original = in;
    for_each_op<T>([&](const auto& op, const char* name, bool exact) {
      SCOPED_TRACE(std::string(name) + " n=" + std::to_string(n));
      std::vector<T> ref(n);
      for (std::size_t i = 0; i < n; ++i) ref[i] = op(in[i]);

      parmap::report rep;
      const parmap::options opt{.where = expected_backend, .out_report = &rep};
#if defined(PARMAP_TEST_SIM)
      const int launches_before = sim ? sim->launches.load() : 0;
#endif

      // Out-parameter form, output poisoned first.
      std::vector<T> out(n, T(77));
      parmap::map(op, std::span<const T>(in), std::span<T>(out), opt);
      EXPECT_TRUE(elements_match<T>(ref, out, exact));
      EXPECT_EQ(rep.n, n);
      if (n > 0) {
        EXPECT_EQ(rep.used, expected_backend) << rep.reason;
      }

      // Returning form.
      const std::vector<T> returned = parmap::map(op, in, opt);
      EXPECT_TRUE(elements_match<T>(ref, returned, exact));

      // In place.
      std::vector<T> inplace = in;
      parmap::map_inplace(op, inplace, opt);
      EXPECT_TRUE(elements_match<T>(ref, inplace, exact));

      EXPECT_TRUE(parmap::test::same_bits(in, original)) << "input modified";
#if defined(PARMAP_TEST_SIM)
      if (sim) {
        // Three maps, each in the pipeline's chunks: no launch more.
        const auto slot_bytes = parmap::detail::staging_usage().slot_bytes;
        const std::size_t chunk = n == 0 ? 1
            : parmap::detail::pipeline_chunk_elements(
                  n, sizeof(T), slot_bytes,
                  static_cast<std::size_t>(parmap::detail::pipeline_slots_wanted(n * sizeof(T))));
        EXPECT_EQ(static_cast<std::size_t>(sim->launches.load() - launches_before), 3 * ((n + chunk - 1) / chunk));
        // Device memory held: the staging pool's slots (two buffers each), nothing else.
        EXPECT_EQ(sim->live_allocations(), 2U * static_cast<std::size_t>(parmap::detail::staging_usage().slots));
        EXPECT_LE(parmap::detail::staging_usage().slots, parmap::detail::staging_job_slots);
      }
#endif
    });
  });
}

const auto types = ::testing::Values(dtype::f32, dtype::f64, dtype::i32, dtype::i64);
const auto sizes = ::testing::Values<std::size_t>(0, 1, 2, 3, 1023, 1024, 1025, 65537,
                                                  (std::size_t{1} << 20) + 7);

std::string case_name(const ::testing::TestParamInfo<param>& info) {
  return std::string(parmap::detail::dtype_name(std::get<1>(info.param))) + "_n" +
         std::to_string(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Cpu, MapAllOps,
                         ::testing::Combine(::testing::Values(where::cpu), types, sizes), case_name);
INSTANTIATE_TEST_SUITE_P(Sim, MapAllOps,
                         ::testing::Combine(::testing::Values(where::sim), types, sizes), case_name);
INSTANTIATE_TEST_SUITE_P(Gpu, MapAllOps,
                         ::testing::Combine(::testing::Values(where::gpu), types, sizes), case_name);

}  // namespace
