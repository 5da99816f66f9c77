// The scope parmap::scoped_backend sets on this thread (host/options.cpp).
#pragma once

#include "parmap/options.hpp"

namespace parmap::detail {

// Set by the innermost parmap::scoped_backend on this thread.
struct scope_setting {
  backend where = backend::automatic;
  int n_jobs = -1;
};
scope_setting current_scope() noexcept;

}  // namespace parmap::detail
