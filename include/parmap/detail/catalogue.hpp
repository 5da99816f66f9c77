// The precompiled op catalogue's type-erased call: which op, which element
// type, and the op's parameters already converted to that type. One visit
// function turns it back into the typed functor; the CPU loops (host/) and the
// Thrust transforms (kernels/) are both written as visitors of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include "../ops.hpp"
#include "op_code.hpp"

namespace parmap::detail {

template <class T>
struct dtype_of;
#define PARMAP_Y(name, type, ...)                        \
  template <>                                            \
  struct dtype_of<type> {                                \
    static constexpr dtype value = dtype::name;          \
  };
PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y

template <class T>
concept catalogue_type = requires { dtype_of<T>::value; };

// Bytes per element of t.
constexpr std::size_t dtype_size(dtype t) noexcept {
  switch (t) {
#define PARMAP_Y(name, type, ...) \
  case dtype::name:               \
    return sizeof(type);
    PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  }
  return 0;
}

// True when F is a built-in op with a precompiled kernel for T -> U.
template <class F, class T, class U>
concept catalogue_op = requires { F::parmap_op; } && catalogue_type<T> &&
                       std::same_as<T, U> && F::template supports<T>;

struct op_call {
  op_code code{};
  dtype type{};
  alignas(8) unsigned char params[16]{};
};

template <class T, class F>
op_call make_op_call(const F& f) noexcept {
  auto canonical = f.template rebind<T>();
  static_assert(std::is_trivially_copyable_v<decltype(canonical)> &&
                sizeof(canonical) <= sizeof(op_call::params));
  op_call c;
  c.code = F::parmap_op;
  c.type = dtype_of<T>::value;
  std::memcpy(c.params, &canonical, sizeof(canonical));
  return c;
}

// The functor c carries. On the GPU its params are read as two 64-bit words
// (they are 8-byte aligned): a memcpy of the byte array is one load per byte
// there (cuobjdump, sm_90: 4 or 8 LDG.E.U8 and the PRMTs to join them for
// each op a program applies).
template <class Fn>
PARMAP_HOST_DEVICE inline Fn load_op(const op_call& c) noexcept {
  static_assert(sizeof(Fn) <= sizeof(op_call::params) && std::is_trivially_copyable_v<Fn>);
  std::uint64_t w[2];
#if defined(__CUDA_ARCH__)
  const auto* words = reinterpret_cast<const std::uint64_t*>(c.params);
  w[0] = words[0];
  w[1] = words[1];
#else
  std::memcpy(w, c.params, sizeof w);
#endif
  Fn f{};
  std::memcpy(static_cast<void*>(&f), w, sizeof(Fn));  // as on the CPU, where the tests run it
  return f;
}

// Calls exec(std::type_identity<T>{}, functor) with the typed functor.
template <class T, class Exec>
void visit_typed(const op_call& c, Exec&& exec) {
  switch (c.code) {
#define PARMAP_X(name, cost, params, doc, ...)           \
  case op_code::name: {                                  \
    using Fn = __VA_ARGS__;                              \
    if constexpr (Fn::template supports<T>) {            \
      exec(std::type_identity<T>{}, load_op<Fn>(c));     \
      return;                                            \
    }                                                    \
    break;                                               \
  }
    PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
    case op_code::program: break;  // run by the program's own loops
  }
  throw std::logic_error("parmap: op not in the catalogue for this element type");
}

template <class Exec>
void visit(const op_call& c, Exec&& exec) {
  switch (c.type) {
#define PARMAP_Y(name, type, ...)     \
  case dtype::name:                   \
    visit_typed<type>(c, exec);       \
    return;
    PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  }
}

// A built-in op's parameter as a caller that is not C++ gave it (Python: an
// int or a float), converted to the element type as C++ would convert it.
struct op_param {
  double f = 0;          // the value as a float
  std::int64_t i = 0;    // and as an integer, exact when is_int
  bool is_int = false;
};

// The op_call of op `code` on element type `t` with these parameters (as
// many as PARMAP_OP_LIST lists), from the one list (host/catalogue.cpp):
// nullopt when the op has no form for t (sqrt on integers);
// std::invalid_argument when an integer parameter does not fit t, or a float
// one is NaN or out of t's range; also as ops::clamp, lo above hi.
std::optional<op_call> make_op_call(op_code code, dtype t, const op_param* params, int count);

}  // namespace parmap::detail
