// The plan decide() returns and the rules the executor applies from it: the
// GPU-failure rule and CPU fallback path, the adaptive rule, the report filled
// by the call guard on every exit, and the calibration's one owner.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "parmap/detail/dispatch.hpp"
#include "parmap/detail/context.hpp"
#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::backend;
using parmap::detail::call_info;
using parmap::detail::callable_kind;
using parmap::detail::cost_class;
using parmap::detail::plan;
using parmap::detail::exec_path;
using parmap::detail::adaptive_run;
using parmap::detail::gpu_failure_rule;
using parmap::detail::gpu_run;
using parmap::detail::route;
using parmap::detail::serial_run;
using parmap::detail::task_loop_run;
using parmap::test::env_var;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

call_info square_f32(std::size_t n, const float* in, const float* out) {
  return parmap::test::float_op_call(n, in, out);
}

class Plan : public ::testing::Test {
 protected:
  parmap::test::default_settings settings_;
};

TEST_F(Plan, HostPathsCarryNoGpuRule) {
  std::vector<float> x(1 << 16), y(1 << 16);
  parmap::report wanted;  // a report is read: the plan carries its reason
  const plan big = parmap::detail::decide(square_f32(x.size(), x.data(), y.data()),
                                          {.where = backend::cpu, .n_jobs = 2, .out_report = &wanted});
#if PARMAP_TEST_OPENMP
  EXPECT_EQ(big.path(), exec_path::parallel);
  EXPECT_EQ(parmap::test::threads_of(big), 2);
#else
  EXPECT_EQ(big.path(), exec_path::serial);  // built without OpenMP: its loop runs on the caller
  EXPECT_NE(big.reason.find("built without OpenMP"), std::string::npos) << big.reason;
#endif
  EXPECT_EQ(parmap::test::gpu_part(big), nullptr);  // no GPU, so no GPU rule
  const plan small = parmap::detail::decide(square_f32(16, x.data(), y.data()), {.n_jobs = 2});
  EXPECT_EQ(small.path(), exec_path::serial);
  // The serial threshold of a memory-bound map is in bytes moved (256 KiB):
  // 2^15 floats, but 2^14 doubles.
  EXPECT_EQ(parmap::detail::decide(square_f32((1 << 15) - 1, x.data(), y.data()), {.n_jobs = 2}).path(),
            exec_path::serial);
  call_info doubles = square_f32(1 << 14, x.data(), y.data());
  doubles.in_elem_bytes = doubles.out_elem_bytes = sizeof(double);
  EXPECT_EQ(parmap::detail::decide(doubles, {.n_jobs = 2}).path(),
            PARMAP_TEST_OPENMP ? exec_path::parallel : exec_path::serial);
  doubles.n = (1 << 14) - 1;
  EXPECT_EQ(parmap::detail::decide(doubles, {.n_jobs = 2}).path(), exec_path::serial);
  call_info plain = square_f32(100, x.data(), y.data());
  plain.kind = callable_kind::plain;
  plain.gpu_kernel = false;
  plain.cost = cost_class::unknown;
  EXPECT_EQ(parmap::detail::decide(plain, {.n_jobs = 2}).path(), exec_path::adaptive);
  EXPECT_EQ(parmap::detail::decide(plain, {.n_jobs = 1}).path(), exec_path::serial);
}

