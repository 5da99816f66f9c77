// Bad arguments and throwing callables: typed exceptions naming the problem,
// the lowest failing index, no work started after a failure, inputs untouched.
#include <gtest/gtest.h>

#include <atomic>
#include <list>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "parmap/parmap.hpp"

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<float> iota_floats(std::size_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.0F);
  return v;
}

TEST(Errors, ShortOutputSpanIsInvalidArgument) {
  const auto x = iota_floats(10);
  std::vector<float> out(9, -1.0F);
  try {
    parmap::map(parmap::ops::square, x, out);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "output span too short")) << e.what();
  }
  EXPECT_EQ(out, std::vector<float>(9, -1.0F)) << "output written despite the error";
}

TEST(Errors, BadNJobsIsInvalidArgument) {
  const auto x = iota_floats(10);
  for (int bad : {0, -2, -100}) {
    try {
      (void)parmap::map(parmap::ops::square, x, {.n_jobs = bad});
      ADD_FAILURE() << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_TRUE(contains(e.what(), "n_jobs")) << e.what();
    }
    std::vector<float> y = x;
    EXPECT_THROW(parmap::map_inplace(parmap::ops::square, y, {.n_jobs = bad}), std::invalid_argument);
    EXPECT_EQ(y, x);
  }
}

TEST(Errors, PartialOverlapIsRejectedInPlaceIsAllowed) {
  auto x = iota_floats(10);
  try {
    parmap::map(parmap::ops::square, std::span<const float>(x.data(), 8),
                std::span<float>(x.data() + 1, 8));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "overlaps")) << e.what();
  }
  EXPECT_EQ(x, iota_floats(10));
  parmap::map(parmap::ops::square, std::span<const float>(x), std::span<float>(x));
  EXPECT_EQ(x[9], 81.0F);
}

TEST(Errors, ThrowingCallableGivesTaskErrorWithIndexAndCause) {
  const auto x = iota_floats(100000);
  for (std::size_t bad : {std::size_t{0}, std::size_t{17}, std::size_t{99999}}) {
    for (int jobs : {1, -1}) {
      try {
        (void)parmap::map(
            [bad](float v) {
              if (static_cast<std::size_t>(v) == bad) throw std::runtime_error("bad element");
              return v;
            },
            x, {.n_jobs = jobs});
        FAIL() << "no exception";
      } catch (const parmap::task_error& e) {
        EXPECT_EQ(e.index(), bad);
        EXPECT_TRUE(contains(e.what(), "index " + std::to_string(bad))) << e.what();
        EXPECT_TRUE(contains(e.what(), "bad element")) << e.what();
        try {
          std::rethrow_exception(e.cause());
        } catch (const std::runtime_error& original) {
          EXPECT_STREQ(original.what(), "bad element");
        }
      }
    }
  }
}

TEST(Errors, NonStdExceptionIsReported) {
  const auto x = iota_floats(10);
  try {
    (void)parmap::map(
        [](float v) {
          if (v == 3.0F) throw 42;
          return v;
        },
        x);
    FAIL() << "no exception";
  } catch (const parmap::task_error& e) {
    EXPECT_EQ(e.index(), 3U);
    EXPECT_TRUE(contains(e.what(), "not derived from std::exception")) << e.what();
    try {
      std::rethrow_exception(e.cause());
    } catch (int v) {
      EXPECT_EQ(v, 42);
    }
  }
}

TEST(Errors, LowestFailingIndexWinsAcrossThreads) {
  const auto x = iota_floats(1000000);
  for (int round = 0; round < 5; ++round) {
    try {
      (void)parmap::map(
          [](float v) {
            if (v == 700.0F || v == 600000.0F || v == 999999.0F) throw std::runtime_error("x");
            return v;
          },
          x);
      FAIL() << "no exception";
    } catch (const parmap::task_error& e) {
      EXPECT_EQ(e.index(), 700U);
    }
  }
}

