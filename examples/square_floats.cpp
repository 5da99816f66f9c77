// Squares n floats (default 10^8) with parmap, says which backend ran and how
// long it took, and compares with a hand-written OpenMP loop on the same
// buffers. With a GPU, also squares the same data in GPU memory.
//   square_floats [n] [repetitions]
#include <parmap/parmap.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
double time_median(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return median(t);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000'000;
  const int reps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  const double gb = 2.0 * static_cast<double>(n) * sizeof(float) / 1e9;  // read + write
  std::printf("parmap square_floats: n = %zu floats (%.2f GB moved per map), %d repetitions\n", n,
              gb, reps);
  std::printf("GPU: %s\n", parmap::gpu_description().c_str());

  // Allocate and first-touch once, in parallel, outside every timing.
  std::vector<float> x(n), y(n);
  parmap::map([](float) { return 0.0F; }, std::span<const float>(x), std::span<float>(y));
  parmap::map([n](float) { return 1.5F; }, std::span<const float>(y), std::span<float>(x));

  parmap::report r;
  const auto in = std::span<const float>(x);
  const auto out = std::span<float>(y);
  parmap::map(parmap::ops::square, in, out);  // warm-up
  const double t_map = time_median(reps, [&] { parmap::map(parmap::ops::square, in, out, {.out_report = &r}); });
  for (std::size_t i = 0; i < n; i += 4099) {
    if (y[i] != x[i] * x[i]) {
      std::fprintf(stderr, "wrong result at %zu\n", i);
      return 1;
    }
  }
  std::printf("parmap::map(ops::square)      : %8.2f ms  %7.1f GB/s  backend=%s (%s)\n", t_map * 1e3,
              gb / t_map, parmap::to_string(r.used), r.reason.c_str());

  float* px = x.data();
  float* py = y.data();
  const double t_hand = time_median(reps, [&] {
    PARMAP_OMP(parallel for simd schedule(static))
    for (std::size_t i = 0; i < n; ++i) py[i] = px[i] * px[i];
  });
  std::printf("hand-written omp parallel for : %8.2f ms  %7.1f GB/s  (parmap / hand = %.2f x speed)\n",
              t_hand * 1e3, gb / t_hand, t_hand / t_map);

  if (parmap::gpu_available()) {
    parmap::device_array<float> d(x);
    parmap::device_array<float> e(n);
    const auto din = std::span<const float>(d.span());
    parmap::map(parmap::ops::square, din, e.span());
    const double t_dev =
        time_median(reps, [&] { parmap::map(parmap::ops::square, din, e.span(), {.out_report = &r}); });
    std::printf("parmap::map on GPU memory     : %8.2f ms  %7.1f GB/s  backend=%s (%s)\n",
                t_dev * 1e3, gb / t_dev, parmap::to_string(r.used), r.reason.c_str());
    const auto back = e.to_vector();
    if (back[n / 2] != x[n / 2] * x[n / 2]) {
      std::fprintf(stderr, "wrong GPU result\n");
      return 1;
    }
  }
  return 0;
}
