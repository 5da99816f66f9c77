// CPU-only builds: no profiler ranges.
#include "parmap/detail/profile.hpp"

namespace parmap::detail {

bool profiling() noexcept { return false; }
void profile_push(const char*) noexcept {}
void profile_pop() noexcept {}

}  // namespace parmap::detail