#if defined(PARMAP_TEST_SIM)
TEST_F(Plan, OnlyAutomaticGpuRunsOnHostDataFallBackToTheCpu) {
  parmap::test::sim_backend sim;
  const parmap::test::use_backend use(sim);
  std::vector<float> x(1 << 16), y(1 << 16);
  const plan forced = parmap::detail::decide(square_f32(x.size(), x.data(), y.data()),
                                             {.where = backend::gpu});
  EXPECT_EQ(forced.path(), exec_path::gpu);
  EXPECT_EQ(std::get<gpu_run>(forced.run).on_failure, gpu_failure_rule::rethrow);

  const env_var min("PARMAP_GPU_MIN_ELEMENTS", "1");
  const plan big = parmap::detail::decide(square_f32(x.size(), x.data(), y.data()), {.n_jobs = 2});
  EXPECT_EQ(big.path(), exec_path::gpu);
  EXPECT_EQ(std::get<gpu_run>(big.run).on_failure, gpu_failure_rule::run_on_cpu);
  EXPECT_EQ(std::get<gpu_run>(big.run).fallback_threads, 2);  // the OpenMP path
  EXPECT_EQ(parmap::detail::cpu_fallback(std::get<gpu_run>(big.run)).index(),
            static_cast<std::size_t>(exec_path::parallel));
  const plan small = parmap::detail::decide(square_f32(64, x.data(), y.data()), {.n_jobs = 2});
  EXPECT_EQ(std::get<gpu_run>(small.run).on_failure, gpu_failure_rule::run_on_cpu);
  EXPECT_EQ(parmap::detail::cpu_fallback(std::get<gpu_run>(small.run)).index(),
            static_cast<std::size_t>(exec_path::serial));  // under the serial threshold

  // Data in GPU memory: the CPU cannot read it, so the error reaches the caller.
  parmap::device_array<float> d(std::vector<float>(64, 1.0F));
  const plan on_device = parmap::detail::decide(square_f32(64, d.data(), d.data()), {});
  EXPECT_EQ(on_device.path(), exec_path::gpu);
  EXPECT_EQ(std::get<gpu_run>(on_device.run).on_failure, gpu_failure_rule::rethrow);
}

