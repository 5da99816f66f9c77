// Compiled by the user_lambda_vectorises test with -fopt-info-vec: the chunk
// body of a map of a user's lambda is instantiated here, in the caller's
// translation unit, and g++ must report run_range's loop as vectorised.
#include <parmap/parmap.hpp>

#include <span>

void poly(std::span<const float> x, std::span<float> y) {
  parmap::map([](float v) noexcept { return v * v + 2.0F * v + 1.0F; }, x, y);
}
