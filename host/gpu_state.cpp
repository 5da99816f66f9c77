// The one owner of the process-wide GPU state: which device backend is in
// use, its staging pool and its calibration. Also the public probe and
// release calls.
#include "parmap/detail/gpu_state.hpp"

#include <atomic>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

#include "parmap/device.hpp"

namespace parmap::detail {
namespace {

struct gpu_state {
  std::atomic<device_backend*> installed{nullptr};
  std::atomic<int> device{0};           // the GPU the context's work runs on
  std::mutex mutex;                     // guards pool
  std::unique_ptr<staging_pool> pool;   // for the backend in use, made on first use
  std::once_flag exit_hook;
  // The calibration of the backend in use (nullptr: none yet). Every one made
  // is kept in `calibrations`, so a reference handed out stays valid.
  std::atomic<const calibration*> cal{nullptr};
  std::mutex cal_mutex;  // guards calibrations; held while measuring
  std::deque<calibration> calibrations;
};

// Never destroyed, so an exit handler or a late thread still finds it.
gpu_state& state() noexcept {
  static auto* s = new gpu_state;
  return *s;
}

}  // namespace

device_backend& current_device_backend() noexcept {
  device_backend* b = state().installed.load(std::memory_order_acquire);
  return b != nullptr ? *b : default_device_backend();
}

device_backend* set_device_backend(device_backend* b) noexcept {
  gpu_state& s = state();
  const std::lock_guard lock(s.mutex);
  s.pool.reset();  // frees the slots through the backend that made them, still alive here
  {
    const std::lock_guard cal_lock(s.cal_mutex);
    s.cal.store(nullptr, std::memory_order_release);  // another backend: calibrated again
  }
  return s.installed.exchange(b, std::memory_order_acq_rel);
}

int context_device() noexcept { return state().device.load(std::memory_order_acquire); }

void select_context_device(int index) {
  current_device_backend().use_device(index);
  state().device.store(index, std::memory_order_release);
}

const calibration& current_calibration(int threads) {
  gpu_state& s = state();
  if (const calibration* c = s.cal.load(std::memory_order_acquire)) return *c;
  const std::lock_guard lock(s.cal_mutex);
  if (const calibration* c = s.cal.load(std::memory_order_acquire)) return *c;  // measured meanwhile
  s.calibrations.push_back(load_or_measure_calibration(current_device_backend(), threads, context_device()));
  s.cal.store(&s.calibrations.back(), std::memory_order_release);
  return s.calibrations.back();
}

const calibration* calibration_if_made() noexcept {
  return state().cal.load(std::memory_order_acquire);
}

void install_calibration(std::optional<calibration> c) {
  gpu_state& s = state();
  const std::lock_guard lock(s.cal_mutex);
  if (!c) {
    s.cal.store(nullptr, std::memory_order_release);
    return;
  }
  s.calibrations.push_back(std::move(*c));
  s.cal.store(&s.calibrations.back(), std::memory_order_release);
}

staging_pool& current_staging_pool() {
  gpu_state& s = state();
  device_backend& b = current_device_backend();
  const std::lock_guard lock(s.mutex);
  if (s.pool == nullptr || &s.pool->backend() != &b) {
    s.pool.reset();
    s.pool = std::make_unique<staging_pool>(b);
    // Registered after the backend started CUDA, so it runs before the CUDA
    // runtime's own exit handlers: the memory is freed while it still can be.
    // Only the pool's own backend is used then: a test's backend may be gone.
    std::call_once(s.exit_hook, [] { std::atexit([] { (void)release_staging(); }); });
  }
  return *s.pool;
}

std::size_t release_staging() noexcept {
  gpu_state& s = state();
  const std::lock_guard lock(s.mutex);
  if (s.pool == nullptr) return 0;
  const std::size_t freed = s.pool->release_idle();
  s.pool->backend().trim_memory_pool();
  return freed;
}

staging_pool::usage staging_usage() noexcept {
  gpu_state& s = state();
  const std::lock_guard lock(s.mutex);
  return s.pool != nullptr ? s.pool->current() : staging_pool::usage{};
}

}  // namespace parmap::detail

namespace parmap {

bool gpu_available() { return detail::current_device_backend().probe().available; }

std::string gpu_description() { return detail::current_device_backend().probe().description; }

std::size_t release_cached_memory() noexcept {
  const std::size_t freed = detail::release_staging();
  detail::current_device_backend().trim_memory_pool();
  return freed;
}

}  // namespace parmap
