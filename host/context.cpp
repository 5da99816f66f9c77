// The execution context, the one owner of the process's execution state:
// which device backend is in use, the GPU its work runs on, its staging pool,
// its calibration and the PARMAP_* environment snapshot. Also the public
// probe, release and reload calls.
#include "parmap/detail/context.hpp"

#include <atomic>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "environment.hpp"
#include "parmap/device.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {
namespace {

struct context_state {
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
  // The PARMAP_* reading in use, or its bad value's message. Readings are
  // never freed (a reload is rare and small), so a reference handed to a
  // call stays valid while another thread reloads.
  struct snapshot {
    environment env;
    std::string error;
  };
  std::atomic<const snapshot*> env{nullptr};
  std::mutex env_mutex;  // guards readings
  std::vector<std::unique_ptr<snapshot>> readings;
};

// Never destroyed, so an exit handler or a late thread still finds it.
context_state& state() noexcept {
  static auto* s = new context_state;
  return *s;
}

const context_state::snapshot* read_and_install() {
  auto r = std::make_unique<context_state::snapshot>();
  try {
    r->env = read_environment();
  } catch (const config_error& e) {
    r->error = e.what();
  }
  context_state& s = state();
  const std::lock_guard lock(s.env_mutex);
  s.readings.push_back(std::move(r));
  s.env.store(s.readings.back().get(), std::memory_order_release);
  return s.readings.back().get();
}

}  // namespace

const environment& current_environment() {
  const context_state::snapshot* r = state().env.load(std::memory_order_acquire);
  if (r == nullptr) r = read_and_install();
  if (!r->error.empty()) throw config_error(r->error);
  return r->env;
}

const cpu_kernels& active_cpu_kernels() { return *current_environment().cpu; }

device_backend& current_device_backend() noexcept {
  device_backend* b = state().installed.load(std::memory_order_acquire);
  return b != nullptr ? *b : default_device_backend();
}

device_backend* set_device_backend(device_backend* b) noexcept {
  context_state& s = state();
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
  context_state& s = state();
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
  context_state& s = state();
  const std::lock_guard lock(s.cal_mutex);
  if (!c) {
    s.cal.store(nullptr, std::memory_order_release);
    return;
  }
  s.calibrations.push_back(std::move(*c));
  s.cal.store(&s.calibrations.back(), std::memory_order_release);
}

staging_pool& current_staging_pool() {
  context_state& s = state();
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
  context_state& s = state();
  const std::lock_guard lock(s.mutex);
  if (s.pool == nullptr) return 0;
  const std::size_t freed = s.pool->release_idle();
  s.pool->backend().trim_memory_pool();
  return freed;
}

staging_pool::usage staging_usage() noexcept {
  context_state& s = state();
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

void reload_environment() { (void)detail::read_and_install(); }

}  // namespace parmap
