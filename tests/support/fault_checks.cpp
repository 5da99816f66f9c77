#include "fault_checks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "parmap/detail/pipeline.hpp"
#include "parmap/parmap.hpp"

namespace parmap::test {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<float> values(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 4099) - 2000.0F;
  return v;
}

// Elements of y[0..n) that are not x[i]^2.
std::size_t wrong_squares(std::span<const float> x, std::span<const float> y) {
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < x.size(); ++i) wrong += y[i] != x[i] * x[i] ? 1 : 0;
  return wrong;
}

}  // namespace

void check_injected_faults(fault_injector& faults, std::size_t n) {
  const env_var gpu_from_any_size("PARMAP_GPU_MIN_ELEMENTS", "0");  // automatic mode tries the GPU
  const auto x = values(n);
  const auto original = x;
  (void)parmap::map(parmap::ops::square, x, {.where = backend::gpu});  // warm-up: slots made
  for (auto* flag :
       {&faults.fail_allocate, &faults.fail_upload, &faults.fail_launch, &faults.fail_download}) {
    const bool allocation = flag == &faults.fail_allocate;
    SCOPED_TRACE(allocation ? "allocation" : "copy or launch");
    // Pooled slots need no allocation: free them, so the next job must allocate.
    if (allocation) parmap::release_cached_memory();
    flag->store(true);
    parmap::report r;
    const auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
    EXPECT_EQ(r.used, backend::cpu) << r.reason;
    EXPECT_TRUE(contains(r.reason, "GPU failed")) << r.reason;
    EXPECT_TRUE(contains(r.reason, "injected fault")) << r.reason;
    EXPECT_EQ(wrong_squares(x, y), 0U);

    EXPECT_THROW((void)parmap::map(parmap::ops::square, x, {.where = backend::gpu}), parmap::gpu_error);
    std::vector<float> inplace = x;
    EXPECT_THROW(parmap::map_inplace(parmap::ops::square, inplace, {.where = backend::gpu}),
                 parmap::gpu_error);
    EXPECT_TRUE(inplace == original) << "a failed in-place map changed the caller's data";
    faults.clear();
    EXPECT_TRUE(x == original);

    r = {};
    const auto z = parmap::map(parmap::ops::square, x, {.where = backend::gpu, .out_report = &r});
    EXPECT_EQ(r.used, backend::gpu);
    EXPECT_EQ(wrong_squares(x, z), 0U);
  }
  {
    // Data on the GPU: a failed launch is an error even in automatic mode.
    parmap::device_array<float> d(x);
    faults.fail_launch = true;
    EXPECT_THROW(parmap::map_inplace(parmap::ops::square, d.span()), parmap::gpu_error);
    faults.clear();
    EXPECT_TRUE(d.to_vector() == original);
  }
  parmap::release_cached_memory();
  EXPECT_EQ(faults.live.load(), 0) << "device memory still allocated";
  EXPECT_EQ(faults.pinned_live.load(), 0) << "pinned memory still allocated";
}

void check_faults_mid_pipeline(fault_injector& faults, std::size_t n) {
  const env_var gpu_from_any_size("PARMAP_GPU_MIN_ELEMENTS", "0");
  const auto x = values(n);
  (void)parmap::map(parmap::ops::square, x, {.where = backend::gpu});  // warm-up: slots made
  const std::size_t chunk = parmap::detail::staging_usage().slot_bytes / sizeof(float);
  ASSERT_GT(chunk, 0U);
  ASSERT_GE(n, 8 * chunk) << "too few chunks for this check";
  for (auto* flag : {&faults.fail_upload, &faults.fail_launch, &faults.fail_download}) {
    // Out of place: automatic mode redoes the whole map on the CPU from the intact input.
    faults.pass_first = 4;
    flag->store(true);
    parmap::report r;
    const auto y = parmap::map(parmap::ops::square, x, {.out_report = &r});
    EXPECT_EQ(r.used, backend::cpu) << r.reason;
    EXPECT_TRUE(contains(r.reason, "injected fault")) << r.reason;
    EXPECT_EQ(wrong_squares(x, y), 0U);
    faults.clear();
  }
  // In place, failing before any result was copied back: redone on the CPU, squared once.
  faults.fail_upload = true;
  std::vector<float> z = x;
  parmap::map_inplace(parmap::ops::square, z);
  EXPECT_EQ(wrong_squares(x, z), 0U);
  faults.clear();
  // In place, failing after results were copied back: automatic mode maps the
  // rest on the CPU, and each element is squared once.
  faults.pass_first = 5;
  faults.fail_download = true;
  std::vector<float> w = x;
  parmap::report r;
  parmap::map_inplace(parmap::ops::square, w, {.out_report = &r});
  EXPECT_EQ(wrong_squares(x, w), 0U);
  EXPECT_EQ(r.used, backend::cpu);
  EXPECT_TRUE(contains(r.reason, "done; the rest ran on the CPU")) << r.reason;
  // The same forced to the GPU: gpu_error, saying how far the results got.
  faults.pass_first = 5;
  std::vector<float> v = x;
  try {
    parmap::map_inplace(parmap::ops::square, v, {.where = backend::gpu});
    ADD_FAILURE() << "no exception";
  } catch (const parmap::gpu_error& e) {
    EXPECT_TRUE(contains(e.what(), "already hold their results")) << e.what();
    const std::string what = e.what();
    const std::size_t below = std::stoul(what.substr(what.find("below ") + 6));
    ASSERT_GT(below, 0U);
    ASSERT_LT(below, x.size());
    EXPECT_EQ(wrong_squares(std::span<const float>(x).first(below), std::span<const float>(v).first(below)), 0U);
    EXPECT_TRUE(std::equal(x.begin() + static_cast<long>(below), x.end(), v.begin() + static_cast<long>(below)))
        << "elements past the reported point changed";
  }
  faults.clear();
  parmap::release_cached_memory();
  EXPECT_EQ(faults.live.load(), 0);
  EXPECT_EQ(faults.pinned_live.load(), 0);
}