// The fallback runs the plan's CPU path and says so in the report.
TEST_F(Plan, AFailedAutomaticGpuRunFinishesOnTheCpuPathOfThePlan) {
  parmap::test::sim_backend sim;
  parmap::test::fault_injector faults(sim);
  const parmap::test::use_backend use(faults);
  const env_var min("PARMAP_GPU_MIN_ELEMENTS", "1");
  faults.fail_launch = true;
  std::vector<float> x(1 << 16, 3.0F), y(1 << 16, 0.0F);
  parmap::report r;
  parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(y), {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_TRUE(contains(r.reason, "GPU failed")) << r.reason;
  EXPECT_EQ(y.front(), 9.0F);
  EXPECT_EQ(y.back(), 9.0F);
  EXPECT_EQ(x.back(), 3.0F);
}
#endif

TEST(PlanAdaptive, TheRuleSettlesOnSerialOpenMpOrATaskLoop) {
  const char* why = nullptr;
  adaptive_run a;
  a.threads = 2;
  a.max_workers = 8;
  // 1 us each for 1000 elements: 1 ms, over the 50 us budget: a task loop.
  const route loop = parmap::detail::settle_adaptive(a, 1e-6, 1000, &why);
  ASSERT_TRUE(std::holds_alternative<task_loop_run>(loop));
  EXPECT_EQ(std::get<task_loop_run>(loop).workers, 2);
  EXPECT_EQ(std::get<task_loop_run>(loop).max_workers, 8);
  EXPECT_TRUE(contains(why, "task loop")) << why;
  // 10 ns each for 1000 elements: 10 us, serial.
  adaptive_run cheap;
  cheap.threads = 2;
  EXPECT_TRUE(std::holds_alternative<serial_run>(parmap::detail::settle_adaptive(cheap, 1e-8, 1000, &why)));
  // One thread and one worker: serial however costly.
  const adaptive_run one;
  EXPECT_TRUE(std::holds_alternative<serial_run>(parmap::detail::settle_adaptive(one, 1.0, 1000, &why)));
  // The budget is the plan's: a larger one keeps the costly case serial.
  adaptive_run patient;
  patient.threads = 2;
  patient.rule.serial_budget = 10.0;
  EXPECT_TRUE(std::holds_alternative<serial_run>(parmap::detail::settle_adaptive(patient, 1e-6, 1000, &why)));
  // 10 ns each for 30000 elements: 300 us, over the budget, but too cheap for
  // a task loop's one element at a time: OpenMP's static shares.
  const route many = parmap::detail::settle_adaptive(a, 1e-8, 30000, &why);
  ASSERT_TRUE(std::holds_alternative<parmap::detail::openmp_run>(many));
  EXPECT_EQ(std::get<parmap::detail::openmp_run>(many).threads, 2);
  EXPECT_TRUE(contains(why, "OpenMP")) << why;
  // The same on one thread (task loop workers aside): serial.
  adaptive_run single = a;
  single.threads = 1;
  EXPECT_TRUE(std::holds_alternative<serial_run>(parmap::detail::settle_adaptive(single, 1e-8, 30000, &why)));
}

// time_first_elements on a synthetic clock: every read costs clock_cost,
// every element element_cost. Returns what it measured; `ranges` gets what
// it ran.
parmap::detail::first_elements timed_synthetically(std::size_t n, double element_cost, double clock_cost,
                                                   std::vector<std::pair<std::size_t, std::size_t>>& ranges) {
  double now = 0;
  const parmap::detail::adaptive_rule rule;
  return parmap::detail::time_first_elements(
      n, rule,
      [&](std::size_t b, std::size_t e) {
        ranges.emplace_back(b, e);
        now += element_cost * static_cast<double>(e - b);
      },
      [&] { return now += clock_cost; });
}

TEST(PlanAdaptive, TheTimingRunsLongEnoughForTheClockNotToCount) {
  // 1 ns elements, a 30 ns clock. 30000 of them cost 30 us: serial. Timing
  // 33 elements with their 6 clock reads made them look like 6.6 ns (200 us:
  // parallel).
  adaptive_run a;
  a.threads = 2;
  a.max_workers = 8;
  const char* why = nullptr;
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (const std::size_t n : {std::size_t{16384}, std::size_t{30000}}) {
    ranges.clear();
    const auto cheap = timed_synthetically(n, 1e-9, 30e-9, ranges);
    EXPECT_GT(cheap.done, 1U);
    EXPECT_LT(cheap.done, n / 4) << "timed more than it needed";
    EXPECT_GE(cheap.per_element, 1e-9);  // never under the elements' own cost
    std::size_t next = 0;  // the ranges run are [0, done), in order, each once
    for (const auto& [b, e] : ranges) {
      EXPECT_EQ(b, next);
      EXPECT_GT(e, b);
      next = e;
    }
    EXPECT_EQ(next, cheap.done);
    EXPECT_TRUE(std::holds_alternative<serial_run>(
        parmap::detail::settle_adaptive(a, cheap.per_element, n - cheap.done, &why)))
        << n << ": " << why;
  }
  // 4 ns elements: 120 us for 30000, over the budget but far too cheap for a
  // task loop: OpenMP, with the cost measured within 10 %.
  ranges.clear();
  const auto many = timed_synthetically(30000, 4e-9, 30e-9, ranges);
  EXPECT_NEAR(many.per_element, 4e-9, 0.4e-9);
  EXPECT_TRUE(std::holds_alternative<parmap::detail::openmp_run>(
      parmap::detail::settle_adaptive(a, many.per_element, 30000 - many.done, &why)))
      << why;
  // A small n costs a clock read or two after element 0.
  ranges.clear();
  EXPECT_LE(timed_synthetically(1024, 1e-9, 30e-9, ranges).done, 4U);

  // An element over the rule's `expensive`: only element 0 is timed.
  ranges.clear();
  const auto costly = timed_synthetically(1000, 200e-6, 30e-9, ranges);
  EXPECT_EQ(costly.done, 1U);
  EXPECT_NEAR(costly.per_element, 200e-6, 1e-7);
  EXPECT_EQ(ranges.size(), 1U);

  // 2 us elements: a handful, then a task loop for the rest.
  ranges.clear();
  const auto slow = timed_synthetically(1000, 2e-6, 30e-9, ranges);
  EXPECT_LE(slow.done, 8U);
  EXPECT_NEAR(slow.per_element, 2e-6, 1e-7);
  EXPECT_TRUE(std::holds_alternative<task_loop_run>(
      parmap::detail::settle_adaptive(a, slow.per_element, 1000 - slow.done, &why)));

  // One element, and none.
  ranges.clear();
  EXPECT_EQ(timed_synthetically(1, 1e-9, 30e-9, ranges).done, 1U);
  EXPECT_EQ(timed_synthetically(0, 1e-9, 30e-9, ranges).done, 0U);
  EXPECT_EQ(ranges.size(), 1U);
}

// A callable of unknown cost on a small input, timed then settled: whatever
// the timing chose, every element is mapped once, from several threads.
TEST(PlanAdaptive, EveryElementIsMappedWhateverTheTimingChose) {
  std::vector<std::thread> threads;
  std::vector<int> wrong(3, 0);
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{33}, std::size_t{4097}, std::size_t{20000}}) {
        std::vector<float> x(n);
        for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(i);
        std::atomic<std::size_t> calls{0};
        const std::vector<float> y = parmap::map(
            [&calls](float v) {
              calls.fetch_add(1, std::memory_order_relaxed);
              return v + 1;
            },
            x, {.where = backend::cpu});
        wrong[static_cast<std::size_t>(t)] += calls.load() == n ? 0 : 1;
        for (std::size_t i = 0; i < n; ++i) wrong[static_cast<std::size_t>(t)] += y[i] == x[i] + 1 ? 0 : 1;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<int>(3, 0));
}

