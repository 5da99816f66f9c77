// The dispatcher's decisions, with fake probes: a simulated GPU (Thrust's
// OpenMP device system) and an absent one. Each test asserts on the report.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <thread>
#include <string>
#include <vector>

#include "parmap/detail/profile.hpp"
#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::backend;
using parmap::test::env_var;
using parmap::test::use_backend;

std::vector<float> iota_floats(std::size_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.0F);
  return v;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Clears the PARMAP_* variables a developer may have set, for every test here.
class Dispatch : public ::testing::Test {
 protected:
  parmap::test::default_settings settings_;
};

TEST_F(Dispatch, AutomaticWithoutGpuRunsOnCpuAndSaysWhy) {
  parmap::test::absent_backend none("no CUDA driver (test)");
  use_backend use(none);
  const auto x = iota_floats(100000);
  parmap::report r;
  const auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_EQ(r.n, x.size());
  EXPECT_GE(r.seconds, 0.0);
  EXPECT_TRUE(contains(r.reason, "no usable GPU (no CUDA driver (test))")) << r.reason;
  EXPECT_EQ(y[300], 90000.0F);
}

TEST_F(Dispatch, ForcedGpuWithoutGpuThrowsEveryWayItIsForced) {
  parmap::test::absent_backend none("no CUDA device (test)");
  use_backend use(none);
  const auto x = iota_floats(10);
  try {
    (void)parmap::map(parmap::ops::square, x, {.where = backend::gpu});
    FAIL() << "no exception";
  } catch (const parmap::backend_unavailable& e) {
    EXPECT_TRUE(contains(e.what(), "options.where")) << e.what();
    EXPECT_TRUE(contains(e.what(), "no CUDA device (test)")) << e.what();
  }
  {
    parmap::scoped_backend guard(backend::gpu);
    EXPECT_THROW((void)parmap::map(parmap::ops::square, x), parmap::backend_unavailable);
  }
  {
    env_var e("PARMAP_BACKEND", "gpu");
    try {
      (void)parmap::map(parmap::ops::square, x);
      FAIL() << "no exception";
    } catch (const parmap::backend_unavailable& ex) {
      EXPECT_TRUE(contains(ex.what(), "PARMAP_BACKEND=gpu")) << ex.what();
    }
  }
  // Nothing forced: runs on the CPU.
  EXPECT_EQ(parmap::map(parmap::ops::square, x)[3], 9.0F);
}

TEST_F(Dispatch, BadBackendVariableIsAConfigError) {
  env_var e("PARMAP_BACKEND", "bogus");
  const auto x = iota_floats(10);
  try {
    (void)parmap::map(parmap::ops::square, x);
    FAIL() << "no exception";
  } catch (const parmap::config_error& ex) {
    EXPECT_TRUE(contains(ex.what(), "PARMAP_BACKEND")) << ex.what();
    EXPECT_TRUE(contains(ex.what(), "bogus")) << ex.what();
  }
}

TEST_F(Dispatch, BadCountVariablesAreConfigErrors) {
  const auto x = iota_floats(10);
  for (const char* name : {"PARMAP_GPU_MIN_ELEMENTS", "PARMAP_MAX_BLOCKING"}) {
    for (const char* value : {"abc", "-1", "12x", "", "99999999999999999999999"}) {
      env_var e(name, value);
      try {
        (void)parmap::map(parmap::ops::square, x);
        ADD_FAILURE() << name << "=" << value << " accepted";
      } catch (const parmap::config_error& ex) {
        EXPECT_TRUE(contains(ex.what(), name)) << ex.what();
      }
    }
  }
  env_var zero("PARMAP_MAX_BLOCKING", "0");
  EXPECT_THROW((void)parmap::map(parmap::ops::square, x), parmap::config_error);
}

