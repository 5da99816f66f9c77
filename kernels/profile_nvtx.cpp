// NVTX ranges for the profiler hooks (header-only NVTX3 from the CUDA toolkit).
#include <nvtx3/nvToolsExt.h>

#include <cstdlib>

#include "parmap/detail/profile.hpp"

namespace parmap::detail {

bool profiling() noexcept {
  static const bool attached = std::getenv("NVTX_INJECTION64_PATH") != nullptr;
  return attached;
}

void profile_push(const char* name) noexcept { nvtxRangePushA(name); }

void profile_pop() noexcept { nvtxRangePop(); }

}  // namespace parmap::detail