// The report is describe(plan, outcome): what happened on the way is added to
// the plan's reason, and the plan itself is never rewritten.
TEST(PlanReport, TheReasonIsThePlansAndTheOutcomes) {
  plan p;
  p.run = gpu_run{};
  p.reason = "n >= PARMAP_GPU_MIN_ELEMENTS=1";
  parmap::detail::outcome o;
  o.used = backend::gpu;
  EXPECT_EQ(parmap::detail::describe(p, o), p.reason);
  o.gpu_failure = "out of memory";
  EXPECT_EQ(parmap::detail::describe(p, o), "GPU failed (out of memory); ran on the CPU instead");
  o.cpu_from = 42;
  EXPECT_EQ(parmap::detail::describe(p, o),
            "GPU failed (out of memory) with elements below 42 done; the rest ran on the CPU");
  o.split_failed = true;
  EXPECT_EQ(parmap::detail::describe(p, o),
            p.reason + "; GPU failed (out of memory): its share from element 42 ran on the CPU");
  EXPECT_EQ(p.path(), exec_path::gpu);  // describing changed nothing
  parmap::detail::outcome settled;
  settled.settled = "small n, cheap callable: serial";
  plan a;
  a.reason = "not a device op; ";
  EXPECT_EQ(parmap::detail::describe(a, settled), "not a device op; small n, cheap callable: serial");
}

// The call guard fills the report when the callable throws, as when it returns.
TEST(PlanReport, FilledOnEveryExit) {
  const env_var verbose("PARMAP_VERBOSE", nullptr);
  std::vector<int> x(100, 1);
  parmap::report r;
  EXPECT_THROW((void)parmap::map(
                   [](int v) -> int {
                     if (v == 1) throw std::runtime_error("no");
                     return v;
                   },
                   x, {.where = backend::cpu, .out_report = &r}),
               parmap::task_error);
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_EQ(r.n, 100U);
  EXPECT_TRUE(contains(r.reason, "forced by options.where")) << r.reason;
  parmap::report t;
  std::vector<parmap::task<int>> tasks;
  tasks.push_back(parmap::delayed([] { return 1; }));
  tasks.push_back(parmap::delayed([]() -> int { throw std::runtime_error("no"); }));
  EXPECT_THROW((void)parmap::parallel(std::move(tasks), {.out_report = &t}), parmap::task_error);
  EXPECT_EQ(t.n, 2U);
  EXPECT_EQ(t.used, backend::cpu);
  EXPECT_GE(t.seconds, 0.0);
  EXPECT_FALSE(t.reason.empty());
}

#if defined(PARMAP_TEST_SIM)
// One owner: concurrent first callers share one calibration, an installed one
// wins until it is forgotten, and a new backend is calibrated again.
TEST(CalibrationOwner, OneCalibrationPerBackendInUse) {
  parmap::test::sim_backend sim("simulated GPU for the calibration owner");
  const parmap::test::use_backend use(sim, parmap::test::calibrated::measured);
  std::vector<const parmap::detail::calibration*> seen(4, nullptr);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&seen, i] { seen[i] = &parmap::detail::current_calibration(2); });
  }
  for (auto& t : threads) t.join();
  for (const auto* c : seen) EXPECT_EQ(c, seen[0]);
  EXPECT_TRUE(contains(seen[0]->key, "simulated GPU for the calibration owner")) << seen[0]->key;

  parmap::detail::calibration mine = *seen[0];
  mine.source = "test";
  parmap::detail::install_calibration(mine);
  EXPECT_EQ(parmap::detail::current_calibration(2).source, "test");
  EXPECT_NE(seen[0]->key, "");  // the earlier reference is still valid
  {
    parmap::test::sim_backend other("another simulated GPU");
    const parmap::test::use_backend use_other(other, parmap::test::calibrated::measured);
    const auto& c = parmap::detail::current_calibration(2);
    EXPECT_NE(c.source, "test");
    EXPECT_TRUE(contains(c.key, "another simulated GPU")) << c.key;
  }
  parmap::detail::install_calibration(std::nullopt);
  EXPECT_NE(parmap::detail::current_calibration(2).source, "test");
}
#endif

}  // namespace
