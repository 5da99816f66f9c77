// A traced program's kernels for the integer types (program_transform.hpp),
// compiled apart from the floating types' so that the two build side by side.
#include <cstdint>

#include "program_transform.hpp"

namespace parmap::detail::PARMAP_KERNEL_NS {

template void transform_program<std::int32_t>(const void*, void*, std::size_t, void*, const program&);
template void transform_program<std::int64_t>(const void*, void*, std::size_t, void*, const program&);

}  // namespace parmap::detail::PARMAP_KERNEL_NS
