// joblib-style tasks: calls with several arguments, run in parallel.
//
//   joblib                                          parmap
//   delayed(f)(a, b)                                parmap::delayed(f, a, b)
//   Parallel(n_jobs=4)(tasks)                       parmap::parallel(tasks, {.n_jobs = 4})
//   with parallel_backend("loky", n_jobs=-1): ...   parmap::scoped_backend guard(parmap::backend::cpu, -1);
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/results.hpp"
#include "detail/task_loop.hpp"
#include "errors.hpp"
#include "options.hpp"
#include "traits.hpp"

namespace parmap {

/// @brief One deferred call `f(args...)`, made by parmap::delayed; R is what f
/// returns (void allowed). Holds copies of f and of the arguments.
template <class R>
class task {
 public:
  using result_type = R;
  task(std::function<R()> call, bool blocking) : call_(std::move(call)), blocking_(blocking) {}
  /// Runs the call.
  R operator()() const { return call_(); }
  /// True when the callable was marked with parmap::blocking.
  [[nodiscard]] bool blocking() const noexcept { return blocking_; }

 private:
  std::function<R()> call_;
  bool blocking_;
};

/// @brief Defers `f(args...)`: the arguments are copied (or moved) now, as
/// joblib pickles them, and the call runs later in parmap::parallel.
/// @code
/// std::vector<parmap::task<double>> tasks;
/// for (double a : xs) tasks.push_back(parmap::delayed(slow_square, a));
/// std::vector<double> r = parmap::parallel(std::move(tasks));
/// @endcode
template <class F, class... A>
auto delayed(F f, A... args) {
  using R = std::invoke_result_t<F&, A&...>;
  constexpr bool marked = is_blocking_v<F>;
  return task<R>(
      [f = std::move(f), tup = std::make_tuple(std::move(args)...)]() mutable -> R {
        return std::apply(f, tup);
      },
      marked);
}

/// @brief Runs the tasks on the host and returns their results in input order
/// (nothing for void). Tasks run one at a time per worker; the loop starts
/// with one worker per core (n_jobs workers when n_jobs > 0) and adds workers
/// while they wait (see docs/blocking.md), up to
/// PARMAP_MAX_BLOCKING (64). Tasks marked with parmap::blocking start at that cap.
/// @throws task_error for the lowest failing task index (tasks above it are not
/// started; those running are waited for); backend_unavailable if the GPU is
/// forced; std::invalid_argument for a bad n_jobs.
template <class R>
auto parallel(std::vector<task<R>> tasks, const options& opt = {}) {
  const std::size_t n = tasks.size();
  detail::task_run run;
  run.all_blocking =
      n > 0 && std::all_of(tasks.begin(), tasks.end(), [](const task<R>& t) { return t.blocking(); });
  if constexpr (std::is_void_v<R>) {
    detail::run_tasks(n, run, opt, [&](std::size_t i) { tasks[i](); });
  } else {
    return detail::collect_results<R>(
        n, [&](auto* out) { detail::run_tasks(n, run, opt, [&](std::size_t i) { out[i] = tasks[i](); }); });
  }
}

}  // namespace parmap