TEST_F(Dispatch, ScopedBackendNestsAndOptionsWin) {
  parmap::test::absent_backend none("no GPU (test)");
  use_backend use(none);
  const auto x = iota_floats(10);
  parmap::report r;
  {
    parmap::scoped_backend outer(backend::cpu, 1);
    (void)parmap::map(parmap::ops::square, x, {.out_report = &r});
    EXPECT_TRUE(contains(r.reason, "scoped_backend")) << r.reason;
    {
      parmap::scoped_backend inner(backend::gpu);
      EXPECT_THROW((void)parmap::map(parmap::ops::square, x), parmap::backend_unavailable);
      (void)parmap::map(parmap::ops::square, x, {.where = backend::cpu, .out_report = &r});
      EXPECT_EQ(r.used, backend::cpu);
      EXPECT_TRUE(contains(r.reason, "options.where")) << r.reason;
    }
    (void)parmap::map(parmap::ops::square, x, {.out_report = &r});
    EXPECT_TRUE(contains(r.reason, "scoped_backend")) << r.reason;
  }
  (void)parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_FALSE(contains(r.reason, "scoped_backend")) << r.reason;
  EXPECT_THROW(parmap::scoped_backend(backend::cpu, 0), std::invalid_argument);
  EXPECT_THROW(parmap::scoped_backend(backend::cpu, -2), std::invalid_argument);
}

TEST_F(Dispatch, ScopedBackendIsPerThread) {
  parmap::test::absent_backend none("no GPU (test)");
  use_backend use(none);
  parmap::scoped_backend guard(backend::gpu);
  std::exception_ptr seen;
  std::thread t([&] {
    try {
      (void)parmap::map(parmap::ops::square, iota_floats(10));
    } catch (...) {
      seen = std::current_exception();
    }
  });
  t.join();
  EXPECT_FALSE(seen) << "another thread's scope leaked into this one";
}

TEST_F(Dispatch, SmallInputsRunSerially) {
  parmap::report r;
  (void)parmap::map(parmap::ops::square, iota_floats(100), {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_TRUE(contains(r.reason, "serial")) << r.reason;
  (void)parmap::map(parmap::ops::square, iota_floats(100), {.n_jobs = 1, .out_report = &r});
  EXPECT_TRUE(contains(r.reason, "serial")) << r.reason;
  (void)parmap::map([](float v) { return v + 1; }, iota_floats(100), {.out_report = &r});
  EXPECT_TRUE(contains(r.reason, "small n, cheap callable: serial")) << r.reason;
}

TEST_F(Dispatch, VerboseLogsOneLinePerCall) {
  env_var v("PARMAP_VERBOSE", "1");
  ::testing::internal::CaptureStderr();
  (void)parmap::map(parmap::ops::square, iota_floats(5));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "parmap: square n=5 -> cpu")) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(Dispatch, EmptyInputLaunchesNothing) {
  parmap::report r;
  const std::vector<float> none;
  EXPECT_TRUE(parmap::map(parmap::ops::square, none, {.out_report = &r}).empty());
  EXPECT_EQ(r.n, 0U);
#if defined(PARMAP_TEST_SIM)
  parmap::test::sim_backend sim;
  use_backend use(sim);
  (void)parmap::map(parmap::ops::square, none, {.where = backend::gpu});
  EXPECT_EQ(sim.launches.load(), 0);
  EXPECT_EQ(sim.uploads.load(), 0);
#endif
}

TEST_F(Dispatch, MinElementsOverrideSelectsGpu) {
  auto x = iota_floats(5000);
  parmap::report r;
#if defined(PARMAP_TEST_SIM)
  parmap::test::sim_backend sim;
  use_backend use(sim);
  env_var m("PARMAP_GPU_MIN_ELEMENTS", "4096");
  auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_EQ(r.used, backend::gpu) << r.reason;
  EXPECT_TRUE(contains(r.reason, "PARMAP_GPU_MIN_ELEMENTS=4096")) << r.reason;
  EXPECT_EQ(y[4999], 4999.0F * 4999.0F);
  x.resize(4095);
  (void)parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu) << r.reason;
  // A callable that is not a device op never goes to the GPU.
  (void)parmap::map([](float v) { return v * v; }, iota_floats(5000), {.out_report = &r});
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_TRUE(contains(r.reason, "not a device op")) << r.reason;
#else
  GTEST_SKIP() << "needs the simulated GPU";
#endif
}

