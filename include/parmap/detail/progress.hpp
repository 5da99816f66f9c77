// A one-line progress bar on stderr: done/total, rate, elapsed, ETA. Redrawn
// at most ~10 times a second, only when stderr is a terminal unless forced,
// finished with a newline. Never writes to stdout.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>

namespace parmap::detail {

class progress_bar {
 public:
  // force: draw even when stderr is not a terminal.
  progress_bar(std::size_t total, std::string label, bool force = false);
  ~progress_bar();
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  [[nodiscard]] bool enabled() const noexcept { return enabled_; }
  // Thread-safe; cheap when no redraw is due.
  void update(std::size_t done) {
    done_.store(done, std::memory_order_relaxed);
    maybe_draw();
  }
  void add(std::size_t k = 1) {
    done_.fetch_add(k, std::memory_order_relaxed);
    maybe_draw();
  }
  // Final line and newline (idempotent).
  void finish();

 private:
  void maybe_draw();
  void draw(double now);

  std::size_t total_;
  std::string label_;
  bool enabled_;
  double start_;
  std::atomic<double> next_draw_;
  std::atomic<std::size_t> done_{0};
  std::mutex mutex_;
  bool finished_ = false;
};

}  // namespace parmap::detail
