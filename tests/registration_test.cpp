// Registered caller memory (PARMAP_HOST_REGISTER, device_job::register_host)
// on the simulated GPU: the copies DMA the caller's buffers directly, in place
// only the upload does, a refused registration stages, every registration is
// undone (after failures too), concurrent callers of one buffer, and the rule
// that picks registration from the calibration.
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <thread>
#include <vector>

#include "parmap/detail/dispatch.hpp"
#include "parmap/detail/context.hpp"
#include "parmap/detail/pipeline.hpp"
#include "parmap/parmap.hpp"
#include "support/sim_backend.hpp"

namespace {

using parmap::backend;
using parmap::test::env_var;

#if defined(PARMAP_TEST_SIM)

std::vector<float> values(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 3001) * 0.5F - 700.0F;
  return v;
}

std::size_t wrong_squares(const std::vector<float>& x, const std::vector<float>& y) {
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < x.size(); ++i) wrong += y[i] != x[i] * x[i] ? 1 : 0;
  return wrong;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class Registration : public ::testing::Test {
 protected:
  env_var min_{"PARMAP_GPU_MIN_ELEMENTS", nullptr};
  env_var split_{"PARMAP_SPLIT", "off"};
  parmap::test::sim_backend sim_{"simulated GPU (registration tests)"};
  parmap::test::use_backend use_{sim_};
  const std::size_t n_ = std::size_t{3} << 20;  // 12 MiB of floats: several chunks
};

TEST_F(Registration, OutOfPlaceCopiesDmaTheCallersBuffers) {
  const env_var on("PARMAP_HOST_REGISTER", "on");
  const auto x = values(n_);
  std::vector<float> y(n_, 0.0F);
  parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(y), {.where = backend::gpu});
  EXPECT_EQ(wrong_squares(x, y), 0U);
  EXPECT_EQ(sim_.registrations.load(), 2);
  EXPECT_EQ(sim_.registered_live.load(), 0) << "a registration outlived its job";
  EXPECT_GT(sim_.uploads.load(), 1);
  EXPECT_EQ(sim_.direct_uploads.load(), sim_.uploads.load());
  EXPECT_EQ(sim_.direct_downloads.load(), sim_.downloads.load());
}

TEST_F(Registration, InPlaceRegistersTheInputOnlyAndMapsEachElementOnce) {
  const env_var on("PARMAP_HOST_REGISTER", "on");
  const auto x = values(n_);
  auto y = x;
  parmap::map_inplace(parmap::ops::square, y, {.where = backend::gpu});
  EXPECT_EQ(wrong_squares(x, y), 0U);
  EXPECT_EQ(sim_.registrations.load(), 1);
  EXPECT_EQ(sim_.direct_uploads.load(), sim_.uploads.load());
  EXPECT_EQ(sim_.direct_downloads.load(), 0) << "in place, results must come through the pinned buffers";
  EXPECT_EQ(sim_.registered_live.load(), 0);
}

TEST_F(Registration, OffOrRefusedStages) {
  const auto x = values(n_);
  std::vector<float> y(n_, 0.0F);
  {
    const env_var off("PARMAP_HOST_REGISTER", "off");
    parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(y), {.where = backend::gpu});
    EXPECT_EQ(wrong_squares(x, y), 0U);
    EXPECT_EQ(sim_.registrations.load(), 0);
  }
  const env_var on("PARMAP_HOST_REGISTER", "on");
  sim_.can_register = false;
  std::fill(y.begin(), y.end(), 0.0F);
  parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(y), {.where = backend::gpu});
  EXPECT_EQ(wrong_squares(x, y), 0U);
  EXPECT_EQ(sim_.direct_uploads.load(), 0);
  EXPECT_EQ(sim_.direct_downloads.load(), 0);
}