TEST_F(Dispatch, ForcedGpuRejectsCallablesWithoutGpuImplementation) {
#if defined(PARMAP_TEST_SIM)
  parmap::test::sim_backend sim;
  use_backend use(sim);
  const auto x = iota_floats(10);
  try {
    (void)parmap::map([](float v) { return v; }, x, {.where = backend::gpu});
    FAIL() << "no exception";
  } catch (const parmap::backend_unavailable& e) {
    EXPECT_TRUE(contains(e.what(), "not a device op")) << e.what();
  }
  // A device op whose types have no kernel (float in, double out).
  std::vector<double> out(x.size());
  EXPECT_THROW(parmap::map(parmap::ops::square, std::span<const float>(x), std::span<double>(out),
                           {.where = backend::gpu}),
               parmap::backend_unavailable);
  EXPECT_EQ(sim.launches.load(), 0);
  // Automatic runs it on the CPU instead.
  parmap::map(parmap::ops::square, std::span<const float>(x), std::span<double>(out));
  EXPECT_EQ(out[9], 81.0);
#else
  GTEST_SKIP() << "needs the simulated GPU";
#endif
}

TEST_F(Dispatch, DeviceResidentDataStaysOnTheDevice) {
#if defined(PARMAP_TEST_SIM)
  parmap::test::sim_backend sim;
  use_backend use(sim);
  parmap::device_array<float> d(iota_floats(1000));
  const int uploads = sim.uploads.load();
  parmap::report r;
  parmap::map_inplace(parmap::ops::square, d.span(), {.out_report = &r});
  EXPECT_EQ(r.used, backend::gpu);
  EXPECT_TRUE(contains(r.reason, "data is in GPU memory")) << r.reason;
  EXPECT_EQ(sim.uploads.load(), uploads) << "device-resident data was copied";
  EXPECT_EQ(sim.downloads.load(), 0);
  EXPECT_EQ(d.to_vector()[31], 961.0F);

  // Device in, host out: one download, no upload.
  std::vector<float> host(1000);
  parmap::map(parmap::ops::shift(1.0F), std::span<const float>(d.span()), std::span<float>(host));
  EXPECT_EQ(host[2], 5.0F);
  EXPECT_EQ(sim.uploads.load(), uploads);

  EXPECT_THROW(parmap::map_inplace(parmap::ops::square, d.span(), {.where = backend::cpu}),
               parmap::backend_unavailable);
  EXPECT_THROW(parmap::map_inplace([](float v) { return v; }, d.span()),
               parmap::backend_unavailable);
#else
  GTEST_SKIP() << "needs the simulated GPU";
#endif
}

// Work that cannot use the GPU starts nothing: no probe, and no pointer query
// while the driver is not loaded (no GPU memory can exist then).
TEST_F(Dispatch, NothingStartsTheGpuForWorkThatCannotUseIt) {
#if defined(PARMAP_TEST_SIM)
  parmap::test::sim_backend sim;
  sim.driver_loaded = false;
  use_backend use(sim);
  const std::vector<double> x(4, 2.0);
  EXPECT_EQ(parmap::map([](double v) { return v + 1; }, x)[3], 3.0);
  EXPECT_EQ(parmap::map(parmap::blocking([](double v) { return v * 3; }), x)[3], 6.0);
  EXPECT_EQ(parmap::map(parmap::ops::square, x)[3], 4.0);
  std::vector<float> small(8191, 3.0F);  // 64 KiB - 8 B moved
  parmap::map_inplace(parmap::ops::square, small);
  EXPECT_EQ(small[8190], 9.0F);
  std::vector<parmap::task<int>> tasks;
  tasks.push_back(parmap::delayed([](int a) { return a + 1; }, 41));
  EXPECT_EQ(parmap::parallel(std::move(tasks))[0], 42);
  EXPECT_EQ(parmap::map([](double v) { return v; }, x, {.where = backend::cpu})[0], 2.0);
  EXPECT_EQ(sim.probes.load(), 0) << "the GPU was probed for work that cannot use it";
  EXPECT_EQ(sim.locates.load(), 0) << "pointers were queried before any GPU memory could exist";

  // A map that can use the GPU probes, but still asks about no pointer.
  const auto y = parmap::map(parmap::ops::square, std::vector<float>(1 << 16, 2.0F), {.where = backend::gpu});
  EXPECT_EQ(y[65535], 4.0F);
  EXPECT_GE(sim.probes.load(), 1);
  EXPECT_EQ(sim.locates.load(), 0);

  // Once the driver is loaded, GPU memory can exist: pointers are asked about.
  sim.driver_loaded = true;
  (void)parmap::map([](double v) { return v; }, x);
  EXPECT_EQ(sim.locates.load(), 2);
  // In place, one query.
  parmap::map_inplace(parmap::ops::square, small);
  EXPECT_EQ(sim.locates.load(), 3);
#else
  GTEST_SKIP() << "needs the simulated GPU";
#endif
}

