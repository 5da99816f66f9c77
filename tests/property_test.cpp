// Property tests: thousands of random cases (random element type, op and
// parameters, size biased to boundaries, values including NaN, +-Inf,
// denormals, -0.0 and the integer extremes, random n_jobs and path), each
// checked against the serial reference:
// - the result equals the reference bit for bit (any NaN matches any NaN) on
//   the CPU and the simulated GPU, for every op (the same functor, the same libm);
//   on a real GPU arithmetic ops and sqrt are bit-exact too and the
//   transcendental ones are within kGpuUlp ulp;
// - in place gives the same bits as out of place;
// - the input is unchanged.
// Reproducible: the seed is printed; PARMAP_TEST_SEED=<seed> reruns the same
// cases, PARMAP_PROPERTY_CASES=<n> changes their number.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "parmap/detail/cpu_isa.hpp"
#include "parmap/parmap.hpp"
#include "support/reference.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::test::env_number;
using parmap::test::splitmix;

using parmap::backend;
using parmap::detail::dtype;

// Largest difference allowed between CUDA's math library and glibc for the
// transcendental ops (CUDA documents <= 2 ulp for most single-precision
// functions and 4 for powf; sigmoid composes exp, an add and a divide).
constexpr std::uint64_t kGpuUlp = 8;

template <class T>
T random_value(splitmix& rng) {
  const std::uint64_t r = rng();
  const unsigned kind = static_cast<unsigned>(r >> 60);  // 16 kinds
  if constexpr (std::is_floating_point_v<T>) {
    using L = std::numeric_limits<T>;
    using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    constexpr int mantissa = L::digits - 1;
    const double unit = static_cast<double>(r & ((1ULL << 44) - 1)) * 0x1p-44;  // [0, 1)
    if (kind < 5) return static_cast<T>(unit * 200.0 - 100.0);
    if (kind < 8) return std::bit_cast<T>(static_cast<Bits>(rng()));  // any pattern: NaNs, Infs
    if (kind < 10) {
      const T specials[] = {T(0),         T(-0.0),      T(1),         T(-1),
                            L::infinity(), -L::infinity(), L::quiet_NaN(), -L::quiet_NaN(),
                            L::denorm_min(), -L::denorm_min(), L::min(),  L::max(),
                            L::lowest(),  L::epsilon(), T(0.5),       T(-88.5)};
      return specials[r % std::size(specials)];
    }
    if (kind < 12) {  // a denormal: exponent bits zero, random sign and mantissa
      const Bits m = static_cast<Bits>(rng()) & ((Bits{1} << mantissa) - 1);
      const Bits sign = (r & 1) ? Bits{1} << (sizeof(T) * 8 - 1) : Bits{0};
      return std::bit_cast<T>(static_cast<Bits>(sign | (m == 0 ? Bits{1} : m)));
    }
    return static_cast<T>(unit * 4.0 - 2.0);
  } else {
    using L = std::numeric_limits<T>;
    if (kind < 6) return static_cast<T>(r);  // the whole range
    if (kind < 10) {
      const T specials[] = {T(0), T(1), T(-1), L::min(), L::max(), T(L::min() + 1), T(L::max() - 1)};
      return specials[r % std::size(specials)];
    }
    return static_cast<T>(static_cast<std::int64_t>(r % 2001) - 1000);
  }
}

// Sizes 0 .. 2^20 + 7: half from the boundaries (0..4, 2^k - 1, 2^k, 2^k + 1),
// half log-uniform.
std::size_t random_size(splitmix& rng) {
  constexpr std::size_t top = (std::size_t{1} << 20) + 7;
  if (rng() & 1) {
    const std::uint64_t pick = rng.below(4 + 3 * 20 + 1);
    if (pick < 5) return pick;
    if (pick == 64) return top;
    const std::size_t k = (pick - 5) / 3 + 1;
    return (std::size_t{1} << k) + (pick - 5) % 3 - 1;
  }
  const std::size_t k = rng.below(20);
  return (std::size_t{1} << k) + rng.below(std::size_t{1} << k);
}

