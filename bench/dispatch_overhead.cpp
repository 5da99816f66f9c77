// Google Benchmark microbenchmarks of parmap's fixed cost per call: a map of
// n = 16 and n = 1024 floats (built-in square, and a user lambda) against the
// serial loop it replaces (target: <= 1.2 x max(serial loop, 100 ns)), and one
// automatic decision alone. n = 16384 is under the serial threshold, where a
// lambda of unknown cost is timed on its first elements before the rest is
// placed (it went to a task loop at 455 us a call until the timing ran long
// enough for the clock's own cost not to count). Each map reads n floats and
// writes n floats; bytes are reported as bytes_per_second. Where the tests' simulated GPU is
// built, the *_sim_gpu rows repeat the maps with it installed and its driver
// "loaded", as on a GPU machine: the probe and the pointer queries (two out
// of place, one in place) are then part of every call.
#include <benchmark/benchmark.h>

#include <vector>

#include "parmap/parmap.hpp"
#if defined(PARMAP_BENCH_SIM)
#include "support/sim_backend.hpp"
#endif

namespace {

// Times body(x, y) on n floats; reports bytes read + written per second.
template <class Body>
void run_case(benchmark::State& state, Body body) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<float> x(n, 1.5F), y(n);
  for (auto _ : state) {
    body(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * 2 * sizeof(float)));
}

void serial_loop(benchmark::State& state) {
  run_case(state, [](const std::vector<float>& x, std::vector<float>& y) {
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * x[i];
  });
}

void map_square(benchmark::State& state) {
  run_case(state, [](const std::vector<float>& x, std::vector<float>& y) {
    parmap::map(parmap::ops::square, x, y);
  });
}

void map_lambda(benchmark::State& state) {
  run_case(state, [](const std::vector<float>& x, std::vector<float>& y) {
    parmap::map([](float v) { return v * v; }, x, y);
  });
}

void automatic_decision(benchmark::State& state) {
  std::vector<float> x(16, 1.5F);
  parmap::detail::call_info call;
  call.n = x.size();
  call.in_elem_bytes = call.out_elem_bytes = sizeof(float);
  call.kind = parmap::detail::callable_kind::device;
  call.gpu_kernel = true;
  call.cost = parmap::detail::cost_class::memory;
  call.in = call.out = x.data();
  const parmap::options opt;
  for (auto _ : state) benchmark::DoNotOptimize(parmap::detail::decide(call, opt));
}

#if defined(PARMAP_BENCH_SIM)
// Runs body with the simulated GPU installed, its driver loaded.
template <class Body>
void with_sim_gpu(benchmark::State& state, Body body) {
  parmap::test::sim_backend sim("simulated GPU (dispatch bench)");
  sim.driver_loaded = true;
  const parmap::test::use_backend use(sim);
  run_case(state, body);
}

void map_square_sim_gpu(benchmark::State& state) {
  with_sim_gpu(state, [](const std::vector<float>& x, std::vector<float>& y) {
    parmap::map(parmap::ops::square, x, y);
  });
}

void map_inplace_square_sim_gpu(benchmark::State& state) {
  with_sim_gpu(state, [](const std::vector<float>&, std::vector<float>& y) {
    parmap::map_inplace(parmap::ops::abs, y);
  });
}

void map_lambda_sim_gpu(benchmark::State& state) {
  with_sim_gpu(state, [](const std::vector<float>& x, std::vector<float>& y) {
    parmap::map([](float v) { return v * v; }, x, y);
  });
}

BENCHMARK(map_square_sim_gpu)->Arg(16)->Arg(1024);
BENCHMARK(map_inplace_square_sim_gpu)->Arg(16)->Arg(1024);
BENCHMARK(map_lambda_sim_gpu)->Arg(16)->Arg(1024);
#endif

BENCHMARK(serial_loop)->Arg(16)->Arg(1024)->Arg(16384);
BENCHMARK(map_square)->Arg(16)->Arg(1024)->Arg(16384);
BENCHMARK(map_lambda)->Arg(16)->Arg(1024)->Arg(16384);
BENCHMARK(automatic_decision);

}  // namespace

BENCHMARK_MAIN();
