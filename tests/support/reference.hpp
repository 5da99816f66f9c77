// Serial references and element comparisons shared by the tests.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "parmap/detail/op_code.hpp"

namespace parmap::test {

// The random source of the property tests: splitmix64, one cheap 64-bit
// word per call, reproducible from its seed.
struct splitmix {
  std::uint64_t state;
  std::uint64_t operator()() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : (*this)() % n; }
};

// A number from the environment (PARMAP_TEST_SEED, PARMAP_PROPERTY_CASES), or fallback.
inline std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::strtoull(v, nullptr, 10);
}

// Distance in units in the last place between two finite floats of one sign
// class; NaN matches NaN only.
template <class T>
std::uint64_t ulp_distance(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return (std::isnan(a) && std::isnan(b)) ? 0 : UINT64_MAX;
  if (a == b) return 0;
  using I = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  auto ordered = [](T x) {
    const I i = std::bit_cast<I>(x);
    return i < 0 ? std::numeric_limits<I>::min() - i : i;
  };
  const auto d = static_cast<long double>(ordered(a)) - static_cast<long double>(ordered(b));
  return static_cast<std::uint64_t>(d < 0 ? -d : d);
}

// Exact: bit for bit (any NaN matches any NaN). Otherwise within max_ulp.
template <class T>
::testing::AssertionResult elements_match(std::span<const T> expected, std::span<const T> actual,
                                          bool exact, std::uint64_t max_ulp = 4) {
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure()
           << "size " << actual.size() << " != expected " << expected.size();
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const T e = expected[i];
    const T a = actual[i];
    bool ok = false;
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(e) || std::isnan(a)) {
        ok = std::isnan(e) && std::isnan(a);
      } else if (exact) {
        ok = std::memcmp(&e, &a, sizeof(T)) == 0;
      } else {
        ok = ulp_distance(e, a) <= max_ulp;
      }
    } else {
      ok = e == a;
    }
    if (!ok) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << +a << ", expected "
                                           << +e << (exact ? " (exact)" : " (ulp bound)");
    }
  }
  return ::testing::AssertionSuccess();
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Deterministic input: floats in [-10, 10] with a few specials, integers over
// the whole range (so that wrapping is exercised).
template <class T>
std::vector<T> make_input(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(n);
  if constexpr (std::is_floating_point_v<T>) {
    std::uniform_real_distribution<T> d(T(-10), T(10));
    for (auto& x : v) x = d(rng);
    const T specials[] = {T(0), T(-0.0), T(1), T(-1), std::numeric_limits<T>::infinity(),
                          -std::numeric_limits<T>::infinity(), std::numeric_limits<T>::quiet_NaN(),
                          std::numeric_limits<T>::denorm_min()};
    for (std::size_t i = 0; i < n && i < std::size(specials); ++i) v[(i * 7919) % n] = specials[i];
  } else {
    std::uniform_int_distribution<T> d(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    for (auto& x : v) x = d(rng);
    const T specials[] = {T(0), T(1), T(-1), std::numeric_limits<T>::min(),
                          std::numeric_limits<T>::max()};
    for (std::size_t i = 0; i < n && i < std::size(specials); ++i) v[(i * 7919) % n] = specials[i];
  }
  return v;
}

// Calls body.template operator()<T>() with the C++ type of a catalogue dtype.
template <class Body>
void with_type(detail::dtype t, Body&& body) {
  switch (t) {
#define PARMAP_Y(name, type, ...)               \
  case detail::dtype::name:                  \
    body.template operator()<type>();        \
    return;
    PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  }
}

}  // namespace parmap::test