TEST(Errors, RemainingElementsAreNotStarted) {
  std::atomic<std::size_t> calls{0};
  auto f = [&calls](float v) {
    ++calls;
    if (v == 10.0F) throw std::runtime_error("stop");
    return v;
  };
  const auto x = iota_floats(200000);
  EXPECT_THROW((void)parmap::map(f, x, {.n_jobs = 1}), parmap::task_error);
  EXPECT_EQ(calls.load(), 11U);  // 0..10, nothing after

  // Two threads, each failing on its first element: the other stops before
  // starting anything more.
  calls = 0;
  auto g = [&calls](float v) {
    ++calls;
    if (v == 0.0F || v == 100000.0F) throw std::runtime_error("stop");
    return v;
  };
  try {
    (void)parmap::map(g, x, {.n_jobs = 2});
    FAIL() << "no exception";
  } catch (const parmap::task_error& e) {
    EXPECT_EQ(e.index(), 0U);
  }
  EXPECT_LE(calls.load(), 2U);
}

TEST(Errors, ClampWithLoAboveHiIsInvalidArgument) {
  EXPECT_THROW((void)parmap::ops::clamp(2.0, 1.0), std::invalid_argument);
}

#if !PARMAP_HAS_CUDA
TEST(Errors, CpuOnlyBuildHasNoDevice) {
  EXPECT_FALSE(parmap::gpu_available());
  EXPECT_TRUE(contains(parmap::gpu_description(), "built without CUDA"));
  EXPECT_THROW(parmap::device_array<float>(16), parmap::backend_unavailable);
  try {
    (void)parmap::map(parmap::ops::square, iota_floats(4), {.where = parmap::backend::gpu});
    FAIL() << "no exception";
  } catch (const parmap::backend_unavailable& e) {
    EXPECT_TRUE(contains(e.what(), "built without CUDA")) << e.what();
  }
}
#endif

// Results that are not arithmetic, and inputs that are not contiguous.
TEST(General, NonArithmeticResultsAndInputs) {
  const std::vector<int> ids = {1, 22, 333};
  const auto names = parmap::map(
      [](int i) {
        std::string s(1, '#');  // not "#" + ...: g++ 12 warns falsely (-Wrestrict)
        s += std::to_string(i);
        return s;
      },
      ids);
  EXPECT_EQ(names, (std::vector<std::string>{"#1", "#22", "#333"}));

  const std::list<double> l = {1.0, 2.0, 3.0};
  EXPECT_EQ(parmap::map(parmap::ops::square, l), (std::vector<double>{1.0, 4.0, 9.0}));

  const auto odd = parmap::map([](int i) { return i % 2 == 1; }, ids);
  EXPECT_EQ(odd, (std::vector<bool>{true, false, true}));

  struct no_default {
    explicit no_default(int v) : value(v) {}
    int value;
  };
  const auto wrapped = parmap::map([](int i) { return no_default(i * 2); }, ids);
  ASSERT_EQ(wrapped.size(), 3U);
  EXPECT_EQ(wrapped[2].value, 666);

  std::vector<std::string> big(100000, "ab");
  const auto lengths = parmap::map([](const std::string& s) { return s.size(); }, big);
  EXPECT_EQ(std::accumulate(lengths.begin(), lengths.end(), std::size_t{0}), 200000U);
}

TEST(General, ExpensiveSmallMapsRunInParallel) {
  parmap::report r;
  const std::vector<int> four = {1, 2, 3, 4};
  const auto out = parmap::map(
      [](int v) {
        volatile double acc = 0;
        for (int i = 0; i < 200000; ++i) acc = acc + i * 1e-9;
        return v * 2;
      },
      four, {.n_jobs = 2, .out_report = &r});
  EXPECT_EQ(out, (std::vector<int>{2, 4, 6, 8}));
  EXPECT_TRUE(contains(r.reason, "small n, expensive callable: task loop")) << r.reason;
}

TEST(General, BlockingCallablesAreMarked) {
  auto f = parmap::blocking([](int v) { return v + 1; });
  static_assert(parmap::is_blocking_v<decltype(f)>);
  static_assert(!parmap::is_device_op_v<decltype(f)>);
  parmap::report r;
  const auto out = parmap::map(f, std::vector<int>{1, 2, 3}, {.out_report = &r});
  EXPECT_EQ(out, (std::vector<int>{2, 3, 4}));
  EXPECT_TRUE(contains(r.reason, "blocking callable: 3 calls in flight")) << r.reason;
}

}  // namespace
