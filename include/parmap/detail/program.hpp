// A traced element-wise function as data: a short program of typed
// instructions over a few registers. parmap::elementwise (C++) and
// @parmap.elementwise (Python) record it once (program_builder,
// host/program.cpp); the GPU runs it with one precompiled Thrust functor per
// element type (program_functor, in kernels/, also built for Thrust's OpenMP
// system) as an accumulator machine (program_gpu.hpp), the Python CPU path
// with a block-wise interpreter (host/program_cpu.cpp). Both evaluate every
// instruction with run_instr, so they compute the same thing, and every GPU
// thread runs the same instruction sequence (uniform control flow).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "../config.hpp"
#include "catalogue.hpp"

namespace parmap::detail {

// The types a program computes in. Smaller integers never occur: C++ and
// NumPy promote them first.
// V(enumerator, C++ type, NumPy's name)
#define PARMAP_VALUE_TYPE_LIST(V)  \
  V(b8, bool, "bool")              \
  V(i32, std::int32_t, "int32")    \
  V(i64, std::int64_t, "int64")    \
  V(u32, std::uint32_t, "uint32")  \
  V(u64, std::uint64_t, "uint64")  \
  V(f32, float, "float32")         \
  V(f64, double, "float64")

enum class vtype : std::uint8_t {
#define PARMAP_V(name, ...) name,
  PARMAP_VALUE_TYPE_LIST(PARMAP_V)
#undef PARMAP_V
};

// The vtype of a C++ arithmetic type after C++'s integral promotions (long
// and long long are both i64 on LP64).
template <class T>
PARMAP_HOST_DEVICE constexpr vtype vtype_for() noexcept {
  static_assert(std::is_arithmetic_v<T>);
  using P = decltype(+T{});  // integral promotion; bool stays bool only here
  if constexpr (std::is_same_v<T, bool>) {
    return vtype::b8;
  } else if constexpr (std::is_floating_point_v<P>) {
    static_assert(sizeof(P) == 4 || sizeof(P) == 8, "parmap::elementwise: long double is not supported");
    return sizeof(P) == 4 ? vtype::f32 : vtype::f64;
  } else if constexpr (std::is_signed_v<P>) {
    return sizeof(P) == 4 ? vtype::i32 : vtype::i64;
  } else {
    return sizeof(P) == 4 ? vtype::u32 : vtype::u64;
  }
}

constexpr vtype vtype_of(dtype t) noexcept {
  switch (t) {
    case dtype::f32: return vtype::f32;
    case dtype::f64: return vtype::f64;
    case dtype::i32: return vtype::i32;
    case dtype::i64: return vtype::i64;
  }
  return vtype::f64;
}

// The catalogue's dtype of t, when t is one of its element types.
constexpr std::optional<dtype> dtype_of_vtype(vtype t) noexcept {
  switch (t) {
    case vtype::f32: return dtype::f32;
    case vtype::f64: return dtype::f64;
    case vtype::i32: return dtype::i32;
    case vtype::i64: return dtype::i64;
    default: return std::nullopt;
  }
}

constexpr std::size_t vtype_size(vtype t) noexcept {
  switch (t) {
#define PARMAP_V(name, type, ...) \
  case vtype::name:               \
    return sizeof(type);
    PARMAP_VALUE_TYPE_LIST(PARMAP_V)
#undef PARMAP_V
  }
  return 0;
}

constexpr bool is_float(vtype t) noexcept { return t == vtype::f32 || t == vtype::f64; }
constexpr bool is_integer(vtype t) noexcept { return t != vtype::b8 && !is_float(t); }

// NumPy's name of t ("float32"), and C++'s ("float"), from the list.
const char* vtype_numpy_name(vtype t) noexcept;

// The instructions. I(name, operands, kind): kind says which value types it
// takes (any, number: not bool, integer, float) and whether it compares.
#define PARMAP_INSTR_LIST(I) \
  I(constant, 0, any)        \
  I(convert, 1, any)         \
  I(add, 2, any)             \
  I(sub, 2, number)          \
  I(mul, 2, any)             \
  I(div, 2, number)          \
  I(mod, 2, integer)         \
  I(floordiv, 2, number)     \
  I(floormod, 2, number)     \
  I(neg, 1, number)          \
  I(eq, 2, compare)          \
  I(ne, 2, compare)          \
  I(lt, 2, compare)          \
  I(le, 2, compare)          \
  I(gt, 2, compare)          \
  I(ge, 2, compare)          \
  I(where, 3, any)           \
  I(sqrt, 1, floating)       \
  I(rsqrt, 1, floating)      \
  I(exp, 1, floating)        \
  I(log, 1, floating)        \
  I(sin, 1, floating)        \
  I(cos, 1, floating)        \
  I(tanh, 1, floating)       \
  I(sigmoid, 1, floating)    \
  I(pow, 2, floating)        \
  I(abs, 1, any)             \
  I(min, 2, any)             \
  I(max, 2, any)             \
  I(minimum, 2, any)         \
  I(maximum, 2, any)         \
  I(apply, 1, any)            \
  I(muladd, 3, number)

enum class iop : std::uint8_t {
#define PARMAP_I(name, ...) name,
  PARMAP_INSTR_LIST(PARMAP_I)
#undef PARMAP_I
};

const char* iop_name(iop op) noexcept;

// One register's value.
union value {
  bool b8;
  std::int32_t i32;
  std::int64_t i64;
  std::uint32_t u32;
  std::uint64_t u64;
  float f32;
  double f64;
};

// dst = op(a, b, c) in `type` (comparisons: `type` is the operands'; the
// result is b8). constant: dst = consts[aux]; convert: from `from` to `type`;
// apply: dst = ops[aux](a), a built-in op of the catalogue; muladd: dst =
// a * b + c, rounded twice (finish() makes it from a product used once).
struct instr {
  iop op{};
  vtype type{};
  std::uint8_t dst = 0, a = 0, b = 0, c = 0, aux = 0;
  vtype from{};
  std::uint8_t konst = 0;  // operand 1 (a), 2 (b) or 3 (c) is consts[aux], not a register
};

// The program itself: a fixed-size, trivially copyable block (1 KiB at most),
// copied as it is to the GPU (within a gpu_program). code[0, first_body) loads the
// constants; the input is in register input_reg, the result (of type `out`)
// in result_reg. Neither the input's nor a constant's register is reused.
struct program {
  static constexpr int max_instructions = 64;
  static constexpr int max_registers = 24;
  static constexpr int max_constants = 24;
  static constexpr int max_ops = 8;

