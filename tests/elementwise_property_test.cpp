// Property tests of traced programs: random expression trees (depth up to 6,
// every instruction and built-in op, constants of mixed C++ types, every
// element type, NaN, infinities and the integer extremes, sizes 0 to
// 2^20 + 7), traced through parmap::elementwise's own operators, where and
// math::, and run by the CPU interpreter and by the simulated GPU's Thrust
// functor (and on a real GPU, Gpu*). The reference evaluates the same tree
// with C++'s own operators on plain numbers (std::visit: the compiler picks
// every conversion), defining only what C++ leaves undefined as programs
// do (signed overflow wraps, integer division by zero gives 0, MIN / -1 is
// MIN, a float stored into an integer saturates).
// Reproducible: the seed is printed; PARMAP_TEST_SEED reruns it,
// PARMAP_PROPERTY_CASES changes the number of cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
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
using parmap::detail::traced;
namespace math = parmap::math;
namespace ops = parmap::ops;

// A value while a tree is evaluated: a plain number (the reference, and
// constants) or a traced one.
using val = std::variant<bool, std::int32_t, std::int64_t, std::uint32_t, std::uint64_t, float, double,
                         traced<bool>, traced<std::int32_t>, traced<std::int64_t>, traced<std::uint32_t>,
                         traced<std::uint64_t>, traced<float>, traced<double>>;

enum class kind {
  input, constant,
  add, sub, mul, div, mod, neg, eq, ne, lt, le, gt, ge, where, min, max, abs,
  sqrt, rsqrt, exp, log, sin, cos, tanh, sigmoid, pow,
  op_square, op_cube, op_negate, op_abs, op_relu, op_scale, op_shift, op_affine, op_clamp, op_pow,
  op_sqrt, op_exp, op_sigmoid,
  count
};
constexpr int first_op = static_cast<int>(kind::add);
constexpr int first_transcendental = static_cast<int>(kind::sqrt);

struct node {
  kind k = kind::input;
  int a = -1, b = -1, c = -1;
  val k_value = 0;     // constant
  double p0 = 0, p1 = 0;  // an op's parameters
};
using tree = std::vector<node>;

template <class V>
using value_of = parmap::detail::value_t<V>;
template <class V>
constexpr bool is_plain = std::is_arithmetic_v<V>;

// C++'s own arithmetic on C, where it is defined; the programs' rule where not.
template <class C>
C ref_arith(kind k, C x, C y) {
  if constexpr (std::is_integral_v<C> && std::is_signed_v<C>) {
    using U = std::make_unsigned_t<C>;
    switch (k) {
      case kind::add: return static_cast<C>(static_cast<U>(x) + static_cast<U>(y));
      case kind::sub: return static_cast<C>(static_cast<U>(x) - static_cast<U>(y));
      case kind::mul: return static_cast<C>(static_cast<U>(x) * static_cast<U>(y));
      case kind::div:
        if (y == 0) return 0;
        if (y == -1) return static_cast<C>(U{0} - static_cast<U>(x));
        return static_cast<C>(x / y);
      default:  // mod
        if (y == 0 || y == -1) return 0;
        return static_cast<C>(x % y);
    }
  } else if constexpr (std::is_integral_v<C>) {
    switch (k) {
      case kind::add: return static_cast<C>(x + y);
      case kind::sub: return static_cast<C>(x - y);
      case kind::mul: return static_cast<C>(x * y);
      case kind::div: return y == 0 ? C(0) : static_cast<C>(x / y);
      default: return y == 0 ? C(0) : static_cast<C>(x % y);
    }
  } else {
    switch (k) {
      case kind::add: return x + y;
      case kind::sub: return x - y;
      case kind::mul: return x * y;
      default: return x / y;
    }
  }
}

