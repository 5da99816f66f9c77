// Profiler ranges: NVTX ranges in CUDA builds (kernels/profile_nvtx.cpp), so
// that nsys timelines show each map call and each GPU stage; nothing in
// CPU-only builds. A range's name is built only when a profiler is attached
// (NVTX_INJECTION64_PATH is set, as nsys and ncu do), so there is no cost
// otherwise.
#pragma once

#include <string>

namespace parmap::detail {

// A profiler is attached (read once).
bool profiling() noexcept;
void profile_push(const char* name) noexcept;
void profile_pop() noexcept;

// A range for the guard's lifetime; name() is called only when profiling.
class profile_range {
 public:
  template <class NameFn>
  explicit profile_range(NameFn&& name) {
    if (profiling()) {
      on_ = true;
      profile_push(std::string(name()).c_str());
    }
  }
  ~profile_range() {
    if (on_) profile_pop();
  }
  profile_range(const profile_range&) = delete;
  profile_range& operator=(const profile_range&) = delete;

 private:
  bool on_ = false;
};

}  // namespace parmap::detail
