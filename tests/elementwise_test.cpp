// parmap::elementwise: a user's lambda traced into a program. Each lambda
// runs four ways, which must agree bit for bit (any NaN matching any NaN):
// f itself on the CPU (the reference, and what the CPU path calls), its
// program through Thrust's OpenMP system (the simulated GPU: the very functor
// the GPU runs), the GPU's accumulator machine called here directly (four
// elements at a time and one by one), and its program through the CPU
// interpreter (Python's CPU path). A real GPU (Gpu*) is bit-exact on arithmetic and within the ops'
// ulp bound on transcendental functions. Plus what cannot be traced.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "parmap/detail/program_gpu.hpp"
#include "parmap/parmap.hpp"
#include "support/gpu_interpreter.hpp"
#include "support/reference.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::backend;
namespace math = parmap::math;
namespace ops = parmap::ops;
using parmap::detail::dtype;
using parmap::detail::dtype_of;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Inputs a lambda is defined on without undefined behaviour: integers small
// enough not to overflow, floats with the specials.
template <class T>
std::vector<T> inputs(std::size_t n) {
  std::vector<T> v = parmap::test::make_input<T>(n, 42);
  if constexpr (std::is_integral_v<T>) {
    for (auto& x : v) x = static_cast<T>(x % 1000);
  }
  return v;
}

// The program of f for T run through the CPU interpreter (the op_call path
// Python takes), forced onto the CPU.
template <class T, class F>
std::vector<T> interpreted(const F& f, const std::vector<T>& in) {
  const auto& traced = f.program_for(dtype_of<T>::value);
  const auto call = parmap::detail::program_call(traced.code, dtype_of<T>::value);
  std::vector<T> out(in.size());
  parmap::detail::map_op(call, in.data(), out.data(), in.size(), {.where = backend::cpu});
  return out;
}

// out[i] = f(in[i]) into T elements, as the device maps them.
template <class T, class F>
std::vector<T> mapped(const F& f, const std::vector<T>& in, const parmap::options& opt) {
  std::vector<T> out(in.size(), T(7));
  parmap::map(f, std::span<const T>(in), std::span<T>(out), opt);
  return out;
}

// The GPU's form of a program (detail/program_gpu.hpp), and its interpreter
// run here on the host: the same code the GPU functor runs.
using parmap::detail::gpu_program;
using parmap::detail::source_kind;

source_kind kind_of(std::uint8_t source) { return static_cast<source_kind>(source >> 6); }

template <class T, class F>
gpu_program gpu_form(const F& f) {
  return parmap::detail::make_gpu_program(f.program_for(dtype_of<T>::value).code);
}

// Number of steps whose result is also written to the register file; fails
// the test where a step reads a register that no earlier step wrote.
int spills_checked(const gpu_program& g) {
  bool written[parmap::detail::program::max_registers] = {};
  int spills = 0;
  auto check = [&](std::uint8_t s, int step) {
    if (kind_of(s) == source_kind::file) {
      EXPECT_TRUE(written[s & 63]) << "step " << step << " reads register " << (s & 63) << " before it is written";
    }
  };
  for (int k = 0; k < g.count; ++k) {
    for (const std::uint8_t s : g.steps[k].src) check(s, k);
    if (g.steps[k].spill != parmap::detail::no_spill) {
      written[g.steps[k].spill] = true;
      ++spills;
    }
  }
  check(g.result, g.count);
  return spills;
}

