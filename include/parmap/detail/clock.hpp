// The one clock parmap times with (reports, adaptive runs, progress, benchmarks).
#pragma once

#include <chrono>

namespace parmap::detail {

// Seconds on a steady clock.
inline double now_seconds() noexcept {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

}  // namespace parmap::detail
