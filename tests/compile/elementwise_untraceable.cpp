// What parmap::elementwise cannot trace does not compile: each PARMAP_CASE
// is one such function (ctest checks the compiler's message); case 0 is a
// traceable one, so the file itself is known to compile.
#include <cmath>
#include <iostream>

#include "parmap/parmap.hpp"

int main() {
#if PARMAP_CASE == 0
  auto f = parmap::elementwise([](auto x) { return parmap::where(x > 0, x, -x); });
#elif PARMAP_CASE == 1  // if on the value
  auto f = parmap::elementwise([](auto x) {
    if (x > 0) return x;
    return -x;
  });
#elif PARMAP_CASE == 2  // ?: on the value
  auto f = parmap::elementwise([](auto x) { return x > 0 ? x * 1.0 : x * 2.0; });
#elif PARMAP_CASE == 3  // std:: math on the traced value
  auto f = parmap::elementwise([](auto x) { return std::exp(x); });
#elif PARMAP_CASE == 4  // I/O
  auto f = parmap::elementwise([](auto x) {
    std::cout << x;
    return x;
  });
#elif PARMAP_CASE == 5  // a non-generic lambda
  auto f = parmap::elementwise([](float x) { return x * 2; });
#endif
  return f(1.0f) > 0 ? 0 : 1;
}
