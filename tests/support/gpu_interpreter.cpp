#include "gpu_interpreter.hpp"

#include <cstdint>
#include <stdexcept>

#include "parmap/detail/op_code.hpp"

namespace parmap::test {
namespace {

template <class T, class Types>
void run_with(const detail::gpu_program& g, const T* x, T* y, std::size_t n, std::size_t lanes) {
  std::size_t i = 0;
  if (lanes == 4) {
    for (; i + 4 <= n; i += 4) detail::run_gpu_program<T, 4, Types>(g, x + i, y + i);
  }
  for (; i < n; ++i) detail::run_gpu_program<T, 1, Types>(g, x + i, y + i);
}

}  // namespace

template <class T>
void run_gpu_interpreter(const detail::gpu_program& g, const T* x, T* y, std::size_t n, std::size_t lanes,
                         bool narrow) {
  if (lanes != 1 && lanes != 4) throw std::invalid_argument("run_gpu_interpreter: lanes must be 1 or 4");
  if (narrow) {
    run_with<T, detail::only_type<T>>(g, x, y, n, lanes);
  } else {
    run_with<T, detail::all_types>(g, x, y, n, lanes);
  }
}

#define PARMAP_Y(name, type, ...)                                                                     \
  template void run_gpu_interpreter<type>(const detail::gpu_program&, const type*, type*, std::size_t, \
                                          std::size_t, bool);
PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y

}  // namespace parmap::test
