// parmap::parallel's plan: which backend (always the host), how many workers.
#include <algorithm>
#include <string>

#include "environment.hpp"
#include "parmap/detail/cpu_loop.hpp"
#include "parmap/tasks.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace parmap::detail {

worker_limits plan_tasks(std::size_t n, bool all_blocking, const options& opt, decision& d) {
  check_arguments(0, 0, opt.n_jobs);
  const environment env = read_environment();
  const scope_setting scope = current_scope();
  d.verbose = env.verbose;
  d.explain = env.verbose || opt.out_report != nullptr;
  d.progress = opt.progress || env.progress > 0;
  d.progress_forced = env.progress == 2;
  d.used = backend::cpu;
  d.path = exec_path::blocking;

  const backend where = opt.where != backend::automatic   ? opt.where
                        : scope.where != backend::automatic ? scope.where
                                                            : env.where.value_or(backend::automatic);
  if (where == backend::gpu) {
    throw backend_unavailable("parmap::parallel: backend gpu forced, but tasks run on the host");
  }
  const int n_jobs = opt.n_jobs != -1 ? opt.n_jobs : scope.n_jobs;
#if defined(_OPENMP)
  const int cores = omp_get_max_threads();
#else
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
#endif
  const std::size_t cap = std::max<std::size_t>(
      1, std::min(n, n_jobs > 0 ? static_cast<std::size_t>(n_jobs)
                                : env.max_blocking.value_or(std::size_t{64})));
  worker_limits lim;
  lim.cap = static_cast<int>(cap);
  if (nested_depth() > 0) {
    lim = {1, 1};
    if (d.explain) d.reason = "nested call inside a parmap worker: serial";
  } else if (all_blocking || n_jobs > 0) {
    lim.start = lim.cap;
    if (d.explain) d.reason = std::to_string(lim.start) + " workers (" + (all_blocking ? "blocking tasks" : "n_jobs") + ")";
  } else {
    lim.start = std::min(lim.cap, std::max(1, cores));
    if (d.explain) {
      d.reason = std::to_string(lim.start) + " workers, up to " + std::to_string(lim.cap) + " while they wait";
    }
  }
  d.threads = lim.start;
  d.max_workers = lim.cap;
  return d.threads > 0 ? lim : worker_limits{};
}

}  // namespace parmap::detail