template <class A, class B>
val binary(kind k, const A& a, const B& b) {
  using C = decltype(value_of<A>{} + value_of<B>{});
  constexpr bool plain = is_plain<A> && is_plain<B>;
  switch (k) {
    case kind::add: if constexpr (plain) return ref_arith<C>(k, C(a), C(b)); else return a + b;
    case kind::sub: if constexpr (plain) return ref_arith<C>(k, C(a), C(b)); else return a - b;
    case kind::mul: if constexpr (plain) return ref_arith<C>(k, C(a), C(b)); else return a * b;
    case kind::div: if constexpr (plain) return ref_arith<C>(k, C(a), C(b)); else return a / b;
    case kind::mod:
      if constexpr (std::is_integral_v<C>) {
        if constexpr (plain) return ref_arith<C>(k, C(a), C(b)); else return a % b;
      }
      break;
    case kind::eq: if constexpr (plain) return C(a) == C(b); else return a == b;
    case kind::ne: if constexpr (plain) return C(a) != C(b); else return a != b;
    case kind::lt: if constexpr (plain) return C(a) < C(b); else return a < b;
    case kind::le: if constexpr (plain) return C(a) <= C(b); else return a <= b;
    case kind::gt: if constexpr (plain) return C(a) > C(b); else return a > b;
    case kind::ge: if constexpr (plain) return C(a) >= C(b); else return a >= b;
    case kind::min: {
      using R = std::common_type_t<value_of<A>, value_of<B>>;
      if constexpr (plain) return R(b) < R(a) ? R(b) : R(a); else return math::min(a, b);
    }
    case kind::max: {
      using R = std::common_type_t<value_of<A>, value_of<B>>;
      if constexpr (plain) return R(a) < R(b) ? R(b) : R(a); else return math::max(a, b);
    }
    case kind::pow: {
      using R = decltype(std::pow(value_of<A>{}, value_of<B>{}));
      if constexpr (plain) return static_cast<R>(std::pow(R(a), R(b))); else return math::pow(a, b);
    }
    default: break;
  }
  throw std::logic_error("not a binary node");
}

template <class A>
val unary(const node& n, const A& a) {
  using V = value_of<A>;
  constexpr bool plain = is_plain<A>;
  using R = decltype(std::sqrt(V{}));
  using P = decltype(+V{});
  switch (n.k) {
    case kind::neg:
      if constexpr (plain) {
        if constexpr (std::is_integral_v<P>) {
          return static_cast<P>(std::make_unsigned_t<P>{0} - static_cast<std::make_unsigned_t<P>>(P(a)));
        } else {
          return -a;
        }
      } else {
        return -a;
      }
    case kind::abs:
      if constexpr (plain) {
        if constexpr (std::is_floating_point_v<P>) return std::fabs(P(a));
        else if constexpr (std::is_unsigned_v<P>) return P(a);
        else return P(a) < 0 ? static_cast<P>(std::make_unsigned_t<P>{0} - static_cast<std::make_unsigned_t<P>>(P(a))) : P(a);
      } else {
        return math::abs(a);
      }
#define PARMAP_REF(name, expr)                                  \
  case kind::name:                                              \
    if constexpr (plain) {                                      \
      const R x = static_cast<R>(a);                            \
      return static_cast<R>(expr);                              \
    } else {                                                    \
      return math::name(a);                                     \
    }
    PARMAP_REF(sqrt, std::sqrt(x))
    PARMAP_REF(rsqrt, R(1) / std::sqrt(x))
    PARMAP_REF(exp, std::exp(x))
    PARMAP_REF(log, std::log(x))
    PARMAP_REF(sin, std::sin(x))
    PARMAP_REF(cos, std::cos(x))
    PARMAP_REF(tanh, std::tanh(x))
    PARMAP_REF(sigmoid, R(1) / (R(1) + std::exp(-x)))
#undef PARMAP_REF
    default: break;
  }
  // The built-in ops, on the catalogue's types only (the generator sees to it).
  if constexpr (parmap::detail::catalogue_type<V>) {
    const auto p0 = static_cast<V>(n.p0), p1 = static_cast<V>(n.p1);
    switch (n.k) {
      case kind::op_square: return ops::square(a);
      case kind::op_cube: return ops::cube(a);
      case kind::op_negate: return ops::negate(a);
      case kind::op_abs: return ops::abs(a);
      case kind::op_relu: return ops::relu(a);
      case kind::op_scale: return ops::scale(p0)(a);
      case kind::op_shift: return ops::shift(p0)(a);
      case kind::op_affine: return ops::affine(p0, p1)(a);
      case kind::op_clamp: return ops::clamp(p0 < p1 ? p0 : p1, p0 < p1 ? p1 : p0)(a);
      case kind::op_pow: return ops::pow(p0)(a);
      default: break;
    }
    if constexpr (std::is_floating_point_v<V>) {
      switch (n.k) {
        case kind::op_sqrt: return ops::sqrt(a);
        case kind::op_exp: return ops::exp(a);
        case kind::op_sigmoid: return ops::sigmoid(a);
        default: break;
      }
    }
  }
  throw std::logic_error("not a unary node for this type");
}