// Calls v(op, name, transcendental) with a random op (random parameters) for T.
template <class T, class Visit>
void with_random_op(splitmix& rng, Visit&& v) {
  namespace ops = parmap::ops;
  const bool fp = std::is_floating_point_v<T>;
  auto param = [&rng] { return random_value<T>(rng); };
  auto finite_param = [&rng] {
    if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(static_cast<double>(rng.below(20001)) / 100.0 - 100.0);
    } else {
      return random_value<T>(rng);
    }
  };
  switch (rng.below(fp ? 18 : 10)) {
    case 0: return v(ops::square, "square", false);
    case 1: return v(ops::cube, "cube", false);
    case 2: return v(ops::negate, "negate", false);
    case 3: return v(ops::abs, "abs", false);
    case 4: return v(ops::relu, "relu", false);
    case 5: return v(ops::scale(param()), "scale", false);
    case 6: return v(ops::shift(param()), "shift", false);
    case 7: return v(ops::affine(param(), param()), "affine", false);
    case 8: {
      T lo = finite_param();
      T hi = finite_param();
      if (hi < lo) std::swap(lo, hi);
      return v(ops::clamp(lo, hi), "clamp", false);
    }
    case 9:
      if constexpr (std::is_floating_point_v<T>) {
        return v(ops::pow(finite_param() / T(10)), "pow", true);
      } else {
        return v(ops::pow(static_cast<T>(static_cast<int>(rng.below(74)) - 3)), "pow", false);
      }
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (rng.below(8)) {
      case 0: return v(ops::sqrt, "sqrt", false);  // correctly rounded everywhere
      case 1: return v(ops::rsqrt, "rsqrt", false);
      case 2: return v(ops::exp, "exp", true);
      case 3: return v(ops::log, "log", true);
      case 4: return v(ops::sin, "sin", true);
      case 5: return v(ops::cos, "cos", true);
      case 6: return v(ops::tanh, "tanh", true);
      default: return v(ops::sigmoid, "sigmoid", true);
    }
  }
}

enum class path { cpu, automatic, sim, gpu };
const char* path_name(path p) {
  switch (p) {
    case path::cpu: return "cpu";
    case path::automatic: return "automatic";
    case path::sim: return "simulated gpu";
    case path::gpu: return "gpu";
  }
  return "?";
}

// One random case; returns false after a failure.
bool run_case(splitmix& rng, path p, bool simulated, std::string& what) {
  const auto type = static_cast<dtype>(rng.below(4));
  const std::size_t n = random_size(rng);
  const int jobs_choice[] = {1, 2, 3, -1};
  const int n_jobs = jobs_choice[rng.below(4)];
  const bool returning_form = (rng() & 1) != 0;
  bool ok = true;
  parmap::test::with_type(type, [&]<class T>() {
    std::vector<T> in(n);
    for (auto& x : in) x = random_value<T>(rng);
    const std::vector<T> original = in;
    with_random_op<T>(rng, [&](const auto& op, const char* name, bool transcendental) {
      what = std::string(name) + " on " + parmap::detail::dtype_name(type) + ", n = " +
             std::to_string(n) + ", n_jobs = " + std::to_string(n_jobs) + ", " + path_name(p) +
             (simulated && p == path::automatic ? " with the simulated GPU installed" : "") +
             (returning_form ? ", returning form" : ", out-parameter form");
      std::vector<T> expected(n);
      for (std::size_t i = 0; i < n; ++i) expected[i] = op(in[i]);

      parmap::report rep;
      const parmap::options opt{
          .where = p == path::automatic ? backend::automatic
                   : p == path::cpu     ? backend::cpu
                                        : backend::gpu,
          .n_jobs = n_jobs,
          .out_report = &rep};
      std::vector<T> out;
      if (returning_form) {
        out = parmap::map(op, in, opt);
      } else {
        // At any offset in a cache line, so that the loops' first elements
        // before the output's line start (cpu_loop.hpp) take every length.
        const std::size_t at = rng.below(16);
        std::vector<T> buf(n + 16, T(7));
        parmap::map(op, std::span<const T>(in), std::span<T>(buf.data() + at, n), opt);
        out.assign(buf.begin() + static_cast<std::ptrdiff_t>(at), buf.begin() + static_cast<std::ptrdiff_t>(at + n));
        bool outside = true;
        for (std::size_t i = 0; i < buf.size(); ++i) {
          if ((i < at || i >= at + n) && buf[i] != T(7)) outside = false;
        }
        EXPECT_TRUE(outside) << "wrote outside the output span";
        ok = ok && outside;
      }
      // Only a real GPU's math library may differ from the host's.
      const bool real_gpu = rep.used == backend::gpu && !simulated;
      const bool exact = !(real_gpu && transcendental);
      const auto match = parmap::test::elements_match<T>(expected, out, exact, kGpuUlp);
      EXPECT_TRUE(match);
      ok = ok && match;

      // In place gives the same values; of two NaN operands either may come
      // back (ops.md), and in place a different stretch of elements runs
      // before the output's first cache line (cpu_loop.hpp's line_start),
      // where the compiler may order a multiply's operands otherwise.
      std::vector<T> inplace = in;
      parmap::map_inplace(op, inplace, opt);
      const auto same = parmap::test::elements_match<T>(out, inplace, true);
      EXPECT_TRUE(same) << "in place differs from out of place";
      const bool untouched = parmap::test::same_bits(in, original);
      EXPECT_TRUE(untouched) << "input modified";
      ok = ok && same && untouched;
      if (p == path::cpu) {  // the loops of PARMAP_CPU_ISA's set, bit for bit the baseline loops'
        const std::string loops = std::string("CPU loops: ") + parmap::detail::active_cpu_kernels().name;
        const bool named = n == 0 || rep.reason.find(loops) != std::string::npos;
        EXPECT_TRUE(named) << rep.reason;
        std::vector<T> base(n, T(7));
        parmap::detail::failure fail(n);
        parmap::detail::cpu_kernels_for(parmap::detail::cpu_isa::baseline)
            .catalogue(parmap::detail::make_op_call<T>(op), in.data(), base.data(), 0, n, fail);
        // Bit for bit, any NaN matching any NaN (which operand's NaN an add
        // returns is the compiler's choice: it may swap them).
        const auto as_baseline = parmap::test::elements_match<T>(base, out, true);
        EXPECT_TRUE(as_baseline) << "differs from the baseline loops";
        ok = ok && named && as_baseline;
      }
    });
  });
  return ok;
}