// The GPU interpreter on g, four elements at a time and one by one, against
// the expected values: built for every type, and for a narrow program also
// the one for T and bool alone (the GPU runs that one).
template <class T>
void check_gpu_interpreter(const gpu_program& g, const std::vector<T>& in, const std::vector<T>& expected) {
  for (const bool narrow : {false, true}) {
    if (narrow && !g.narrow) continue;
    SCOPED_TRACE(std::string(parmap::detail::numpy_name(dtype_of<T>::value)) + (narrow ? ", narrow" : ", all types"));
    std::vector<T> four(in.size(), T(7)), one(in.size(), T(7));
    parmap::test::run_gpu_interpreter<T>(g, in.data(), four.data(), in.size(), 4, narrow);
    parmap::test::run_gpu_interpreter<T>(g, in.data(), one.data(), in.size(), 1, narrow);
    EXPECT_TRUE(parmap::test::elements_match<T>(expected, four, true)) << "four at a time";
    EXPECT_TRUE(parmap::test::elements_match<T>(expected, one, true)) << "one by one";
  }
}

// f on every path for T, against f itself.
template <class T, class F>
void check_paths(const F& f, std::size_t n = 5000) {
  SCOPED_TRACE(parmap::detail::numpy_name(dtype_of<T>::value));
  const std::vector<T> in = inputs<T>(n);
  std::vector<T> expected(n);
  for (std::size_t i = 0; i < n; ++i) expected[i] = static_cast<T>(f(in[i]));

  parmap::report r;
  const std::vector<T> cpu = mapped(f, in, {.where = backend::cpu, .out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_TRUE(parmap::test::elements_match<T>(expected, cpu, true)) << "cpu";
  EXPECT_TRUE(parmap::test::elements_match<T>(expected, interpreted<T>(f, in), true)) << "interpreter";
  check_gpu_interpreter<T>(gpu_form<T>(f), in, expected);
#if defined(PARMAP_TEST_SIM)
  parmap::test::sim_backend sim;
  const parmap::test::use_backend installed(sim);
  std::vector<T> gpu(n, T(7));
  parmap::map(f, std::span<const T>(in), std::span<T>(gpu), {.where = backend::gpu, .out_report = &r});
  EXPECT_EQ(r.used, backend::gpu);
  if (n > 0) {
    EXPECT_GT(sim.launches.load(), 0);
  }
  EXPECT_TRUE(parmap::test::elements_match<T>(expected, gpu, true)) << "simulated gpu";
#endif
}

template <class F>
void check_all_types(const F& f) {
  check_paths<float>(f);
  check_paths<double>(f);
  check_paths<std::int32_t>(f);
  check_paths<std::int64_t>(f);
}

TEST(Elementwise, APolynomialRunsTheSameOnEveryPath) {
  check_all_types(parmap::elementwise([](auto x) { return x * x + 2 * x + 1; }));
}

TEST(Elementwise, MixedConstantsFollowTheUsualArithmeticConversions) {
  // x * 2.5 on a float computes in double, rounded back to float when stored.
  const auto f = parmap::elementwise([](auto x) { return x * 2.5 - x / 3.0f + 7L + 1u * (x > 0); });
  check_all_types(f);
  const float x = 0.1f;
  EXPECT_EQ(static_cast<float>(f(x)), static_cast<float>(x * 2.5 - x / 3.0f + 7L + 1u * (x > 0)));
}

TEST(Elementwise, WhereComparisonsAndMinMax) {
  check_all_types(parmap::elementwise([](auto x) {
    return parmap::where(x > 1, x - 1, parmap::where(x <= -2, -x, x * 3)) + math::min(x, 5) - math::max(x, -5) +
           (x == 3) + (x != 4) * 2;
  }));
}

TEST(Elementwise, MathFunctionsAndBuiltInOps) {
  const auto f = parmap::elementwise([](auto x) {
    return math::sqrt(math::abs(x)) + math::exp(x / 100) - math::log(math::abs(x) + 1) + math::sin(x) * math::cos(x) +
           math::tanh(x) + math::sigmoid(x) + math::pow(math::abs(x), 0.5) + math::rsqrt(math::abs(x) + 1);
  });
  check_all_types(f);
  check_all_types(parmap::elementwise([](auto x) { return ops::affine(2, 1)(ops::square(x)) + ops::clamp(-3, 3)(x); }));
  check_paths<float>(parmap::elementwise([](auto x) { return ops::exp(x) + ops::sigmoid(x) * ops::relu(x); }));
}

TEST(Elementwise, IntegerDivisionAndRemainder) {
  const auto f = parmap::elementwise([](auto x) { return x / 7 + x % 5 - (x + 1000) / 3; });
  check_paths<std::int32_t>(f);
  check_paths<std::int64_t>(f);
}

TEST(Elementwise, EveryPathAndEverySize) {
  const auto f = parmap::elementwise([](auto x) { return x * x + 2 * x + 1; });
  for (std::size_t n : {0, 1, 2, 511, 512, 513, 1025, 100003}) check_paths<float>(f, n);
}

TEST(Elementwise, TheReportNamesTheProgram) {
  const auto f = parmap::elementwise([](auto x) { return x * x + 2 * x + 1; });
  EXPECT_EQ(f.program_for(dtype::f32).what, "elementwise(x*x + 2*x + 1)");
  EXPECT_EQ(parmap::elementwise([](auto x) { return (x - 1) * -x; }).program_for(dtype::f64).what,
            "elementwise((x - 1)*-x)");
  const parmap::test::env_var v("PARMAP_VERBOSE", "1");
  ::testing::internal::CaptureStderr();
  (void)parmap::map(f, std::vector<float>(5, 1.0f));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "parmap: elementwise(x*x + 2*x + 1) n=5 -> cpu")) << err;
}

