// Collecting n results of type R into a std::vector<R>, for map's returning
// form and for parallel(): fill(out) writes out[0..n) by assignment, into
// storage that works for any R (std::vector<bool> has no data(); types
// without a default constructor go through std::optional).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace parmap::detail {

template <class R, class Fill>
std::vector<R> collect_results(std::size_t n, Fill&& fill) {
  if constexpr (std::is_same_v<R, bool>) {
    auto tmp = std::make_unique<bool[]>(n);
    fill(tmp.get());
    return std::vector<bool>(tmp.get(), tmp.get() + n);
  } else if constexpr (std::is_default_constructible_v<R>) {
    std::vector<R> out(n);
    fill(out.data());
    return out;
  } else {
    std::vector<std::optional<R>> tmp(n);
    fill(tmp.data());
    std::vector<R> out;
    out.reserve(n);
    for (auto& v : tmp) out.push_back(std::move(*v));
    return out;
  }
}

}  // namespace parmap::detail
