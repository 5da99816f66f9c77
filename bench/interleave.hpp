// Timing several ways of doing one call, interleaved: each round takes one
// sample of each way, starting from a different one each round, so that the
// machine's drifts (clock, other tenants' load, page cache) fall on all of
// them alike and a ratio compares calls made under the same conditions. On a
// shared VM, timing one way after the other moved a ratio of two identical
// loops by a factor of two from run to run.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

#include "parmap/detail/clock.hpp"

namespace parmap::bench {

struct timing {
  double median = 0, min = 0;  // seconds per call
};

// Calls per sample so that one sample of f lasts about min_sample seconds,
// after one warm-up call; *once (when given) gets one call's time.
template <class F>
int calls_per_sample(double min_sample, F&& f, double* once = nullptr) {
  f();
  const double t0 = detail::now_seconds();
  f();
  const double t = std::max(detail::now_seconds() - t0, 1e-9);
  if (once != nullptr) *once = t;
  return static_cast<int>(std::clamp(min_sample / t, 1.0, 100000.0));
}

// Seconds per call of `inner` calls of f in a row.
template <class F>
double sample(int inner, F&& f) {
  const double s = detail::now_seconds();
  for (int i = 0; i < inner; ++i) f();
  return (detail::now_seconds() - s) / inner;
}

inline timing summarise(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front()};
}

// Times each of calls, interleaved, `reps` rounds (four times as many when a
// call lasts under 10 us: those samples are the noisiest); before(i), when
// given, runs before each sample of calls[i] and before its calibration.
inline std::vector<timing> time_interleaved(int reps, double min_sample,
                                            const std::vector<std::function<void()>>& calls,
                                            const std::function<void(std::size_t)>& before = {}) {
  std::vector<int> inner;
  double fastest = 1e300;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (before) before(i);
    double once = 0;
    inner.push_back(calls_per_sample(min_sample, calls[i], &once));
    fastest = std::min(fastest, once);
  }
  const int rounds = fastest < 10e-6 ? 4 * reps : reps;
  std::vector<std::vector<double>> t(calls.size());
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < calls.size(); ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(r)) % calls.size();
      if (before) before(i);
      t[i].push_back(sample(inner[i], calls[i]));
    }
  }
  std::vector<timing> out;
  for (auto& v : t) out.push_back(summarise(std::move(v)));
  return out;
}

}  // namespace parmap::bench
