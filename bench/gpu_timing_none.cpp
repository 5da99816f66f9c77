// parmap-bench's GPU timers in a build without CUDA: there is no GPU.
#include <stdexcept>

#include "gpu_timing.hpp"

namespace parmap::bench {
gpu_machine describe_gpu() { return {}; }
double time_d2d_copy(void*, const void*, std::size_t, int) {
  throw std::logic_error("parmap-bench: built without CUDA");
}
double time_pinned_roundtrip(std::size_t, int) { throw std::logic_error("parmap-bench: built without CUDA"); }
double time_pinned_duplex(std::size_t, int) { throw std::logic_error("parmap-bench: built without CUDA"); }
double time_copy_during_duplex(std::size_t, int, const std::function<void()>&) {
  throw std::logic_error("parmap-bench: built without CUDA");
}
double time_catalogue_kernel(const detail::op_call&, const void*, void*, std::size_t, int) {
  throw std::logic_error("parmap-bench: built without CUDA");
}
void release_gpu_scratch() {}
}  // namespace parmap::bench
