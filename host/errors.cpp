// Messages of the error types.
#include <string>
#include <utility>

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

}  // namespace parmap
