// How deep this thread is inside parmap's own workers (OpenMP or task loop);
// maps called from a worker (nested maps) run serially on it
// (host/nesting.cpp).
#pragma once

namespace parmap::detail {

int nested_depth() noexcept;

// Marks the current thread as a parmap worker while it lives.
struct nested_scope {
  nested_scope() noexcept;
  ~nested_scope();
  nested_scope(const nested_scope&) = delete;
  nested_scope& operator=(const nested_scope&) = delete;
};

}  // namespace parmap::detail
