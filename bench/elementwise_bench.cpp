// parmap-elementwise-bench: a traced function, elementwise(x*x + 2*x + 1) on
// float32, against ceilings measured in the same run.
//   CPU (host data, forced to the CPU):
//     cpu-copy         all-core copy (one read, one write), the faster of memcpy
//                      and a copy loop of the CPU loops' instruction set: the bound
//     cpu-hand         a hand-written `omp parallel for simd` loop of the expression
//     cpu-elementwise  parmap::map(elementwise(f)): f itself, compiled here
//     cpu-program      the traced program on the CPU interpreter (what Python runs)
//   GPU (device-resident data; CUDA builds on a machine with a GPU):
//     gpu-d2d          cudaMemcpy device to device
//     gpu-elementwise  parmap::map of the program, device-resident
//     gpu-program      the program's Thrust transform alone (CUDA events)
//     gpu-program-1x1  the same one element past the start: misaligned for
//                      four elements per decoding, so one at a time
//     gpu-program-wide elementwise(x * 2.5 + 1), which computes in double: the
//                      kernels built for every type, not the narrow ones
//     gpu-native       the same expression as a functor compiled here by nvcc
//                      through parmap::device (CUDA builds only)
// Prints one row per (path, n) with the ratio to its ceiling; medians of
// --reps samples, buffers made and touched before timing; the CPU rows of one
// n are timed interleaved (interleave.hpp).
//
//   parmap-elementwise-bench [--min-size 2^16] [--max-size 2^26] [--gpu-max-size 2^28] [--reps 15]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cpu_ceilings.hpp"
#include "elementwise_native.hpp"
#include "gpu_timing.hpp"
#include "interleave.hpp"
#include "parmap/detail/cpu_loop.hpp"
#include "parmap/parmap.hpp"