val eval(const tree& t, int i, const val& x) {
  const node& n = t[static_cast<std::size_t>(i)];
  switch (n.k) {
    case kind::input: return x;
    case kind::constant: return n.k_value;
    case kind::where: {
      const val c = eval(t, n.a, x), a = eval(t, n.b, x), b = eval(t, n.c, x);
      return std::visit(
          [](const auto& cc, const auto& aa, const auto& bb) -> val {
            using C = std::remove_cvref_t<decltype(cc)>;
            using A = std::remove_cvref_t<decltype(aa)>;
            using B = std::remove_cvref_t<decltype(bb)>;
            if constexpr (is_plain<C> && is_plain<A> && is_plain<B>) {
              using R = std::common_type_t<A, B>;
              return static_cast<bool>(cc) ? static_cast<R>(aa) : static_cast<R>(bb);
            } else {
              return parmap::where(cc, aa, bb);
            }
          },
          c, a, b);
    }
    default: break;
  }
  const val a = eval(t, n.a, x);
  if (n.b >= 0) {
    const val b = eval(t, n.b, x);
    return std::visit([&](const auto& aa, const auto& bb) { return binary(n.k, aa, bb); }, a, b);
  }
  return std::visit([&](const auto& aa) { return unary(n, aa); }, a);
}

// The plain type index (0..6) of a value.
std::size_t type_index(const val& v) { return v.index() % 7; }

