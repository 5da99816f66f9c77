// The one host loop's pieces that templates need: a loop's first failure and
// the chunk body run_range. Serial and OpenMP paths, the built-in ops'
// precompiled loops and user callables all run through run_range; only the
// way the range is split differs (cpu_map, host/cpu_loop.cpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <type_traits>
#include <utility>

#include "../config.hpp"
#include "../errors.hpp"
#include "fn_ref.hpp"

namespace parmap::detail {

// The first failure of a loop. Elements at or above `stop` are not started, so
// every element below the lowest failing index runs and the reported index is
// the lowest failing one, whatever the thread timing.
class failure {
 public:
  explicit failure(std::size_t n) noexcept : stop_(n), index_(n) {}

  [[nodiscard]] std::size_t stop() const noexcept { return stop_.load(std::memory_order_relaxed); }

  void record(std::size_t i, std::exception_ptr e) noexcept {
    const std::lock_guard lock(mutex_);
    if (i < index_) {
      index_ = i;
      cause_ = std::move(e);
      if (!aborted_) stop_.store(i, std::memory_order_relaxed);
    }
  }

  // Stops the loop for a reason that is no element's failure (an interrupt):
  // nothing further starts, and rethrow_if_failed throws e itself.
  void abort(std::exception_ptr e) noexcept {
    const std::lock_guard lock(mutex_);
    if (!aborted_) aborted_ = std::move(e);
    stop_.store(0, std::memory_order_relaxed);
  }

  void rethrow_if_failed() const {
    if (aborted_) std::rethrow_exception(aborted_);
    if (cause_) throw task_error(index_, cause_);
  }

 private:
  std::atomic<std::size_t> stop_;
  std::mutex mutex_;
  std::size_t index_;
  std::exception_ptr cause_;
  std::exception_ptr aborted_;
};

// Elements of elem_bytes from p to the next cache line's start (0 when p is
// at one, or is not aligned to its elements). A vector store that straddles
// two lines costs about two (64-byte vectors into malloc's 16-byte-aligned
// memory ran at 0.87 x a memcpy of data in cache; from the line's start,
// 1.0 x), so long loops do their first elements on their own.
inline std::size_t elements_to_line(const void* p, std::size_t elem_bytes) noexcept {
  constexpr std::size_t line = 64;
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  return at % elem_bytes != 0 ? 0 : (line - at % line) % line / elem_bytes;
}

// Where a loop writing out[b, e) starts its vector stores: the output's first
// line start, for loops of 4 KiB or more.
template <class U>
std::size_t line_start(const U* out, std::size_t b, std::size_t e) noexcept {
  if ((e - b) * sizeof(U) < 4096) return b;
  return b + elements_to_line(out + b, sizeof(U));
}

// out[i] = f(in[i]) for i in [b, e). Nothrow callables get the plain SIMD loop
// (from the output's first cache line); others run in blocks that check for a
// failure elsewhere between blocks.
template <class F, class T, class U>
void run_range(const F& f, const T* in, U* out, std::size_t b, std::size_t e, failure& fail) {
  if constexpr (std::is_nothrow_invocable_v<const F&, const T&> && std::is_arithmetic_v<U>) {
    (void)fail;
    if (b >= e) return;
    const std::size_t m = line_start(out, b, e);
    for (std::size_t i = b; i < m; ++i) out[i] = f(in[i]);
    PARMAP_SIMD
    for (std::size_t i = m; i < e; ++i) out[i] = f(in[i]);
  } else {
    constexpr std::size_t block = 256;
    for (std::size_t s = b; s < e; s += block) {
      if (s >= fail.stop()) return;
      const std::size_t be = std::min(e, s + block);
      std::size_t i = s;
      try {
        for (; i < be; ++i) out[i] = f(in[i]);
      } catch (...) {
        fail.record(i, std::current_exception());
        return;
      }
    }
  }
}

// Thread t's share of [0, n) among `threads`; large shares start on 16-element
// (64-byte for float) multiples so threads do not write one cache line.
inline std::pair<std::size_t, std::size_t> static_chunk(std::size_t n, int t, int threads) noexcept {
  const auto nt = static_cast<std::size_t>(threads);
  std::size_t per = (n + nt - 1) / nt;
  if (per >= 64) per = (per + 15) & ~std::size_t{15};
  const std::size_t b = std::min(n, per * static_cast<std::size_t>(t));
  const std::size_t e = (t == threads - 1) ? n : std::min(n, b + per);
  return {b, e};
}

// A chunk body: out[i] = f(in[i]) for i in [b, e), recording a failure.
// Instantiated in the caller's translation unit (run_range), so the caller's
// lambda inlines and vectorises; the loop that shares the range out between
// threads is compiled once, in host/cpu_loop.cpp.
using chunk_ref = fn_ref<void(std::size_t, std::size_t, failure&)>;

// Maps [first, n) with `threads` OpenMP threads (1: serially on the calling
// thread), each running chunk over its static share. Throws task_error for
// the lowest failing index.
void cpu_map(chunk_ref chunk, std::size_t first, std::size_t n, int threads);

}  // namespace parmap::detail
