// A traced program's kernels for the floating types, and program_kernel, which
// picks the element type's (program_transform.hpp). Compiled by nvcc for the
// GPU, and (through program_transform_omp.cpp) by g++ with
// THRUST_DEVICE_SYSTEM_OMP so tests run the same code everywhere.
#include "catalogue_kernel.hpp"
#include "parmap/detail/catalogue.hpp"
#include "program_transform.hpp"

namespace parmap::detail::PARMAP_KERNEL_NS {

void program_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx) {
  const auto& call = *static_cast<const op_call*>(ctx);
  switch (call.type) {  // the device path maps T to T only
#define PARMAP_Y(name, type, ...)                                                           \
  case dtype::name:                                                                         \
    transform_program<type>(in, out, n, stream, program_of(call));                          \
    return;
    PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  }
}

}  // namespace parmap::detail::PARMAP_KERNEL_NS