template <class T>
T to_element(const val& v) {
  return std::visit(
      [](const auto& x) -> T {
        using X = std::remove_cvref_t<decltype(x)>;
        if constexpr (!is_plain<X>) {
          throw std::logic_error("traced value in the reference");
        } else if constexpr (std::is_floating_point_v<X> && std::is_integral_v<T>) {
          if (std::isnan(x)) return T(0);
          if (x <= static_cast<X>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
          if (x >= static_cast<X>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
          return static_cast<T>(x);
        } else {
          return static_cast<T>(x);
        }
      },
      v);
}


val random_constant(splitmix& rng) {
  const double fractions[] = {0.5, -2.25, 3.0, 1e-3, 7.0, -1.0, 1e10};
  switch (rng.below(9)) {
    case 0: return (rng() & 1) != 0;
    case 1: return static_cast<std::int32_t>(static_cast<int>(rng.below(21)) - 10);
    case 2: return std::numeric_limits<std::int32_t>::min() + static_cast<std::int32_t>(rng.below(2));
    case 3: return static_cast<std::uint32_t>(rng.below(5));
    case 4: return static_cast<std::int64_t>(rng.below(2) ? std::numeric_limits<std::int64_t>::max() : 3);
    case 5: return static_cast<std::uint64_t>(rng.below(4));
    case 6: return static_cast<float>(fractions[rng.below(7)]);
    case 7: return rng.below(8) == 0 ? std::numeric_limits<double>::infinity() : fractions[rng.below(7)];
    default: return rng.below(4) == 0 ? std::numeric_limits<double>::quiet_NaN() : -fractions[rng.below(7)];
  }
}

// Whether a one-operand node kind k takes an operand of this plain type (an
// index of val's first seven alternatives): the built-in ops on their own types.
bool fits(kind k, std::size_t a) {
  const bool a_float = a >= 5;
  const bool a_catalogue = a == 1 || a == 2 || a == 5 || a == 6;
  switch (k) {
    case kind::op_square: case kind::op_cube: case kind::op_negate: case kind::op_abs: case kind::op_relu:
    case kind::op_scale: case kind::op_shift: case kind::op_affine: case kind::op_clamp: case kind::op_pow:
      return a_catalogue;
    case kind::op_sqrt: case kind::op_exp: case kind::op_sigmoid: return a_float;
    default: return true;
  }
}

int binary_kind(kind k) {
  switch (k) {
    case kind::add: case kind::sub: case kind::mul: case kind::div: case kind::mod: case kind::eq: case kind::ne:
    case kind::lt: case kind::le: case kind::gt: case kind::ge: case kind::min: case kind::max: case kind::pow:
      return 2;
    case kind::where: return 3;
    default: return 1;
  }
}

// A random subtree; returns its index.
int grow(tree& t, splitmix& rng, int depth, bool transcendental, const val& probe) {
  if (depth == 0 || rng.below(4) == 0) {
    node n;
    if (rng.below(3) == 0) {
      n.k = kind::constant;
      n.k_value = random_constant(rng);
    }
    t.push_back(n);
    return static_cast<int>(t.size()) - 1;
  }
  const int last = transcendental ? static_cast<int>(kind::count) : first_transcendental;
  for (;;) {
    node n;
    n.k = static_cast<kind>(first_op + static_cast<int>(rng.below(static_cast<std::uint64_t>(last - first_op))));
    if (!transcendental && n.k >= kind::op_sqrt) continue;
    n.p0 = static_cast<double>(static_cast<int>(rng.below(9)) - 4) * 0.75;
    n.p1 = static_cast<double>(static_cast<int>(rng.below(9)) - 4);
    if (n.k == kind::op_pow) n.p0 = static_cast<double>(rng.below(5));
    const int arity = binary_kind(n.k);
    n.a = grow(t, rng, depth - 1, transcendental, probe);
    if (arity >= 2) n.b = grow(t, rng, depth - 1, transcendental, probe);
    if (arity == 3) n.c = grow(t, rng, depth - 1, transcendental, probe);
    const std::size_t ta = type_index(eval(t, n.a, probe));
    const std::size_t tb = n.b >= 0 ? type_index(eval(t, n.b, probe)) : 0;
    const bool ok = n.k == kind::mod ? ta < 5 && tb < 5 : arity != 1 || fits(n.k, ta);
    if (ok) {
      t.push_back(n);
      return static_cast<int>(t.size()) - 1;
    }
  }
}

std::size_t random_size(splitmix& rng) {
  constexpr std::size_t top = (std::size_t{1} << 20) + 7;
  switch (rng.below(8)) {
    case 0: return rng.below(5);
    case 1: return top;
    case 2: return std::size_t{1} << (9 + rng.below(4));  // block boundaries
    case 3: return (std::size_t{1} << (9 + rng.below(4))) + 1;
    default: return rng.below(5000);
  }
}

template <class T>
T random_element(splitmix& rng) {
  using L = std::numeric_limits<T>;
  const std::uint64_t r = rng();
  if constexpr (std::is_floating_point_v<T>) {
    const T specials[] = {T(0), T(-0.0), L::infinity(), -L::infinity(), L::quiet_NaN(), L::max(), L::lowest(),
                          L::denorm_min(), T(1), T(-1)};
    if (r % 8 == 0) return specials[(r >> 8) % std::size(specials)];
    return static_cast<T>(static_cast<double>(static_cast<std::int64_t>(r >> 20) % 20001) / 100.0 - 100.0);
  } else {
    const T specials[] = {T(0), T(1), T(-1), L::min(), L::max(), T(L::min() + 1)};
    if (r % 6 == 0) return specials[(r >> 8) % std::size(specials)];
    if (r % 6 == 1) return static_cast<T>(r);
    return static_cast<T>(static_cast<std::int64_t>((r >> 8) % 2001) - 1000);
  }
}


enum class where_to { interpreter, simulated, gpu };

// One random case: false after a failure (with `what` saying which).
template <class T>
bool run_case(splitmix& rng, where_to w, bool transcendental, std::string& what) {
  tree t;
  const int root = grow(t, rng, static_cast<int>(1 + rng.below(6)), transcendental, val(T(1)));
  parmap::detail::program_builder b(parmap::detail::vtype_for<T>());
  const val traced_root = eval(t, root, val(traced<T>(&b, b.input())));
  const int id = std::visit(
      [&](const auto& v) {
        using V = std::remove_cvref_t<decltype(v)>;
        if constexpr (is_plain<V>) {
          return parmap::detail::lift<V>(&b, v);  // the tree ignores its input
        } else {
          return v.id();
        }
      },
      traced_root);
  std::optional<parmap::detail::program> prog;
  try {
    prog = b.finish(id, parmap::detail::vtype_for<T>());
  } catch (const std::invalid_argument&) {
    return true;  // over a program's limits: another tree
  }
  const std::size_t n = random_size(rng);
  std::vector<T> in(n);
  for (auto& x : in) x = random_element<T>(rng);
  std::vector<T> expected(n);
  for (std::size_t i = 0; i < n; ++i) expected[i] = to_element<T>(eval(t, root, val(in[i])));
  const auto call = parmap::detail::program_call(*prog, parmap::detail::dtype_of<T>::value);
  // At any offset in a cache line: the interpreter's first block ends at the
  // output's first line start (host/program_cpu.cpp), of every length.
  const std::size_t at = rng.below(16);
  std::vector<T> buf(n + 16, T(7));
  const std::span<T> out(buf.data() + at, n);
  const int jobs[] = {1, 2, -1};
  parmap::report r;
  parmap::detail::map_op(call, in.data(), out.data(), n,
                         {.where = w == where_to::interpreter ? backend::cpu : backend::gpu,
                          .n_jobs = jobs[rng.below(3)], .out_report = &r},
                         nullptr);
  what = b.text(id) + " on " + parmap::detail::numpy_name(parmap::detail::dtype_of<T>::value) +
         ", n = " + std::to_string(n) + (w == where_to::interpreter ? ", interpreter" : ", device");
  const bool exact = w != where_to::gpu || !transcendental;
  const std::vector<T> got(out.begin(), out.end());
  const auto match = parmap::test::elements_match<T>(expected, got, exact, 8);
  EXPECT_TRUE(match) << what;
  const bool inside = std::all_of(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(at),
                                  [](T v) { return v == T(7); }) &&
                      std::all_of(buf.begin() + static_cast<std::ptrdiff_t>(at + n), buf.end(),
                                  [](T v) { return v == T(7); });
  EXPECT_TRUE(inside) << what << ": wrote outside the output span";
  bool as_baseline = true;
  if (w == where_to::interpreter && n > 0) {  // PARMAP_CPU_ISA's loops, bit for bit the baseline loops'
    const std::string loops = std::string("CPU loops: ") + parmap::detail::active_cpu_kernels().name;
    EXPECT_NE(r.reason.find(loops), std::string::npos) << r.reason;
    std::vector<T> base(n, T(7));
    parmap::detail::cpu_kernels_for(parmap::detail::cpu_isa::baseline).program(*prog, in.data(), base.data(), 0, n);
    as_baseline = static_cast<bool>(parmap::test::elements_match<T>(base, got, true));  // any NaN matching any NaN
    EXPECT_TRUE(as_baseline) << what << ": differs from the baseline loops";
  }
  return static_cast<bool>(match) && inside && as_baseline;
}

void run_cases(std::vector<where_to> paths, bool transcendental, std::uint64_t cases) {
  const std::uint64_t seed = env_number("PARMAP_TEST_SEED", std::random_device{}());
  std::cout << "[ property ] seed " << seed << " (rerun with PARMAP_TEST_SEED=" << seed << ")\n";
  splitmix rng{seed};
  for (std::uint64_t c = 0; c < cases; ++c) {
    const where_to w = paths[rng.below(paths.size())];
#if defined(PARMAP_TEST_SIM)
    std::optional<parmap::test::sim_backend> sim;
    std::optional<parmap::test::use_backend> installed;
    if (w == where_to::simulated) {
      sim.emplace();
      installed.emplace(*sim);
    }
#endif
    std::string what;
    bool ok = true;
    parmap::test::with_type(static_cast<dtype>(rng.below(4)),
                            [&]<class T>() { ok = run_case<T>(rng, w, transcendental, what); });
    if (!ok) {
      ADD_FAILURE() << "case " << c << " of seed " << seed << ": " << what;
      return;
    }
  }
}

TEST(ElementwiseProperty, RandomTreesMatchCppOnTheInterpreterAndTheSimulatedGpu) {
  std::vector<where_to> paths = {where_to::interpreter};
#if defined(PARMAP_TEST_SIM)
  paths.push_back(where_to::simulated);
#endif
  run_cases(paths, true, env_number("PARMAP_PROPERTY_CASES", 400));
}

// Each instruction set and vector width this CPU has, forced in turn with
// PARMAP_CPU_ISA and PARMAP_CPU_VECTOR_BITS: the interpreter against C++ and
// against the baseline loops, bit for bit.
TEST(ElementwiseProperty, EveryInstructionSetOfThisCpuMatchesCppAndTheBaselineLoops) {
  const std::uint64_t tables = parmap::detail::all_cpu_kernels().size();
  const int ran = parmap::test::for_each_cpu_isa([&](const parmap::detail::cpu_kernels&) {
    run_cases({where_to::interpreter}, true, env_number("PARMAP_PROPERTY_CASES", 400) * 3 / 2 / tables);
  });
  EXPECT_GE(ran, 1);
}

// A real GPU: arithmetic, comparisons, where and the memory ops bit for bit.
TEST(GpuElementwiseProperty, RandomArithmeticTreesMatchCppOnTheGpu) {
  if (!parmap::gpu_available()) GTEST_SKIP() << "no GPU: " << parmap::gpu_description();
  run_cases({where_to::gpu}, false, env_number("PARMAP_PROPERTY_CASES", 400));
}

}  // namespace