  instr code[max_instructions]{};
  value consts[max_constants]{};
  op_call ops[max_ops]{};
  std::uint8_t count = 0, first_body = 0, registers = 0, input_reg = 0, result_reg = 0;
  vtype in{}, out{};
  cost_class cost = cost_class::memory;
};
static_assert(std::is_trivially_copyable_v<program> && sizeof(program) <= 1024);

// The program an op_call of op_code::program carries (a pointer, valid for
// the call).
inline const program& program_of(const op_call& c) noexcept {
  const program* p = nullptr;
  std::memcpy(static_cast<void*>(&p), c.params, sizeof p);
  return *p;
}
inline op_call program_call(const program& p, dtype t) noexcept {
  op_call c;
  c.code = op_code::program;
  c.type = t;
  const program* ptr = &p;
  std::memcpy(c.params, static_cast<const void*>(&ptr), sizeof ptr);
  return c;
}

// Records a program, instruction by instruction, from the C++ tracer
// (elementwise.hpp) or the Python one (parmap/_trace.py). Values are numbered
// in the order they are made; the input is value 0. Each call checks its
// operands' types and throws std::invalid_argument naming what is wrong.
class program_builder {
 public:
  explicit program_builder(vtype in);

  vtype type_of(int v) const;
  int input() const noexcept { return 0; }
  int constant(vtype t, value v);
  int convert(int v, vtype to);                       // v itself when already `to`
  int unary(iop op, int a);                           // neg, abs, sqrt ... sigmoid
  int binary(iop op, int a, int b);                   // both of one type; compares give b8
  int where(int c, int a, int b);                     // c b8; a, b of one type
  int apply(const op_call& op, int a);                // a built-in op on a's type
  // The finished program returning value `result` converted to `out`:
  // unused values dropped, registers allocated. Throws std::invalid_argument
  // past program's limits.
  program finish(int result, vtype out) const;
  // Value v written as an expression ("x*x + 2*x + 1"); x is the input.
  std::string text(int v) const;

