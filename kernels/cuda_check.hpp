// CUDA's errors as parmap::gpu_error, for the CUDA backend (cuda_backend.cpp)
// and the program's kernels (program_transform.hpp).
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "parmap/errors.hpp"

namespace parmap::detail {

inline std::string cuda_error_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

// Throws gpu_error naming `what` and the CUDA error unless e is cudaSuccess.
inline void check_cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();  // clear a non-sticky error so later calls start clean
  throw gpu_error(std::string("parmap: ") + what + " failed (" + cuda_error_text(e) + ")", static_cast<int>(e));
}

}  // namespace parmap::detail
