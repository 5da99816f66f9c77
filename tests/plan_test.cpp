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

TEST(PlanAdaptive, TheRuleSettlesOnSerialOrATaskLoop) {
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