// A failure at every chunk, registered: automatic mode finishes on the CPU,
// each element once, and nothing stays registered.
TEST_F(Registration, FailuresLeaveNothingRegistered) {
  const env_var on("PARMAP_HOST_REGISTER", "on");
  const env_var gpu_from_any_size("PARMAP_GPU_MIN_ELEMENTS", "0");
  parmap::test::fault_injector faults(sim_);
  const parmap::test::use_backend use(faults);
  const auto x = values(n_);
  // The job's chunks: each kind of call happens once per chunk.
  const int slots = parmap::detail::pipeline_slots_wanted(n_ * sizeof(float));
  (void)parmap::map(parmap::ops::square, std::vector<float>(4, 1.0F), {.where = backend::gpu});
  const std::size_t chunk = parmap::detail::pipeline_chunk_elements(
      n_, sizeof(float), parmap::detail::staging_usage().slot_bytes, static_cast<std::size_t>(slots));
  const auto chunks = static_cast<int>((n_ + chunk - 1) / chunk);
  ASSERT_GE(chunks, 3);
  for (int k = 0; k < chunks; ++k) {
    SCOPED_TRACE("failure after " + std::to_string(k) + " copies or launches");
    for (auto* flag : {&faults.fail_upload, &faults.fail_launch, &faults.fail_download}) {
      for (const bool in_place : {false, true}) {
        faults.pass_first = k;
        flag->store(true);
        parmap::report r;
        std::vector<float> y = in_place ? x : std::vector<float>(n_, 0.0F);
        if (in_place) {
          parmap::map_inplace(parmap::ops::square, y, {.out_report = &r});
        } else {
          parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(y), {.out_report = &r});
        }
        faults.clear();
        ASSERT_EQ(wrong_squares(x, y), 0U) << (in_place ? "in place" : "out of place");
        ASSERT_TRUE(contains(r.reason, "injected fault")) << r.reason;
        ASSERT_EQ(sim_.registered_live.load(), 0);
      }
    }
  }
  EXPECT_GT(sim_.registrations.load(), 0);
}

// Callers mapping the same input at once: one registers it, the others find
// it registered and stage; every result is right and nothing stays registered.
TEST_F(Registration, ConcurrentCallersOfOneBuffer) {
  const env_var on("PARMAP_HOST_REGISTER", "on");
  const auto x = values(n_ / 4);
  std::vector<std::size_t> wrong(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < wrong.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        std::vector<float> y(x.size(), 0.0F);
        parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(y), {.where = backend::gpu});
        wrong[t] += wrong_squares(x, y);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const std::size_t w : wrong) EXPECT_EQ(w, 0U);
  EXPECT_EQ(sim_.registered_live.load(), 0);
}

// auto: registration when the calibration measured it faster, for jobs large
// enough to run at the pipeline's rate; PARMAP_HOST_REGISTER overrides.
TEST_F(Registration, TheRuleFollowsTheCalibration) {
  const env_var automatic("PARMAP_HOST_REGISTER", "auto");
  parmap::detail::calibration c;
  c.key = "synthetic";
  c.source = "test";
  c.cpu_threads = 2;
  c.cpu_bandwidth = 1e9;
  c.h2d_bandwidth = c.d2h_bandwidth = 10e9;
  c.gpu_bandwidth = 1e12;
  c.pipeline_bandwidth = 10e9;
  c.pipeline_registered_bandwidth = 20e9;
  parmap::detail::install_calibration(c);
  std::vector<float> big(std::size_t{1} << 21), small(1 << 16);
  auto plan = [](std::vector<float>& v) {
    return parmap::detail::decide(parmap::test::float_op_call(v.size(), v.data(), v.data()),
                                  {.where = backend::gpu});
  };
  EXPECT_TRUE(parmap::test::gpu_part(plan(big))->register_host);     // 16 MiB moved, registered measured faster
  EXPECT_FALSE(parmap::test::gpu_part(plan(small))->register_host);  // 512 KiB: below the pipeline's size
  c.pipeline_registered_bandwidth = 5e9;
  parmap::detail::install_calibration(c);
  EXPECT_FALSE(parmap::test::gpu_part(plan(big))->register_host);  // registering measured slower
  {
    const env_var on("PARMAP_HOST_REGISTER", "on");
    EXPECT_TRUE(parmap::test::gpu_part(plan(small))->register_host);
  }
  c.pipeline_registered_bandwidth = 20e9;
  parmap::detail::install_calibration(c);
  {
    const env_var off("PARMAP_HOST_REGISTER", "off");
    EXPECT_FALSE(parmap::test::gpu_part(plan(big))->register_host);
  }
}

#endif

TEST(RegistrationSetting, BadValueIsAConfigError) {
  const env_var bad("PARMAP_HOST_REGISTER", "sometimes");
  EXPECT_THROW((void)parmap::map(parmap::ops::square, std::vector<float>(4, 1.0F)), parmap::config_error);
}

}  // namespace