 private:
  struct node {
    iop op{};
    vtype type{};      // the result's type (b8 for compares)
    vtype operand{};   // the operands' type
    int a = -1, b = -1, c = -1;
    value k{};         // constant, or the operand held in the instruction
    op_call call{};    // apply
    std::uint8_t konst = 0;
  };
  static std::vector<bool> live_values(const std::vector<node>& nodes, int result);
  static void fuse(std::vector<node>& nodes, int result);
  int add_node(const node& n);
  void check(int v) const;
  std::vector<node> nodes_;
};

// ---- evaluation, shared by the GPU functor and the CPU interpreter --------

// Integer arithmetic wraps (computed in the unsigned type); a division or
// remainder by zero gives 0, and MIN / -1 gives MIN (as NumPy does; in C++
// both are undefined). floordiv/floormod round towards minus infinity, with
// NumPy's rules for floats.
template <class V>
PARMAP_HOST_DEVICE inline V p_add(V a, V b) noexcept {
  if constexpr (std::is_same_v<V, bool>) return a || b;  // NumPy's bool add
  else if constexpr (std::is_integral_v<V>) return static_cast<V>(static_cast<std::make_unsigned_t<V>>(a) + static_cast<std::make_unsigned_t<V>>(b));
  else return a + b;
}
template <class V>
PARMAP_HOST_DEVICE inline V p_sub(V a, V b) noexcept {
  if constexpr (std::is_integral_v<V>) return static_cast<V>(static_cast<std::make_unsigned_t<V>>(a) - static_cast<std::make_unsigned_t<V>>(b));
  else return a - b;
}
template <class V>
PARMAP_HOST_DEVICE inline V p_mul(V a, V b) noexcept {
  if constexpr (std::is_same_v<V, bool>) return a && b;
  else if constexpr (std::is_integral_v<V>) return static_cast<V>(static_cast<std::make_unsigned_t<V>>(a) * static_cast<std::make_unsigned_t<V>>(b));
  else return a * b;
}
template <class V>
PARMAP_HOST_DEVICE inline bool min_by_minus_one(V a, V b) noexcept {
  if constexpr (std::is_signed_v<V>) {
    return b == V(-1) && a == static_cast<V>(static_cast<std::make_unsigned_t<V>>(1) << (sizeof(V) * 8 - 1));
  } else {
    (void)a;
    (void)b;
    return false;
  }
}
template <class V>
PARMAP_HOST_DEVICE inline V p_div(V a, V b) noexcept {
  if constexpr (std::is_integral_v<V>) {
    if (b == V(0)) return V(0);
    if (min_by_minus_one(a, b)) return a;
    return static_cast<V>(a / b);
  } else {
    return a / b;
  }
}
template <class V>
PARMAP_HOST_DEVICE inline V p_mod(V a, V b) noexcept {
  if (b == V(0)) return V(0);
  if constexpr (std::is_signed_v<V>) {
    if (b == V(-1)) return V(0);
  }
  return static_cast<V>(a % b);
}
// NumPy's npy_divmod for floats (npymath), both results.
template <class V>
PARMAP_HOST_DEVICE inline V float_divmod(V a, V b, V& mod) noexcept {
  mod = static_cast<V>(::fmod(a, b));
  if (!b) return a / b;
  V div = (a - mod) / b;
  if (mod) {
    if ((b < V(0)) != (mod < V(0))) {
      mod += b;
      div -= V(1);
    }
  } else {
    mod = static_cast<V>(::copysign(V(0), b));
  }
  V floordiv;
  if (div) {
    floordiv = static_cast<V>(::floor(div));
    if (div - floordiv > V(0.5)) floordiv += V(1);
  } else {
    floordiv = static_cast<V>(::copysign(V(0), a / b));
  }
  return floordiv;
}
template <class V>
PARMAP_HOST_DEVICE inline V p_floordiv(V a, V b) noexcept {
  if constexpr (std::is_floating_point_v<V>) {
    if (!b) return a / b;
    V mod;
    return float_divmod(a, b, mod);
  } else {
    if (b == V(0)) return V(0);
    if (min_by_minus_one(a, b)) return a;
    V q = static_cast<V>(a / b);
    if constexpr (std::is_signed_v<V>) {
      if (((a < V(0)) != (b < V(0))) && static_cast<V>(q * b) != a) --q;
    }
    return q;
  }
}
template <class V>
PARMAP_HOST_DEVICE inline V p_floormod(V a, V b) noexcept {
  if constexpr (std::is_floating_point_v<V>) {
    if (!b) return static_cast<V>(::fmod(a, b));
    V mod;
    (void)float_divmod(a, b, mod);
    return mod;
  } else {
    if (b == V(0)) return V(0);
    if constexpr (std::is_signed_v<V>) {
      if (b == V(-1)) return V(0);
      const V r = static_cast<V>(a % b);
      return (r != V(0) && ((r < V(0)) != (b < V(0)))) ? static_cast<V>(r + b) : r;
    } else {
      return static_cast<V>(a % b);
    }
  }
}
template <class V>
PARMAP_HOST_DEVICE inline V p_abs(V a) noexcept {
  if constexpr (std::is_same_v<V, bool> || std::is_unsigned_v<V>) return a;
  else return absolute(a);
}
template <class V>
PARMAP_HOST_DEVICE inline V p_neg(V a) noexcept {
  if constexpr (std::is_same_v<V, bool>) return a;  // never recorded
  else if constexpr (std::is_integral_v<V>) return static_cast<V>(static_cast<std::make_unsigned_t<V>>(0) - static_cast<std::make_unsigned_t<V>>(a));
  else return -a;
}
template <class T>
struct int_limits {
  static constexpr T lo = std::numeric_limits<T>::min();
  static constexpr T hi = std::numeric_limits<T>::max();
};
// A float to an integer saturates (NaN gives 0); C++ leaves the out-of-range
// conversion undefined.
template <class To, class From>
PARMAP_HOST_DEVICE inline To p_convert(From x) noexcept {
  if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To> && !std::is_same_v<To, bool>) {
    if (!(x == x)) return To(0);
    const double d = static_cast<double>(x);
    if (d <= static_cast<double>(int_limits<To>::lo)) return int_limits<To>::lo;
    if (d >= static_cast<double>(int_limits<To>::hi)) return int_limits<To>::hi;
    return static_cast<To>(x);
  } else {
    return static_cast<To>(x);
  }
}
// NumPy's minimum and maximum: NaN propagates; of two equal values (-0.0
// and 0.0) the second.
template <class V>
PARMAP_HOST_DEVICE inline V p_minimum(V a, V b) noexcept {
  if constexpr (std::is_floating_point_v<V>) {
    if (a != a) return a;
    if (b != b) return b;
  }
  return a < b ? a : b;
}
template <class V>
PARMAP_HOST_DEVICE inline V p_maximum(V a, V b) noexcept {
  if constexpr (std::is_floating_point_v<V>) {
    if (a != a) return a;
    if (b != b) return b;
  }
  return a > b ? a : b;
}
template <class V>
PARMAP_HOST_DEVICE inline V p_sigmoid(V x) noexcept {
  return V(1) / (V(1) + m_exp(-x));
}