TEST(Elementwise, ItIsADeviceOpAndCallsFOnNumbers) {
  const auto f = parmap::elementwise([](auto x) { return x * 3; });
  static_assert(parmap::is_device_op_v<decltype(f)>);
  EXPECT_EQ(f(2), 6);
  EXPECT_EQ(f(1.5), 4.5);
  EXPECT_EQ(math::sqrt(4), 2.0);  // integers compute in double, as std::sqrt
  EXPECT_EQ(math::abs(std::numeric_limits<int>::min()), std::numeric_limits<int>::min());
  EXPECT_EQ(parmap::where(true, 1, 2.5), 1.0);
}

TEST(Elementwise, ATypeThatDoesNotTraceSaysWhyWhenMapped) {
  const auto mod = parmap::elementwise([](auto x) { return x % 3; });  // integers trace
  const std::vector<std::int32_t> ints = {5, -7, 9};
  EXPECT_EQ(parmap::map(mod, ints, {.where = backend::cpu}), (std::vector<std::int32_t>{2, -1, 0}));
  try {
    (void)mod.program_for(dtype::f32);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "mod needs integer operands")) << e.what();
    EXPECT_TRUE(contains(e.what(), "float32")) << e.what();
  }
  const auto root = parmap::elementwise([](auto x) { return ops::sqrt(x); });
  try {
    (void)root.program_for(dtype::i32);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "ops::sqrt has no form for int32")) << e.what();
  }
}

TEST(Elementwise, AProgramOverItsLimitsIsAnErrorFromElementwise) {
  auto long_one = [](auto x) {
    auto y = x * 1.0;
    for (int i = 0; i < 40; ++i) y = math::sqrt(y) - x;
    return y;
  };
  try {
    (void)parmap::elementwise(long_one);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "a program holds at most 64")) << e.what();
  }
  // Many values alive at once: registers.
  auto wide = [](auto x) {
    return ((x + 1) * (x + 2) * (x + 3) * (x + 4)) + ((x + 5) * (x + 6) * (x + 7) * (x + 8)) * ((x + 9) * (x + 10));
  };
  EXPECT_NO_THROW((void)parmap::elementwise(wide));
}

