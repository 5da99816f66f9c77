// The OpenMP loop every CPU map runs through (see cpu_loop.hpp). OpenMP is
// the library's private dependency: callers need no -fopenmp to get threads.
#include "parmap/detail/cpu_loop.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "parmap/detail/nesting.hpp"

namespace parmap::detail {

void cpu_map(chunk_ref chunk, std::size_t first, std::size_t n, int threads) {
  failure fail(n);
#if defined(_OPENMP)
  if (threads > 1) {
    const std::size_t count = n - first;
    // The chunk reference by value in the region's data: a worker reads it
    // with the rest, not through a pointer into this frame.
    PARMAP_OMP(parallel num_threads(threads) firstprivate(chunk))
    {
      const nested_scope nested;
      const auto [b, e] = static_chunk(count, omp_get_thread_num(), omp_get_num_threads());
      if (b < e) chunk(first + b, first + e, fail);
    }
    fail.rethrow_if_failed();
    return;
  }
#endif
  (void)threads;
  chunk(first, n, fail);
  fail.rethrow_if_failed();
}

}  // namespace parmap::detail