namespace {

std::size_t parse_size(const std::string& s) {
  const auto caret = s.find('^');
  if (caret == std::string::npos) return std::stoull(s);
  return static_cast<std::size_t>(std::pow(std::stod(s.substr(0, caret)), std::stod(s.substr(caret + 1))));
}

void row(const char* path, std::size_t n, double seconds, const char* ceiling, double ratio) {
  const double gbs = 2.0 * static_cast<double>(n) * sizeof(float) / seconds / 1e9;
  std::printf("%-16s n=2^%-5.0f %10.3f ms %8.2f GB/s", path, std::log2(static_cast<double>(n)), seconds * 1e3, gbs);
  if (ceiling != nullptr) std::printf("   %.3f x %s", ratio, ceiling);
  std::printf("\n");
}

// out[i] == f(in[i]) for every i (f: the traced function itself, on floats).
template <class F>
bool verify(std::span<const float> in, std::span<const float> out, const F& f) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    const float x = in[i];
    const float expected = f(x);
    if (out[i] != expected && !(std::isnan(out[i]) && std::isnan(expected))) {
      std::fprintf(stderr, "wrong result at %zu: %g for x = %g\n", i, static_cast<double>(out[i]), static_cast<double>(x));
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parmap-elementwise-bench: elementwise(x*x + 2*x + 1) f32 against the copy bound and hand-written loops"};
  std::string min_size = "2^16", max_size = "2^26", gpu_max = "2^28";
  int reps = 15;
  app.add_option("--min-size", min_size, "smallest n (2^k or a number)");
  app.add_option("--max-size", max_size, "largest n on the CPU");
  app.add_option("--gpu-max-size", gpu_max, "largest n on the GPU");
  app.add_option("--reps", reps, "samples per figure")->check(CLI::Range(3, 1000));
  CLI11_PARSE(app, argc, argv);

  const auto f = parmap::elementwise([](auto x) { return x * x + 2 * x + 1; });
  const auto& traced = f.program_for(parmap::detail::dtype::f32);
  const auto program = parmap::detail::program_call(traced.code, parmap::detail::dtype::f32);
  // Not narrow (computes in double): the GPU's kernels for every type.
  const auto g = parmap::elementwise([](auto x) { return x * 2.5 + 1; });
  const auto wide_program = parmap::detail::program_call(g.program_for(parmap::detail::dtype::f32).code,
                                                         parmap::detail::dtype::f32);
  const parmap::detail::cpu_kernels& loops = parmap::detail::active_cpu_kernels();
  std::printf("# %s, %d instructions; CPU loops: %s; %s\n", traced.what.c_str(), static_cast<int>(traced.code.count),
              loops.name, parmap::gpu_description().c_str());

  const std::size_t lo = parse_size(min_size), hi = parse_size(max_size);
  std::vector<float> x(hi), y(hi);
  for (std::size_t i = 0; i < hi; ++i) x[i] = static_cast<float>(i % 1000) * 0.01f - 5.0f;
  std::fill(y.begin(), y.end(), 0.0f);  // touched before timing
  bool ok = true;
  for (std::size_t n = lo; n <= hi; n *= 4) {
    const float* px = x.data();
    float* py = y.data();
    const std::span<const float> in(px, n);
    const std::span<float> out(py, n);
    // Timed interleaved (interleave.hpp): one sample of each per round, so
    // that a drift of this machine falls on the ceilings and parmap alike.
    const auto t = parmap::bench::time_interleaved(
        reps, 0.005,
        {// The copy bound: the faster of memcpy and a copy loop of the CPU
         // loops' instruction set (bench/cpu_ceilings.hpp).
         [&] { parmap::bench::parallel_memcpy(px, py, n * sizeof(float)); },
         [&] { parmap::bench::parallel_copy_loop(loops, px, py, n * sizeof(float)); },
         [&] {
           PARMAP_OMP(parallel for simd schedule(static))
           for (std::size_t i = 0; i < n; ++i) py[i] = px[i] * px[i] + 2 * px[i] + 1;
         },
         [&] { parmap::map(f, in, out, {.where = parmap::backend::cpu}); },
         [&] { parmap::detail::map_op(program, px, py, n, {.where = parmap::backend::cpu}, traced.what.c_str()); }});
    const double copy = std::min(t[0].median, t[1].median), hand = t[2].median, cpu = t[3].median,
                 interp = t[4].median;
    parmap::map(f, in, out, {.where = parmap::backend::cpu});
    ok = verify(in, out, f) && ok;
    parmap::detail::map_op(program, px, py, n, {.where = parmap::backend::cpu}, traced.what.c_str());
    ok = verify(in, out, f) && ok;
    row("cpu-copy", n, copy, nullptr, 0);
    row("cpu-hand", n, hand, "cpu-copy", copy / hand);
    row("cpu-elementwise", n, cpu, "cpu-hand", hand / cpu);
    row("cpu-program", n, interp, "cpu-copy", copy / interp);
  }

  if (parmap::gpu_available()) {
    const std::size_t ghi = parse_size(gpu_max);
    std::vector<float> hx(ghi);
    for (std::size_t i = 0; i < ghi; ++i) hx[i] = static_cast<float>(i % 1000) * 0.01f - 5.0f;
    parmap::device_array<float> dx(hx), dy(ghi);
    for (std::size_t n = std::max<std::size_t>(lo, std::size_t{1} << 24); n <= ghi; n *= 4) {
      const std::span<const float> din(dx.data(), n);
      const std::span<float> dout(dy.data(), n);
      const double d2d = parmap::bench::time_d2d_copy(dout.data(), din.data(), n * sizeof(float), reps);
      // parmap's map and the natively compiled functor, interleaved.
      std::vector<std::function<void()>> calls{[&] { parmap::map(f, din, dout, {.where = parmap::backend::gpu}); }};
      if (parmap::bench::native_available()) {
        calls.emplace_back([&] { parmap::bench::map_native_poly(din.data(), dout.data(), n); });
      }
      const auto mapped_native = parmap::bench::time_interleaved(reps, 0.02, calls);
      const double mapped = mapped_native[0].median;
      const double kernel = parmap::bench::time_catalogue_kernel(program, din.data(), dout.data(), n, reps);
      // One element past the start: not aligned for four at a time, so every
      // element is decoded on its own (the functor that maps what is left).
      const double one_by_one =
          parmap::bench::time_catalogue_kernel(program, din.data() + 1, dout.data() + 1, n - 1, reps);
      std::vector<float> back(n);  // down through a copy map
      parmap::map(parmap::ops::scale(1.0f), std::span<const float>(dout), std::span<float>(back));
      ok = verify(std::span<const float>(hx.data(), n), back, f) && ok;
      // A program that is not narrow: x * 2.5 computes in double, so it runs
      // in the kernels built for every type (detail/program_gpu.hpp).
      const double wide = parmap::bench::time_catalogue_kernel(wide_program, din.data(), dout.data(), n, reps);
      parmap::map(parmap::ops::scale(1.0f), std::span<const float>(dout), std::span<float>(back));
      ok = verify(std::span<const float>(hx.data(), n), back, g) && ok;
      row("gpu-d2d", n, d2d, nullptr, 0);
      row("gpu-elementwise", n, mapped, "gpu-d2d", d2d / mapped);
      row("gpu-program", n, kernel, "gpu-d2d", d2d / kernel);
      row("gpu-program-1x1", n, one_by_one, "gpu-d2d", d2d / one_by_one);
      row("gpu-program-wide", n, wide, "gpu-d2d", d2d / wide);
      if (parmap::bench::native_available()) {
        const double native = mapped_native[1].median;
        row("gpu-native", n, native, "gpu-elementwise", mapped / native);
        std::printf("%-16s n=2^%-5.0f %.3f x gpu-native (elementwise time / native time; target <= 1.10)\n",
                    "gpu-vs-native", std::log2(static_cast<double>(n)), mapped / native);
      }
    }
  } else {
    std::printf("# no GPU rows: %s\n", parmap::gpu_description().c_str());
  }
  return ok ? 0 : 1;
}
