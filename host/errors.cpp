// Messages of the error types and names of enums.
#include <string>

#include "parmap/detail/catalogue.hpp"
#include "parmap/errors.hpp"
#include "parmap/options.hpp"

namespace parmap {

std::string detail::describe(const std::exception_ptr& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
  return "no exception";
}

task_error::task_error(std::size_t index, std::exception_ptr cause)
    : error("parmap: the callable threw at index " + std::to_string(index) + ": " + detail::describe(cause)),
      index_(index),
      cause_(std::move(cause)) {}

namespace detail {

const char* op_name(op_code c) noexcept {
  switch (c) {
#define PARMAP_X(name, ...) \
  case op_code::name:       \
    return #name;
    PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
  }
  return "?";
}

const char* dtype_name(dtype t) noexcept {
  switch (t) {
#define PARMAP_Y(name, type) \
  case dtype::name:          \
    return #name;
    PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  }
  return "?";
}

}  // namespace detail
}  // namespace parmap
