// parmap-elementwise-bench without CUDA: no native GPU functor.
#include <stdexcept>

#include "elementwise_native.hpp"

namespace parmap::bench {
bool native_available() { return false; }
void map_native_poly(const float*, float*, std::size_t) {
  throw std::logic_error("parmap-elementwise-bench: built without CUDA");
}
}  // namespace parmap::bench
