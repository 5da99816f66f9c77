// The exceptions parmap throws. All derive from parmap::error.
#pragma once

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace parmap {

/// @brief Base of every parmap-specific exception (itself a std::runtime_error).
/// Invalid arguments (short output span, bad n_jobs) are reported with
/// std::invalid_argument instead, as the standard library does.
struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// @brief The GPU was forced (options, scoped_backend or PARMAP_BACKEND=gpu) but
/// cannot run this call: no usable GPU, a CPU-only build, or a callable with
/// no GPU implementation. what() gives the reason. Never replaced by a silent CPU run.
struct backend_unavailable : error {
  using error::error;
};

/// @brief A CUDA call failed. what() names the CUDA error (e.g.
/// "cudaErrorMemoryAllocation"); code() is the numeric cudaError_t value.
struct gpu_error : error {
  gpu_error(const std::string& what, int code) : error(what), code_(code) {}
  /// The cudaError_t value (0 when the failure was not a CUDA status).
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

namespace detail {
// what() of the exception in e, or a phrase for one not derived from
// std::exception (or "no exception" for a null e).
std::string describe(const std::exception_ptr& e);
}  // namespace detail

/// @brief The user's callable threw. index() is the lowest index at which it
/// threw among the elements that ran; cause() is the original exception
/// (rethrow it with std::rethrow_exception to inspect it).
struct task_error : error {
  task_error(std::size_t index, std::exception_ptr cause);
  /// Index of the first failing element (or task).
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  /// The exception the callable threw.
  [[nodiscard]] std::exception_ptr cause() const noexcept { return cause_; }

 protected:
  /// For derived errors with their own message.
  task_error(std::size_t index, std::exception_ptr cause, const std::string& what)
      : error(what), index_(index), cause_(std::move(cause)) {}

 private:
  std::size_t index_;
  std::exception_ptr cause_;
};

/// @brief A bad PARMAP_* environment value or an inconsistent option;
/// what() names the variable and the value.
struct config_error : error {
  using error::error;
};

}  // namespace parmap
