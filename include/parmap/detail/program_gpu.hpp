// A traced program (detail/program.hpp) in the form the GPU functor runs:
// an accumulator machine. Each step's result stays in the thread's own
// registers for the next step, and is written to the register file (local
// memory on the GPU) only when a later step reads it again; the input stays
// in registers, and constants are read from the program itself. So the map
// x*x + 2*x + 1 touches no local memory at all, where the register machine
// read two operands from it and wrote one result per instruction. Each step
// is still evaluated by run_instr, on operand slots that the compiler keeps
// in registers, so the GPU computes exactly what the CPU's interpreter does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "program.hpp"

namespace parmap::detail {

// Where a step's operand comes from: kind << 6 | index.
enum class source_kind : std::uint8_t { file = 0, acc = 1, input = 2, konst = 3 };
constexpr std::uint8_t source(source_kind k, int index) noexcept {
  return static_cast<std::uint8_t>(static_cast<unsigned>(k) << 6 | static_cast<unsigned>(index));
}
constexpr std::uint8_t no_spill = 0xff;

// One instruction of the program: its op and types (the instruction's
// register fields are not used), where operands a, b and c come from, and
// the register the result is also kept in (no_spill: none).
struct alignas(16) gpu_step {
  instr ins{};
  std::uint8_t src[3]{};
  std::uint8_t spill = no_spill;
};
static_assert(sizeof(gpu_step) == 16);

// The program and its steps, uploaded as one block.
struct gpu_program {
  program p{};
  gpu_step steps[program::max_instructions]{};
  std::uint8_t count = 0;
  std::uint8_t result = 0;  // where the result comes from
  bool narrow = false;      // every value is of the input's type or bool: only_type<T> runs it
};
static_assert(std::is_trivially_copyable_v<gpu_program>);

// p's steps (host/program.cpp).
gpu_program make_gpu_program(const program& p);

// A value's bits, and back: the accumulator holds any type's value.
template <class V>
PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE std::uint64_t to_bits(V v) noexcept {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof v);
  return bits;
}
template <class V>
PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE V from_bits(std::uint64_t bits) noexcept {
  V v;
  std::memcpy(static_cast<void*>(&v), &bits, sizeof v);
  return v;
}

static_assert(sizeof(value) == 8);

// A constant's bits in one read: on the GPU as the union's 64-bit member
// (type punning through a union, which GCC and nvcc define). A copy of the
// value as V is read byte by byte there, and __ldg kept the whole narrow f32
// interpreter in local memory (32 registers, a 1520-byte stack frame and 824
// local stores, against 47, 800 and 12).
PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE std::uint64_t load_bits(const value& v) noexcept {
#if defined(__CUDA_ARCH__)
  return v.u64;
#else
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
#endif
}

// L elements of each value type, apart: a slot is read and written as one
// type per step, so that the compiler keeps it in registers (one array of
// bytes read as several types would be split into bytes).
template <std::size_t L>
struct typed_lanes {
#define PARMAP_V(name, type, ...) type name[L];
  PARMAP_VALUE_TYPE_LIST(PARMAP_V)
#undef PARMAP_V
  template <class V>
  PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE V* of() noexcept {
#define PARMAP_V(name, type, ...) \
  if constexpr (std::is_same_v<V, type>) return name;
    PARMAP_VALUE_TYPE_LIST(PARMAP_V)
#undef PARMAP_V
  }
};

// run_instr's registers for one step of L elements (values of Types): slots
// 0, 1 and 2 are the step's operands, filled from their sources when
// run_instr asks for them (as the type it asks for); slot 3 is the result,
// which commit() keeps as the accumulator for the next step, and in the
// register file when a later step reads it.
template <class T, std::size_t L, class Types>
struct step_regs {
  const gpu_program& g;
  const T* x;
  value (*file)[L];
  const std::uint8_t* src;
  std::uint64_t (&acc)[L];
  typed_lanes<L> slot[4];  // fresh for each step: nothing in them outlives it

  PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE step_regs(const gpu_program& program, const T* input,
                                                    value (*registers)[L], const std::uint8_t* sources,
                                                    std::uint64_t (&accumulator)[L]) noexcept
      : g(program), x(input), file(registers), src(sources), acc(accumulator) {}

  template <class V>
  PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE V* at(int n) noexcept {
    V* buf = slot[n].template of<V>();
    if (n == 3) return buf;
    const std::uint8_t s = src[n];
    const int index = s & 63;
    switch (static_cast<source_kind>(s >> 6)) {
      case source_kind::acc:
        for (std::size_t i = 0; i < L; ++i) buf[i] = from_bits<V>(acc[i]);
        break;
      case source_kind::input:
        for (std::size_t i = 0; i < L; ++i) {
          if constexpr (std::is_same_v<V, T>) {
            buf[i] = x[i];
          } else {
            buf[i] = V{};  // never read: the input is read as T
          }
        }
        break;
      case source_kind::konst: {
        const V c = from_bits<V>(load_bits(g.p.consts[index]));
        for (std::size_t i = 0; i < L; ++i) buf[i] = c;
        break;
      }
      case source_kind::file: {
        const V* r = reinterpret_cast<const V*>(&file[index][0]);
        for (std::size_t i = 0; i < L; ++i) buf[i] = r[i];
        break;
      }
    }
    return buf;
  }

  // The step's result (of type t) into the accumulator, and into register
  // `spill` unless that is no_spill.
  PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE void commit(vtype t, std::uint8_t spill) noexcept {
    on_vtype<Types>(t, [&]<class V>() {
      const V* r = slot[3].template of<V>();
      for (std::size_t i = 0; i < L; ++i) acc[i] = to_bits(r[i]);
      if (spill != no_spill) {
        V* f = reinterpret_cast<V*>(&file[spill][0]);
        for (std::size_t i = 0; i < L; ++i) f[i] = r[i];
      }
    });
  }
};

// Step k in one 16-byte read (all threads read the same step at once).
PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE gpu_step load_step(const gpu_program& g, int k) noexcept {
  gpu_step s;
#if defined(__CUDA_ARCH__)
  const uint4 w = __ldg(reinterpret_cast<const uint4*>(&g.steps[k]));
  std::memcpy(static_cast<void*>(&s), &w, sizeof s);
#else
  std::memcpy(static_cast<void*>(&s), &g.steps[k], sizeof s);
#endif
  return s;
}

// The type of an instruction's result.
PARMAP_HOST_DEVICE constexpr vtype result_type(const instr& i) noexcept {
  return i.op >= iop::eq && i.op <= iop::ge ? vtype::b8 : i.type;
}

// y[0, L) = the program on x[0, L). Types: all_types, or only_type<T> for a
// narrow program.
template <class T, std::size_t L, class Types = all_types>
PARMAP_HOST_DEVICE PARMAP_DEVICE_INLINE void run_gpu_program(const gpu_program& g, const T* x, T* y) {
  T in[L];
  for (std::size_t i = 0; i < L; ++i) in[i] = x[i];
  value file[program::max_registers][L];
  std::uint64_t acc[L]{};
  const std::integral_constant<std::size_t, L> lanes{};
  const int count = g.count;
  for (int k = 0; k < count; ++k) {
    gpu_step s = load_step(g, k);
    s.ins.a = 0;
    s.ins.b = 1;
    s.ins.c = 2;
    s.ins.dst = 3;
    s.ins.konst = 0;
    step_regs<T, L, Types> regs{g, in, file, s.src, acc};
    run_instr<Types>(g.p, s.ins, regs, lanes);
    regs.commit(result_type(s.ins), s.spill);
  }
  const std::uint8_t result = g.result;
  step_regs<T, L, Types> regs{g, in, file, &result, acc};
  const T* r = regs.template at<T>(0);
  for (std::size_t i = 0; i < L; ++i) y[i] = r[i];
}

}  // namespace parmap::detail
