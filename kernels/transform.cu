// The precompiled op catalogue: thrust::transform for every built-in op and
// element type; a traced program goes on to program_kernel
// (program_transform.cu). Compiled by nvcc for the GPU, and (through
// transform_omp.cpp) by g++ with THRUST_DEVICE_SYSTEM_OMP so tests run the
// same code everywhere.
#include <type_traits>

#include "catalogue_kernel.hpp"
#include "parmap/detail/catalogue.hpp"
#include "thrust_transform.hpp"

namespace parmap::detail::PARMAP_KERNEL_NS {

void catalogue_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx) {
  const auto& call = *static_cast<const op_call*>(ctx);
  if (call.code == op_code::program) {
    program_kernel(in, out, n, stream, ctx);
    return;
  }
  visit(call, [&]<class T, class Fn>(std::type_identity<T>, const Fn& f) {
    transform<T>(in, out, n, stream, f);
  });
}

}  // namespace parmap::detail::PARMAP_KERNEL_NS
