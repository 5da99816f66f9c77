// The op catalogue's names and its one constructor from run-time values, all
// made from PARMAP_OP_LIST and PARMAP_TYPE_LIST (see catalogue.hpp).
#include "parmap/detail/catalogue.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace parmap::detail {

const char* op_name(op_code c) noexcept {
  switch (c) {
#define PARMAP_X(name, ...) \
  case op_code::name:       \
    return #name;
    PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
    case op_code::program: return "elementwise";
  }
  return "?";
}

const char* dtype_name(dtype t) noexcept {
  switch (t) {
#define PARMAP_Y(name, ...) \
  case dtype::name:         \
    return #name;
    PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  }
  return "?";
}

const char* numpy_name(dtype t) noexcept {
  switch (t) {
#define PARMAP_Y(name, type, numpy) \
  case dtype::name:                 \
    return numpy;
    PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  }
  return "?";
}

namespace {

// p converted to T as C++ converts it; a value T cannot hold is an error,
// not undefined behaviour.
template <class T>
T convert(const op_param& p) {
  if constexpr (std::is_floating_point_v<T>) {
    return p.is_int ? static_cast<T>(p.i) : static_cast<T>(p.f);
  } else {
    if (p.is_int) {
      if (p.i < std::numeric_limits<T>::min() || p.i > std::numeric_limits<T>::max()) {
        throw std::invalid_argument("parameter out of range for the array's integer type");
      }
      return static_cast<T>(p.i);
    }
    const double v = std::trunc(p.f);
    if (!(v >= static_cast<double>(std::numeric_limits<T>::min()) &&
          v < -static_cast<double>(std::numeric_limits<T>::min()))) {
      throw std::invalid_argument("parameter is NaN or out of range for the array's integer type");
    }
    return static_cast<T>(v);
  }
}

// The op made by ops::<name>(params converted to T), for T.
template <class T>
std::optional<op_call> typed_op_call(op_code code, const op_param* p) {
  switch (code) {
#define PARMAP_X(name, cost, params, doc, ...)                                         \
  case op_code::name: {                                                                \
    using Fn = __VA_ARGS__;                                                            \
    if constexpr (!Fn::template supports<T>) {                                         \
      return std::nullopt;                                                             \
    } else if constexpr (param_count(params) == 0) {                                   \
      return make_op_call<T>(ops::name);                                               \
    } else if constexpr (param_count(params) == 1) {                                   \
      return make_op_call<T>(ops::name(convert<T>(p[0])));                             \
    } else {                                                                           \
      return make_op_call<T>(ops::name(convert<T>(p[0]), convert<T>(p[1])));          \
    }                                                                                  \
  }
    PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
    case op_code::program: break;
  }
  return std::nullopt;
}

int params_of(op_code code) noexcept {
  switch (code) {
#define PARMAP_X(name, cost, params, ...) \
  case op_code::name:                     \
    return param_count(params);
    PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
    case op_code::program: break;
  }
  return 0;
}

}  // namespace

std::optional<op_call> make_op_call(op_code code, dtype t, const op_param* params, int count) {
  if (count != params_of(code)) {
    throw std::invalid_argument(std::string(op_name(code)) + " takes " + std::to_string(params_of(code)) +
                                " parameters, got " + std::to_string(count));
  }
  switch (t) {
#define PARMAP_Y(name, type, ...) \
  case dtype::name:               \
    return typed_op_call<type>(code, params);
    PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  }
  return std::nullopt;
}

}  // namespace parmap::detail
