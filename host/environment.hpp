// PARMAP_* environment variables, read on every call (one pass over environ)
// so that a program or test may change them between calls.
#pragma once

#include <cstddef>
#include <optional>

#include "parmap/options.hpp"

namespace parmap::detail {

struct environment {
  std::optional<backend> where;                    // PARMAP_BACKEND=cpu|gpu|auto
  bool verbose = false;                            // PARMAP_VERBOSE=1
  int progress = 0;                                // PARMAP_PROGRESS=0|1|force -> 0, 1, 2
  std::optional<std::size_t> gpu_min_elements;     // PARMAP_GPU_MIN_ELEMENTS=N
  std::optional<std::size_t> max_blocking;         // PARMAP_MAX_BLOCKING=N (>= 1)
};

// Throws config_error naming the variable and the value when one is bad.
environment read_environment();

// Scope set by the innermost parmap::scoped_backend on this thread.
struct scope_setting {
  backend where = backend::automatic;
  int n_jobs = -1;
};
scope_setting current_scope() noexcept;

}  // namespace parmap::detail