TEST(Elementwise, ManyThreadsAndSizesShareOneTracedFunction) {
  const auto f = parmap::elementwise([](auto x) { return x * x - 3 * x; });
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t n = 1; n < 70000; n = n * 3 + static_cast<std::size_t>(t)) {
        const std::vector<double> in = inputs<double>(n);
        const std::vector<double> out = mapped(f, in, {.n_jobs = 2});
        std::vector<double> program(n);
        program = interpreted<double>(f, in);
        for (std::size_t i = 0; i < n; ++i) {
          const double e = in[i] * in[i] - 3 * in[i];
          const bool same = (std::isnan(e) && std::isnan(out[i]) && std::isnan(program[i])) ||
                            (e == out[i] && e == program[i]);
          bad[static_cast<std::size_t>(t)] += same ? 0 : 1;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

TEST(GpuForm, APolynomialKeepsEveryValueInRegisters) {
  const auto f = parmap::elementwise([](auto x) { return x * x + 2 * x + 1; });
  const gpu_program g = gpu_form<float>(f);
  EXPECT_TRUE(g.narrow);
  EXPECT_GT(g.count, 0);
  EXPECT_EQ(spills_checked(g), 0);
  EXPECT_EQ(kind_of(g.result), source_kind::acc);
  for (int k = 0; k < g.count; ++k) {
    for (const std::uint8_t s : g.steps[k].src) EXPECT_NE(kind_of(s), source_kind::file) << "step " << k;
  }
  // Its values: Elementwise.APolynomialRunsTheSameOnEveryPath.
}

TEST(GpuForm, AValueReadAgainLaterIsKeptInTheRegisterFile) {
  const auto f = parmap::elementwise([](auto x) {
    const auto y = x + 1;
    const auto z = y * 3 - x;
    return z * y - y;
  });
  for (const dtype t : {dtype::f32, dtype::f64, dtype::i32, dtype::i64}) {
    const gpu_program g = parmap::detail::make_gpu_program(f.program_for(t).code);
    EXPECT_GT(spills_checked(g), 0) << parmap::detail::numpy_name(t);
  }
  check_all_types(f);
  // Comparisons, where and mixed types: a b8 value between steps; not narrow
  // but for f64 (x * 2.5 is a double).
  const auto mixed = parmap::elementwise([](auto x) {
    const auto y = x * 2.5;
    return parmap::where(y > x, y - x, math::max(x * 1.0, y * -1));
  });
  EXPECT_FALSE(gpu_form<float>(mixed).narrow);
  EXPECT_FALSE(gpu_form<std::int64_t>(mixed).narrow);
  EXPECT_TRUE(gpu_form<double>(mixed).narrow);
  check_all_types(mixed);
}

TEST(GpuForm, TheIdentityAndAConstantHaveNoSteps) {
  const auto identity = parmap::elementwise([](auto x) { return x; });
  const gpu_program g = gpu_form<double>(identity);
  EXPECT_EQ(g.count, 0);
  EXPECT_EQ(kind_of(g.result), source_kind::input);
  check_all_types(identity);

  using parmap::detail::vtype;
  parmap::detail::program_builder b(vtype::f32);
  parmap::detail::value three{};
  three.f32 = 3.0F;
  const gpu_program k = parmap::detail::make_gpu_program(b.finish(b.constant(vtype::f32, three), vtype::f32));
  EXPECT_EQ(k.count, 0);
  EXPECT_EQ(kind_of(k.result), source_kind::konst);
  const std::vector<float> in = inputs<float>(9);
  check_gpu_interpreter<float>(k, in, std::vector<float>(in.size(), 3.0F));
}

#if defined(PARMAP_TEST_SIM)
// A program takes every device path a built-in op takes: data in GPU memory,
// the CPU + GPU split, and the CPU's fallback after a GPU failure.
TEST(Elementwise, AProgramTakesTheDevicePathsOfABuiltInOp) {
  const parmap::test::default_settings settings;
  const auto f = parmap::elementwise([](auto x) { return x * x - 3 * x + 1; });
  const std::vector<float> in = inputs<float>(1 << 16);
  std::vector<float> expected(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) expected[i] = f(in[i]);
  parmap::test::sim_backend sim;
  parmap::report r;
  {
    const parmap::test::use_backend installed(sim);
    parmap::device_array<float> d(in);  // in the simulated GPU's memory
    parmap::map_inplace(f, d.span(), {.out_report = &r});
    EXPECT_EQ(r.used, backend::gpu) << r.reason;
    EXPECT_TRUE(parmap::test::elements_match<float>(expected, d.to_vector(), true)) << "device-resident";

    const parmap::test::env_var split("PARMAP_SPLIT", "0.5");
    const std::vector<float> both = mapped(f, in, {.out_report = &r});
    EXPECT_TRUE(contains(r.reason, "split")) << r.reason;
    EXPECT_TRUE(parmap::test::elements_match<float>(expected, both, true)) << "split";
  }
  parmap::test::fault_injector faults(sim);
  const parmap::test::use_backend installed(faults);
  const parmap::test::env_var min("PARMAP_GPU_MIN_ELEMENTS", "1024");
  faults.fail_launch = true;
  const std::vector<float> fallen = mapped(f, in, {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_TRUE(contains(r.reason, "GPU failed")) << r.reason;
  EXPECT_TRUE(parmap::test::elements_match<float>(expected, fallen, true)) << "fallback";
  faults.clear();
}
#endif

// A real GPU: arithmetic bit for bit; transcendental functions within the
// ops' bound. A sum of two such results is bounded in the terms' magnitude,
// not the result's: exp(x / 10) + sin(x) near a root of it cancels, and one
// ulp of a term of size 1 is many ulp of a result of 0.02 (seen on an H200:
// element 27, 56 ulp of the sum, 1 ulp of exp(x / 10)).
TEST(GpuElementwise, ProgramsOnTheGpuMatchF) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  const auto poly = parmap::elementwise([](auto x) { return x * x + 2 * x + 1 + x / 3 + parmap::where(x > 0, x, -x); });
  const auto e = parmap::elementwise([](auto x) { return math::exp(x / 10); });
  const auto s = parmap::elementwise([](auto x) { return math::sin(x); });
  const auto heavy = parmap::elementwise([](auto x) { return math::exp(x / 10) + math::sin(x); });
  parmap::test::with_type(dtype::f32, [&]<class T>() {
    for (std::size_t n : {1, 1000, 1 << 20}) {
      const std::vector<T> in = inputs<T>(n);
      std::vector<T> e1(n), e_exp(n), e_sin(n);
      for (std::size_t i = 0; i < n; ++i) {
        e1[i] = static_cast<T>(poly(in[i]));
        e_exp[i] = static_cast<T>(e(in[i]));
        e_sin[i] = static_cast<T>(s(in[i]));
      }
      EXPECT_TRUE(parmap::test::elements_match<T>(e1, mapped(poly, in, {.where = backend::gpu}), true));
      EXPECT_TRUE(parmap::test::elements_match<T>(e_exp, mapped(e, in, {.where = backend::gpu}), false, 8));
      EXPECT_TRUE(parmap::test::elements_match<T>(e_sin, mapped(s, in, {.where = backend::gpu}), false, 8));
      const std::vector<T> sum = mapped(heavy, in, {.where = backend::gpu});
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double terms = std::fabs(double(e_exp[i])) + std::fabs(double(e_sin[i]));
        const double bound = 8 * double(std::numeric_limits<T>::epsilon()) * terms;
        const double got = sum[i], want = double(e_exp[i]) + double(e_sin[i]);
        // Not finite (NaN, +-inf in, inf - inf): any NaN matches any NaN, an infinity itself.
        const bool ok = std::isfinite(want) ? std::fabs(got - want) <= bound
                                            : (std::isnan(want) ? std::isnan(got) : got == want);
        if (!ok && wrong++ < 3) {
          ADD_FAILURE() << "exp(x / 10) + sin(x) at element " << i << " (x = " << in[i] << "): got " << got
                        << ", the native terms sum to " << want << "; bound " << bound;
        }
      }
      EXPECT_EQ(wrong, 0u) << "n = " << n;
    }
  });
}

}  // namespace
