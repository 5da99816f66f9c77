#include "split_checks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "parmap/detail/context.hpp"
#include "parmap/detail/pipeline.hpp"
#include "parmap/parmap.hpp"

namespace parmap::test {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// PARMAP_SPLIT's value that gives the CPU exactly k of n elements.
std::string share_text(std::size_t k, std::size_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", std::min(1.0, (static_cast<double>(k) + 0.5) / static_cast<double>(n)));
  return buf;
}

}  // namespace

std::size_t chunk_elements(std::size_t n, std::size_t elem_bytes) {
  (void)parmap::map(parmap::ops::square, std::vector<float>(4, 1.0F), {.where = backend::gpu});
  const auto u = detail::staging_usage();
  const int slots = detail::pipeline_slots_wanted(n * elem_bytes);
  return detail::pipeline_chunk_elements(n, elem_bytes, u.slot_bytes, static_cast<std::size_t>(slots));
}

void check_every_split_point(bool same_libm) {
  const std::size_t n = 129;  // smaller than a chunk
  const auto xf = inputs<float>(n);
  const auto xd = inputs<double>(n);
  const auto xi = inputs<std::int64_t>(n);
  const auto aff = ops::affine(std::int64_t{3}, std::int64_t{-7});
  for (std::size_t k = 0; k <= n; ++k) {
    const std::string share = share_text(k, n);
    const env_var split("PARMAP_SPLIT", share.c_str());
    report r;
    const auto yf = parmap::map(ops::square, xf, {.out_report = &r});
    ASSERT_TRUE(contains(r.reason, "split: cpu")) << r.reason;
    ASSERT_EQ(mismatches(ops::square, xf, yf), 0U) << "split at " << k;
    if (k % 4 != 1 && k != n) continue;  // the other types at every fourth point, and the edges
    if (same_libm) {
      ASSERT_EQ(mismatches(ops::exp, xd, parmap::map(ops::exp, xd)), 0U) << "split at " << k;
    }
    ASSERT_EQ(mismatches(aff, xi, parmap::map(aff, xi)), 0U) << "split at " << k;
  }
}

void check_split_at_chunk_boundaries() {
  const std::size_t chunk = chunk_elements(std::size_t{1} << 20, sizeof(float));
  const std::size_t n = 3 * chunk + 17;
  const auto x = inputs<float>(n);
  std::vector<float> y(n);
  for (const std::size_t at : {std::size_t{0}, std::size_t{1}, chunk - 1, chunk, chunk + 1, n - chunk - 1,
                               n - chunk, n - 17, n - 1, n}) {
    // The GPU's share starts at `at`: its chunks end at every offset relative to the CPU's.
    const std::string share = share_text(at, n);
    const env_var split("PARMAP_SPLIT", share.c_str());
    std::fill(y.begin(), y.end(), -1.0F);
    parmap::map(ops::square, std::span<const float>(x), std::span<float>(y));
    ASSERT_EQ(mismatches(ops::square, x, y), 0U) << "split at " << at << " of " << n;
  }
}

void check_split_in_place() {
  const std::size_t n = 100000;
  const auto x = inputs<std::int64_t>(n);
  for (const char* share : {"0", "0.25", "0.5", "0.9", "1"}) {
    const env_var split("PARMAP_SPLIT", share);
    auto y = x;
    parmap::map_inplace(ops::shift(std::int64_t{5}), y);
    ASSERT_EQ(mismatches(ops::shift(std::int64_t{5}), x, y), 0U) << "PARMAP_SPLIT=" << share;
  }
}

void check_split_failures(fault_injector& faults) {
  const std::size_t n = std::size_t{1} << 22;
  const std::size_t gpu_share = n / 2;
  const std::size_t chunk = chunk_elements(gpu_share, sizeof(float));
  const auto chunks = static_cast<int>((gpu_share + chunk - 1) / chunk);
  ASSERT_GE(chunks, 3) << "too few chunks for this check";
  const auto x = inputs<float>(n);
  const env_var split("PARMAP_SPLIT", "0.5");
  for (int k = 0; k < chunks; ++k) {
    SCOPED_TRACE("failure after " + std::to_string(k) + " of " + std::to_string(chunks) + " chunks");
    for (auto* flag : {&faults.fail_upload, &faults.fail_launch, &faults.fail_download}) {
      faults.pass_first = k;
      flag->store(true);
      report r;
      auto y = x;
      parmap::map_inplace(ops::square, y, {.out_report = &r});
      faults.clear();
      ASSERT_EQ(mismatches(ops::square, x, y), 0U);
      ASSERT_TRUE(contains(r.reason, "split: cpu 50 %")) << r.reason;
      ASSERT_TRUE(contains(r.reason, "injected fault")) << r.reason;
      ASSERT_TRUE(contains(r.reason, "ran on the CPU")) << r.reason;
      EXPECT_EQ(r.used, backend::cpu);
    }
  }
  parmap::release_cached_memory();
  EXPECT_EQ(faults.live.load(), 0);
  EXPECT_EQ(faults.pinned_live.load(), 0);
}

void check_registered_results() {
  const std::size_t n = (std::size_t{3} << 20) + 5;  // 12 MiB of floats and a bit: several chunks
  const auto x = inputs<float>(n);
  for (const char* reg : {"on", "off"}) {
    const env_var registration("PARMAP_HOST_REGISTER", reg);
    for (const char* split : {"off", "0.3"}) {
      SCOPED_TRACE(std::string("PARMAP_HOST_REGISTER=") + reg + ", PARMAP_SPLIT=" + split);
      const env_var s("PARMAP_SPLIT", split);
      const parmap::options opt{.where = std::string(split) == "off" ? backend::gpu : backend::automatic};
      std::vector<float> y(n, 0.0F);
      parmap::map(ops::square, std::span<const float>(x), std::span<float>(y), opt);
      ASSERT_EQ(mismatches(ops::square, x, y), 0U);
      auto z = x;
      parmap::map_inplace(ops::square, z, opt);
      ASSERT_EQ(mismatches(ops::square, x, z), 0U);
    }
  }
}

}  // namespace parmap::test