void check_staging_bounded(fault_injector& counted) {
  using detail::staging_job_slots;
  using detail::staging_pool_slots;
  parmap::release_cached_memory();
  const long device0 = counted.allocations.load();
  const long pinned0 = counted.pinned_allocations.load();
  (void)parmap::map(parmap::ops::square, std::vector<float>(3, 1.0F), {.where = backend::gpu});
  const std::size_t slot = detail::staging_usage().slot_bytes / sizeof(float);
  ASSERT_GT(slot, 0U);
  // A job of k units asks for k slots (up to staging_job_slots) and fills them.
  const std::size_t unit = std::max(slot, detail::pipeline_min_chunk_bytes / sizeof(float));
  // Distinct sizes: most below a unit, every tenth 0-3 units larger.
  auto size_of = [unit](std::size_t i) { return 1 + i * 997 + (i % 10 == 0 ? (i / 10 % 4) * unit : 0); };

  const std::size_t most = size_of(290) + 4 * unit;
  const auto x = values(most);
  std::vector<float> y(most);
  long device_warm = 0;
  long pinned_warm = 0;
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < 300; ++i) {
    const std::size_t n = size_of(i);
    parmap::map(parmap::ops::square, std::span<const float>(x.data(), n), std::span<float>(y.data(), n),
                {.where = backend::gpu});
    wrong += wrong_squares(std::span<const float>(x.data(), n), std::span<const float>(y.data(), n));
    if (i == 30) {  // sizes of 1, 2, 3 and 4 units have run
      device_warm = counted.allocations.load();
      pinned_warm = counted.pinned_allocations.load();
    }
  }
  EXPECT_EQ(wrong, 0U);
  EXPECT_EQ(counted.allocations.load(), device_warm) << "device allocations grew after warm-up";
  EXPECT_EQ(counted.pinned_allocations.load(), pinned_warm) << "pinned allocations grew after warm-up";
  EXPECT_LE(pinned_warm - pinned0, staging_job_slots);
  EXPECT_LE(device_warm - device0, 2 * staging_job_slots);

  // 8 concurrent callers share the pool's slots.
  constexpr int callers = 8;
  std::vector<std::size_t> wrong_by(callers, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      const std::size_t mine = 1 + 160 * 4999 + 2 * unit;
      const auto xt = values(mine);
      std::vector<float> yt(mine);
      for (std::size_t j = 0; j < 20; ++j) {
        const std::size_t n = 1 + (static_cast<std::size_t>(t) * 20 + j) * 4999 + (j % 5 == 0 ? 2 * unit : 0);
        try {
          parmap::map(parmap::ops::square, std::span<const float>(xt.data(), n),
                      std::span<float>(yt.data(), n), {.where = backend::gpu});
          wrong_by[static_cast<std::size_t>(t)] +=
              wrong_squares(std::span<const float>(xt.data(), n), std::span<const float>(yt.data(), n));
        } catch (const std::exception&) {
          wrong_by[static_cast<std::size_t>(t)] += n;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(std::accumulate(wrong_by.begin(), wrong_by.end(), std::size_t{0}), 0U);
  EXPECT_LE(counted.pinned_allocations.load() - pinned0, staging_pool_slots);
  EXPECT_LE(counted.allocations.load() - device0, 2 * staging_pool_slots);
  EXPECT_LE(detail::staging_usage().slots, staging_pool_slots);

  EXPECT_GT(parmap::release_cached_memory(), 0U);
  EXPECT_EQ(detail::staging_usage().slots, 0);
  EXPECT_EQ(counted.live.load(), 0) << "device memory held after release_cached_memory()";
  EXPECT_EQ(counted.pinned_live.load(), 0) << "pinned memory held after release_cached_memory()";
}

}  // namespace parmap::test
