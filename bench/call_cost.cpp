// parmap-call-cost: what a call costs besides its work.
//   --first plain|blocking|square  the wall time of this process's first map
//       (a plain lambda over 4 doubles, a blocking callable over 4 doubles,
//       ops::square over 4 floats): whatever start-up it pays (CUDA's among them).
//   --per-call  the median time of map(ops::square) over 16 floats, in
//       batches of 10000 calls, beside a serial loop over the same 16 floats
//       (target: at most 1.2 x max(serial loop, 100 ns)).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "parmap/detail/clock.hpp"
#include "parmap/parmap.hpp"

namespace {

using parmap::detail::now_seconds;

template <class Fn>
double median_per_call(Fn&& fn) {
  constexpr int batch = 10000;
  std::vector<double> t;
  for (int b = 0; b < 31; ++b) {
    const double t0 = now_seconds();
    for (int i = 0; i < batch; ++i) {
      fn();
      std::atomic_signal_fence(std::memory_order_seq_cst);  // keeps each call
    }
    t.push_back((now_seconds() - t0) / batch);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parmap-call-cost: the first call of a process, and the fixed cost per call"};
  std::string first;
  bool per_call = false;
  app.add_option("--first", first, "time this process's first map: plain, blocking or square")
      ->check(CLI::IsMember({"plain", "blocking", "square"}));
  app.add_flag("--per-call", per_call, "median cost of map(ops::square) over 16 floats");
  CLI11_PARSE(app, argc, argv);
  if (first.empty() && !per_call) {
    std::fprintf(stderr, "parmap-call-cost: give --first KIND or --per-call\n");
    return 2;
  }
  if (!first.empty()) {
    const std::vector<double> xd{1, 2, 3, 4};
    const std::vector<float> xf{1, 2, 3, 4};
    double result = 0;
    const double t0 = now_seconds();
    if (first == "plain") {
      result = parmap::map([](double v) { return v + 1; }, xd)[3];
    } else if (first == "blocking") {
      result = parmap::map(parmap::blocking([](double v) { return v + 1; }), xd)[3];
    } else {
      result = parmap::map(parmap::ops::square, xf)[3];
    }
    const double ms = (now_seconds() - t0) * 1e3;
    std::printf("first map (%s, 4 elements): %.3f ms (result %g)\n", first.c_str(), ms, result);
  }
  if (per_call) {
    std::vector<float> x(16, 1.5F);
    std::vector<float> y(16, 0.0F);
    const std::span<const float> in(x);
    const std::span<float> out(y);
    const double serial = median_per_call([&] {
      for (std::size_t i = 0; i < 16; ++i) out[i] = in[i] * in[i];
    });
    const double call = median_per_call([&] { parmap::map(parmap::ops::square, in, out); });
    const double bound = 1.2 * std::max(serial, 100e-9);
    std::printf("map(ops::square) n=16: %.1f ns per call; serial loop %.1f ns; target <= %.1f ns: %s (%s)\n",
                call * 1e9, serial * 1e9, bound * 1e9, call <= bound ? "met" : "missed",
                parmap::gpu_description().c_str());
  }
  return 0;
}
