#include "parmap/detail/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "parmap/detail/clock.hpp"

namespace parmap::detail {
namespace {

std::string clock_text(double s) {
  if (!(s >= 0) || s > 359999) return "--:--";
  const auto t = static_cast<long>(s + 0.5);
  char buf[64];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

}  // namespace

progress_bar::progress_bar(std::size_t total, std::string label, bool force)
    : total_(total),
      label_(std::move(label)),
      enabled_(force || ::isatty(STDERR_FILENO) == 1),
      start_(now_seconds()),
      next_draw_(start_) {}

progress_bar::~progress_bar() { finish(); }

void progress_bar::maybe_draw() {
  if (!enabled_) return;
  const double now = now_seconds();
  double due = next_draw_.load(std::memory_order_relaxed);
  if (now < due || !next_draw_.compare_exchange_strong(due, now + 0.1)) return;
  const std::lock_guard lock(mutex_);
  if (!finished_) draw(now);
}

void progress_bar::finish() {
  if (!enabled_) return;
  const std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  draw(now_seconds());
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

void progress_bar::draw(double now) {
  const std::size_t done = std::min(done_.load(std::memory_order_relaxed), total_);
  constexpr int width = 30;
  const double frac = total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  const int fill = static_cast<int>(frac * width);
  const double elapsed = now - start_;
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : -1.0;
  char bar[width + 1];
  for (int i = 0; i < width; ++i) bar[i] = i < fill ? '#' : '.';
  bar[width] = '\0';
  char line[256];
  const int len = std::snprintf(line, sizeof line, "\r%s [%s] %zu/%zu %3.0f%% %.1f/s elapsed %s ETA %s\x1b[K",
                                label_.c_str(), bar, done, total_, frac * 100.0, rate,
                                clock_text(elapsed).c_str(), clock_text(eta).c_str());
  if (len > 0) {
    // One write, so the line does not interleave with other output.
    (void)!::write(STDERR_FILENO, line, static_cast<std::size_t>(std::min<int>(len, sizeof line - 1)));
  }
}

}  // namespace parmap::detail