std::uint64_t announced_seed() {
  const std::uint64_t seed = env_number("PARMAP_TEST_SEED", std::random_device{}());
  std::cout << "[ property ] seed " << seed << " (rerun with PARMAP_TEST_SEED=" << seed << ")\n";
  return seed;
}

#if defined(PARMAP_TEST_SIM)
constexpr bool simulated_available = true;
#else
constexpr bool simulated_available = false;
#endif

void run_cases(const std::vector<path>& paths, std::uint64_t cases) {
  const std::uint64_t seed = announced_seed();
  splitmix rng{seed};
  std::uint64_t ran = 0;
  for (std::uint64_t c = 0; c < cases; ++c) {
    const path p = paths[rng.below(paths.size())];
    // The simulated GPU for its own path, and for half the automatic cases.
    const bool simulate = p == path::sim || (p == path::automatic && simulated_available && (rng() & 1));
#if defined(PARMAP_TEST_SIM)
    std::optional<parmap::test::sim_backend> sim;
    std::optional<parmap::test::use_backend> installed;
    if (simulate) {
      sim.emplace();
      installed.emplace(*sim);
    }
#endif
    std::string what;
    ++ran;
    if (!run_case(rng, p, simulate, what)) {
      ADD_FAILURE() << "case " << c << " of seed " << seed << ": " << what
                    << " (rerun with PARMAP_TEST_SEED=" << seed << ")";
      break;
    }
  }
  std::cout << "[ property ] " << ran << " cases\n";
}

// The CPU (forced, and automatic without a GPU or with the simulated one
// installed) and the catalogue's Thrust code on the simulated GPU.
TEST(Property, RandomCasesMatchTheSerialReference) {
  const parmap::test::env_var min("PARMAP_GPU_MIN_ELEMENTS", "4096");  // automatic uses both paths
  std::vector<path> paths = {path::cpu, path::automatic};
  if (simulated_available) paths.push_back(path::sim);
  run_cases(paths, env_number("PARMAP_PROPERTY_CASES", 3000));
}

// Each instruction set and vector width this CPU has, forced in turn with
// PARMAP_CPU_ISA and PARMAP_CPU_VECTOR_BITS: the CPU's loops against the
// reference and the baseline loops, bit for bit.
TEST(Property, EveryInstructionSetOfThisCpuMatchesTheBaselineLoops) {
  const std::uint64_t tables = parmap::detail::all_cpu_kernels().size();
  const int ran = parmap::test::for_each_cpu_isa([&](const parmap::detail::cpu_kernels&) {
    run_cases({path::cpu}, env_number("PARMAP_PROPERTY_CASES", 3000) / tables);
  });
  EXPECT_GE(ran, 1);
}

TEST(GpuProperty, RandomCasesMatchTheSerialReferenceOnTheGpu) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  const parmap::test::env_var min("PARMAP_GPU_MIN_ELEMENTS", "4096");
  // Automatic only where nothing simulated is installed: the real GPU decides.
  run_cases({path::gpu}, env_number("PARMAP_PROPERTY_CASES", 3000));
}

}  // namespace