TEST_F(Dispatch, AutomaticEstimatesWhenAGpuIsPresent) {
#if defined(PARMAP_TEST_SIM)
  parmap::test::sim_backend sim;
  use_backend use(sim);
  parmap::report r;
  (void)parmap::map(parmap::ops::exp, std::vector<double>(1 << 16, 1.0), {.out_report = &r});
  EXPECT_TRUE(contains(r.reason, "estimated gpu")) << r.reason;
#else
  GTEST_SKIP() << "needs the simulated GPU";
#endif
}

TEST(Probe, DescribesTheMachine) {
  const std::string d = parmap::gpu_description();
  EXPECT_FALSE(d.empty());
  if (!parmap::gpu_available()) {
    EXPECT_TRUE(contains(d, "no CUDA") || contains(d, "without CUDA") || contains(d, "CUDA_VISIBLE"))
        << d;
  }
  EXPECT_EQ(parmap::gpu_available(), parmap::gpu_available());  // cached, stable
}

TEST(Probe, EmptyCudaVisibleDevicesMeansNoGpu) {
  const char* v = std::getenv("CUDA_VISIBLE_DEVICES");
  if (v == nullptr || *v != '\0') GTEST_SKIP() << "run by ctest with CUDA_VISIBLE_DEVICES set empty";
  EXPECT_FALSE(parmap::gpu_available());
  if (PARMAP_HAS_CUDA) {
    EXPECT_TRUE(contains(parmap::gpu_description(), "CUDA_VISIBLE_DEVICES")) << parmap::gpu_description();
  }
  EXPECT_THROW((void)parmap::map(parmap::ops::square, std::vector<float>(4), {.where = backend::gpu}),
               parmap::backend_unavailable);
}

// Profiler ranges: names are built only when a profiler is attached
// (NVTX_INJECTION64_PATH, set by nsys; ctest also runs this with it pointing at
// a library that does not exist, which NVTX treats as no profiler).
TEST(Profile, RangesAreNamedOnlyUnderAProfiler) {
  const bool attached = PARMAP_HAS_CUDA && std::getenv("NVTX_INJECTION64_PATH") != nullptr;
  EXPECT_EQ(parmap::detail::profiling(), attached);
  int named = 0;
  {
    const parmap::detail::profile_range range([&] {
      ++named;
      return std::string("test range");
    });
  }
  EXPECT_EQ(named, attached ? 1 : 0);
  const auto y = parmap::map(parmap::ops::square, iota_floats(100000));
  EXPECT_EQ(y[99999], 99999.0F * 99999.0F);
}

}  // namespace

// PARMAP_* are read once and kept; a change takes effect at reload_environment().
TEST(Environment, ReadOnceUntilReloaded) {
  std::vector<float> x(64, 2.0F);
  parmap::reload_environment();  // the environment as it is now (no PARMAP_BACKEND)
  ::setenv("PARMAP_BACKEND", "bogus", 1);
  parmap::report r;
  EXPECT_NO_THROW((void)parmap::map(parmap::ops::square, x, {.out_report = &r}));  // still the kept reading
  EXPECT_EQ(r.used, parmap::backend::cpu);
  parmap::reload_environment();
  EXPECT_THROW((void)parmap::map(parmap::ops::square, x), parmap::config_error);
  EXPECT_THROW((void)parmap::map(parmap::ops::square, x), parmap::config_error);  // on every call
  ::setenv("PARMAP_BACKEND", "cpu", 1);
  parmap::reload_environment();
  (void)parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_NE(r.reason.find("PARMAP_BACKEND=cpu"), std::string::npos) << r.reason;
  ::unsetenv("PARMAP_BACKEND");
  parmap::reload_environment();
  (void)parmap::map(parmap::ops::square, x, {.out_report = &r});
  EXPECT_EQ(r.reason.find("PARMAP_BACKEND"), std::string::npos) << r.reason;
}
