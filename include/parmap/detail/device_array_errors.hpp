// The errors parmap::device_array throws (host/device_array.cpp), out of line
// so that the header template stays small.
#pragma once

#include <cstddef>

namespace parmap::detail {
[[noreturn]] void throw_size_mismatch(const char* what, std::size_t host_n, std::size_t device_n);
[[noreturn]] void throw_not_host_memory(const char* what);
}  // namespace parmap::detail