// f(a...), as a call on the GPU (PARMAP_DEVICE_OUTLINE).
template <class F, class... A>
PARMAP_HOST_DEVICE PARMAP_DEVICE_OUTLINE auto outlined(F f, A... a) noexcept {
  return f(a...);
}

// The value types an interpreter is built for: all of them, or (only_type<T>)
// T and bool alone, for a program whose values are all T or bool (a smaller
// GPU kernel: make_gpu_program says when a program is one).
struct all_types {};
template <class T>
struct only_type {
  using type = T;
};

// Calls f.template operator()<V>() with V the C++ type of t, one of Types.
template <class Types = all_types, class F>
PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE void on_vtype(vtype t, F&& f) {
  if constexpr (std::is_same_v<Types, all_types>) {
    switch (t) {
#define PARMAP_V(name, type, ...)      \
  case vtype::name:                    \
    f.template operator()<type>();     \
    return;
      PARMAP_VALUE_TYPE_LIST(PARMAP_V)
#undef PARMAP_V
    }
  } else {
    using T = typename Types::type;
    if (t == vtype_for<T>()) {
      f.template operator()<T>();
    } else {
      f.template operator()<bool>();
    }
  }
}

// Runs one instruction over `len` elements: regs.template at<V>(r) is
// register r's elements as V (one value on the GPU, a block on the CPU); its
// values' types are among Types.
template <class Types = all_types, class Regs, class Len>
PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE void run_instr(const program& p, const instr& ins, Regs& regs, Len len) {
  std::size_t n = 0;
  if constexpr (std::is_integral_v<Len>) {
    n = len;
  } else {
    n = Len::value;
  }
#define PARMAP_LOOP(expr)                                     \
  {                                                           \
    PARMAP_SIMD for (std::size_t i = 0; i < n; ++i) d[i] = (expr); \
  }
  switch (ins.op) {
    case iop::constant:
      on_vtype<Types>(ins.type, [&]<class V>() {
        V* d = regs.template at<V>(ins.dst);
        const V k = *reinterpret_cast<const V*>(&p.consts[ins.aux]);
        PARMAP_LOOP(k);
      });
      return;
    case iop::convert:
      on_vtype<Types>(ins.type, [&]<class To>() {
        on_vtype<Types>(ins.from, [&]<class From>() {
          To* d = regs.template at<To>(ins.dst);
          const From* a = regs.template at<From>(ins.a);
          PARMAP_LOOP((p_convert<To, From>(a[i])));
        });
      });
      return;
    case iop::where:
      on_vtype<Types>(ins.type, [&]<class V>() {
        V* d = regs.template at<V>(ins.dst);
        const bool* c = regs.template at<bool>(ins.a);
        const V* a = regs.template at<V>(ins.b);
        const V* b = regs.template at<V>(ins.c);
        PARMAP_LOOP(c[i] ? a[i] : b[i]);
      });
      return;
    case iop::apply:
      on_vtype<Types>(ins.type, [&]<class V>() {
        V* d = regs.template at<V>(ins.dst);
        const V* a = regs.template at<V>(ins.a);
        if constexpr (catalogue_type<V>) {
          const op_call& c = p.ops[ins.aux];
          // The op's own functor, chosen once for the whole block.
          using T = V;
          switch (c.code) {
#define PARMAP_X(name, cost, ps, doc, ...)                  \
  case op_code::name: {                                         \
    using Fn = __VA_ARGS__;                                     \
    if constexpr (Fn::template supports<V>) {                   \
      const Fn f = load_op<Fn>(c);                              \
      PARMAP_LOOP(outlined(f, a[i]));                           \
    }                                                           \
    break;                                                      \
  }
            PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
            case op_code::program: break;
          }
        } else {
          PARMAP_LOOP(a[i]);
        }
      });
      return;
    default: break;
  }
  // Two operands, either of which may be the instruction's constant.
  // The constant is read only when the instruction has one (aux means
  // something else otherwise, and a bool read from other bits is UB).
  auto two = [&]<class V, class D, class F>(D* d, const V* a, const V* b, F f) {
    if (ins.konst == 2) {
      const V k = *reinterpret_cast<const V*>(&p.consts[ins.aux]);
      PARMAP_LOOP(f(a[i], k));
    } else if (ins.konst == 1) {
      const V k = *reinterpret_cast<const V*>(&p.consts[ins.aux]);
      PARMAP_LOOP(f(k, b[i]));
    } else {
      PARMAP_LOOP(f(a[i], b[i]));
    }
  };
  if (ins.op >= iop::eq && ins.op <= iop::ge) {
    on_vtype<Types>(ins.type, [&]<class V>() {
      bool* d = regs.template at<bool>(ins.dst);
      const V* a = regs.template at<V>(ins.a);
      const V* b = regs.template at<V>(ins.b);
      switch (ins.op) {
        case iop::eq: two(d, a, b, [](V x, V y) { return x == y; }); break;
        case iop::ne: two(d, a, b, [](V x, V y) { return x != y; }); break;
        case iop::lt: two(d, a, b, [](V x, V y) { return x < y; }); break;
        case iop::le: two(d, a, b, [](V x, V y) { return x <= y; }); break;
        case iop::gt: two(d, a, b, [](V x, V y) { return x > y; }); break;
        default: two(d, a, b, [](V x, V y) { return x >= y; }); break;
      }
    });
    return;
  }
  on_vtype<Types>(ins.type, [&]<class V>() {
    V* d = regs.template at<V>(ins.dst);
    const V* a = regs.template at<V>(ins.a);
    const V* b = regs.template at<V>(ins.b);
    switch (ins.op) {
      case iop::add: two(d, a, b, [](V x, V y) { return p_add(x, y); }); return;
      case iop::mul: two(d, a, b, [](V x, V y) { return p_mul(x, y); }); return;
      case iop::abs: PARMAP_LOOP(p_abs(a[i])); return;
      case iop::min: two(d, a, b, [](V x, V y) { return y < x ? y : x; }); return;
      case iop::max: two(d, a, b, [](V x, V y) { return x < y ? y : x; }); return;
      case iop::minimum: two(d, a, b, [](V x, V y) { return p_minimum(x, y); }); return;
      case iop::maximum: two(d, a, b, [](V x, V y) { return p_maximum(x, y); }); return;
      case iop::muladd: {
        const V* c = regs.template at<V>(ins.c);
        if (ins.konst == 3) {
          const V k = *reinterpret_cast<const V*>(&p.consts[ins.aux]);
          PARMAP_LOOP(p_add(p_mul(a[i], b[i]), k));
        } else if (ins.konst == 2) {
          const V k = *reinterpret_cast<const V*>(&p.consts[ins.aux]);
          PARMAP_LOOP(p_add(p_mul(a[i], k), c[i]));
        } else {
          PARMAP_LOOP(p_add(p_mul(a[i], b[i]), c[i]));
        }
        return;
      }
      default: break;
    }
    if constexpr (!std::is_same_v<V, bool>) {
      switch (ins.op) {
        case iop::sub: two(d, a, b, [](V x, V y) { return p_sub(x, y); }); return;
        case iop::div: two(d, a, b, [](V x, V y) { return outlined([](V u, V w) { return p_div(u, w); }, x, y); }); return;
        case iop::floordiv: two(d, a, b, [](V x, V y) { return outlined([](V u, V w) { return p_floordiv(u, w); }, x, y); }); return;
        case iop::floormod: two(d, a, b, [](V x, V y) { return outlined([](V u, V w) { return p_floormod(u, w); }, x, y); }); return;
        case iop::neg: PARMAP_LOOP(p_neg(a[i])); return;
        default: break;
      }
    }
    if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
      if (ins.op == iop::mod) {
        two(d, a, b, [](V x, V y) { return outlined([](V u, V w) { return p_mod(u, w); }, x, y); });
      }
    }
    if constexpr (std::is_floating_point_v<V>) {
      switch (ins.op) {
        case iop::sqrt: PARMAP_LOOP(outlined([](V v) { return m_sqrt(v); }, a[i])); return;
        case iop::rsqrt: PARMAP_LOOP(outlined([](V v) { return V(1) / m_sqrt(v); }, a[i])); return;
        case iop::exp: PARMAP_LOOP(outlined([](V v) { return m_exp(v); }, a[i])); return;
        case iop::log: PARMAP_LOOP(outlined([](V v) { return m_log(v); }, a[i])); return;
        case iop::sin: PARMAP_LOOP(outlined([](V v) { return m_sin(v); }, a[i])); return;
        case iop::cos: PARMAP_LOOP(outlined([](V v) { return m_cos(v); }, a[i])); return;
        case iop::tanh: PARMAP_LOOP(outlined([](V v) { return m_tanh(v); }, a[i])); return;
        case iop::sigmoid: PARMAP_LOOP(outlined([](V v) { return p_sigmoid(v); }, a[i])); return;
        case iop::pow: two(d, a, b, [](V x, V y) { return outlined([](V u, V w) { return m_pow(u, w); }, x, y); }); return;
        default: break;
      }
    }
  });
#undef PARMAP_LOOP
}

}  // namespace parmap::detail
