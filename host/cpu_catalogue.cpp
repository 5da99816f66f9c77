// The built-in ops' CPU loops, precompiled once (at -O3, with OpenMP SIMD) for
// every op and element type of the catalogue, so that they vectorise whatever
// flags the caller compiles with.
#include "parmap/detail/cpu_catalogue.hpp"

#include <type_traits>

#include "parmap/detail/catalogue.hpp"
#include "parmap/detail/cpu_loop.hpp"
#include "parmap/detail/program_cpu.hpp"

namespace parmap::detail {

void catalogue_chunk(const op_call& c, const void* in, void* out, std::size_t b, std::size_t e,
                     failure& fail) {
  if (c.code == op_code::program) {
    program_chunk(program_of(c), in, out, b, e);
    return;
  }
  visit(c, [&]<class T, class Fn>(std::type_identity<T>, const Fn& f) {
    run_range(f, static_cast<const T*>(in), static_cast<T*>(out), b, e, fail);
  });
}

void cpu_catalogue(const op_call& c, const void* in, void* out, std::size_t first, std::size_t last,
                   int threads) {
  cpu_map([&](std::size_t b, std::size_t e, failure& fail) { catalogue_chunk(c, in, out, b, e, fail); },
          first, last, threads);
}

}  // namespace parmap::detail
