// The built-in ops' documented semantics, element by element.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "parmap/parmap.hpp"

namespace {

namespace ops = parmap::ops;
using i32 = std::int32_t;
using i64 = std::int64_t;
constexpr i32 i32_min = std::numeric_limits<i32>::min();
constexpr i32 i32_max = std::numeric_limits<i32>::max();

TEST(Ops, IntegerArithmeticWraps) {
  EXPECT_EQ(ops::square(i32_max), 1);
  EXPECT_EQ(ops::square(i32{65536}), 0);
  EXPECT_EQ(ops::negate(i32_min), i32_min);
  EXPECT_EQ(ops::abs(i32_min), i32_min);
  EXPECT_EQ(ops::abs(i32{-5}), 5);
  EXPECT_EQ(ops::cube(i32{1290}), static_cast<i32>(2146689000));
  EXPECT_EQ(ops::cube(i32{2000}), static_cast<i32>(8000000000LL % (1LL << 32)));
  EXPECT_EQ(ops::square(std::numeric_limits<i64>::max()), 1);
  EXPECT_EQ(ops::shift(1)(i32_max), i32_min);
  EXPECT_EQ(ops::scale(2)(i32_min), 0);
  EXPECT_EQ(ops::affine(2, 1)(i32{3}), 7);
}

TEST(Ops, ParametersConvertToTheElementType) {
  EXPECT_EQ(ops::scale(2.5)(i32{10}), 20);
  EXPECT_EQ(ops::scale(0.1)(1.0F), 1.0F * static_cast<float>(0.1));
  EXPECT_EQ(ops::affine(1.5, 0.25)(2.0F), 3.25F);
}

TEST(Ops, IntegerPow) {
  EXPECT_EQ(ops::pow(3)(i32{-2}), -8);
  EXPECT_EQ(ops::pow(0)(i32{0}), 1);
  EXPECT_EQ(ops::pow(31)(i32{2}), i32_min);
  EXPECT_EQ(ops::pow(32)(i32{2}), 0);
  EXPECT_EQ(ops::pow(-1)(i32{1}), 1);
  EXPECT_EQ(ops::pow(-3)(i32{-1}), -1);
  EXPECT_EQ(ops::pow(-2)(i32{-1}), 1);
  EXPECT_EQ(ops::pow(-2)(i32{7}), 0);
  EXPECT_EQ(ops::pow(-2)(i32{0}), 0);
  EXPECT_DOUBLE_EQ(ops::pow(0.5)(16.0), 4.0);
}

TEST(Ops, ReluAndClampLetNanThrough) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(ops::relu(nan)));
  EXPECT_TRUE(std::isnan(ops::clamp(-1.0F, 1.0F)(nan)));
  EXPECT_TRUE(std::signbit(ops::relu(-0.0F)));
  EXPECT_EQ(ops::relu(-3.0), 0.0);
  EXPECT_EQ(ops::relu(i32{-3}), 0);
  EXPECT_EQ(ops::clamp(-1, 1)(i32{7}), 1);
  EXPECT_EQ(ops::clamp(-1, 1)(i32{-7}), -1);
  EXPECT_EQ(ops::clamp(-1.0, 1.0)(0.5), 0.5);
}

TEST(Ops, TranscendentalValues) {
  EXPECT_FLOAT_EQ(ops::sqrt(9.0F), 3.0F);
  EXPECT_FLOAT_EQ(ops::rsqrt(4.0F), 0.5F);
  EXPECT_DOUBLE_EQ(ops::exp(0.0), 1.0);
  EXPECT_DOUBLE_EQ(ops::log(1.0), 0.0);
  EXPECT_DOUBLE_EQ(ops::sigmoid(0.0), 0.5);
  EXPECT_NEAR(ops::tanh(1.0), 0.7615941559557649, 1e-15);
  EXPECT_NEAR(ops::sin(1.0F), 0.84147098F, 1e-6F);
  EXPECT_NEAR(ops::cos(1.0F), 0.54030231F, 1e-6F);
}

TEST(Ops, TraitsOfOpsAndCallables) {
  EXPECT_TRUE(parmap::is_device_op_v<decltype(ops::square)>);
  EXPECT_TRUE(parmap::is_device_op_v<decltype(ops::affine(1.0, 2.0))>);
  EXPECT_FALSE(parmap::is_blocking_v<decltype(ops::square)>);
  auto lambda = [](float v) { return v; };
  EXPECT_FALSE(parmap::is_device_op_v<decltype(lambda)>);
  EXPECT_FALSE(parmap::is_blocking_v<decltype(lambda)>);
  EXPECT_TRUE(parmap::is_blocking_v<decltype(parmap::blocking(lambda))>);
  // Built-in ops are noexcept, so their loops take the SIMD path.
  EXPECT_TRUE((std::is_nothrow_invocable_v<decltype(ops::square), float>));
}

}  // namespace
