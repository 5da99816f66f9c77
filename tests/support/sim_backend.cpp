#include "sim_backend.hpp"

#include <cstdlib>
#include <cstring>

#include "../../kernels/catalogue_kernel.hpp"
#include "parmap/errors.hpp"

namespace parmap::test {
detail::memory_kind sim_backend::locate(const void* p) {
  ++locates;
  const auto* q = static_cast<const unsigned char*>(p);
  const std::lock_guard lock(mutex_);
  auto it = blocks_.upper_bound(q);
  if (it == blocks_.begin()) return detail::memory_kind::host;
  --it;
  return q < it->first + it->second ? detail::memory_kind::device : detail::memory_kind::host;
}

void* sim_backend::allocate(std::size_t bytes) {
  if (bytes > max_allocation.load()) {
    throw gpu_error("parmap: device allocation failed (simulated out of memory)", 2);
  }
  auto* p = static_cast<unsigned char*>(std::malloc(bytes == 0 ? 1 : bytes));
  if (p == nullptr) throw gpu_error("parmap: device allocation failed (out of memory)", 2);
  const std::lock_guard lock(mutex_);
  blocks_[p] = bytes == 0 ? 1 : bytes;
  return p;
}

void sim_backend::deallocate(void* p) noexcept {
  if (p == nullptr) return;
  {
    const std::lock_guard lock(mutex_);
    blocks_.erase(static_cast<unsigned char*>(p));
  }
  std::free(p);
}

void* sim_backend::allocate_pinned(std::size_t bytes) {
  void* p = std::malloc(bytes == 0 ? 1 : bytes);
  if (p == nullptr) throw gpu_error("parmap: pinned allocation failed (out of memory)", 2);
  ++pinned_live;
  return p;
}

void sim_backend::deallocate_pinned(void* p) noexcept {
  if (p == nullptr) return;
  --pinned_live;
  std::free(p);
}

bool sim_backend::register_host(const void* p, std::size_t bytes) {
  if (!can_register.load() || bytes == 0) return false;
  const auto* q = static_cast<const unsigned char*>(p);
  const std::lock_guard lock(mutex_);
  for (const auto& [start, size] : registered_) {
    if (q < start + size && start < q + bytes) return false;  // already registered
  }
  registered_.emplace(q, bytes);
  ++registrations;
  ++registered_live;
  return true;
}

void sim_backend::unregister_host(const void* p) noexcept {
  const std::lock_guard lock(mutex_);
  if (registered_.erase(static_cast<const unsigned char*>(p)) != 0) --registered_live;
}

bool sim_backend::in_registered(const void* p) const {
  const auto* q = static_cast<const unsigned char*>(p);
  auto it = registered_.upper_bound(q);
  if (it == registered_.begin()) return false;
  --it;
  return q < it->first + it->second;
}

namespace {
thread_local int sim_current_device = 0;  // as CUDA's: per thread, 0 until set
}  // namespace

void sim_backend::use_device(int index) {
  if (index < 0 || index >= devices.load()) throw gpu_error("simulated GPU: no device " + std::to_string(index), 101);
  sim_current_device = index;
}

int sim_backend::current_device() noexcept { return sim_current_device; }

void sim_backend::note_device() noexcept {
  device_mask.fetch_or(1U << static_cast<unsigned>(sim_current_device));
}

void sim_backend::upload_async(void* dst, const void* src, std::size_t bytes, void*) {
  ++uploads;
  note_device();
  {
    const std::lock_guard lock(mutex_);
    if (in_registered(src)) ++direct_uploads;
  }
  std::memcpy(dst, src, bytes);
}

void sim_backend::download_async(void* dst, const void* src, std::size_t bytes, void*) {
  ++downloads;
  note_device();
  {
    const std::lock_guard lock(mutex_);
    if (in_registered(dst)) ++direct_downloads;
  }
  std::memcpy(dst, src, bytes);
}

void sim_backend::launch_async(detail::device_kernel kernel, const void* in, void* out, std::size_t n,
                               const void* ctx, void*) {
  ++launches;
  note_device();
  std::size_t seen = largest_launch.load();
  while (n > seen && !largest_launch.compare_exchange_weak(seen, n)) {
  }
  kernel(in, out, n, nullptr, ctx);
}

detail::device_kernel sim_backend::catalogue() { return &detail::thrust_omp::catalogue_kernel; }

std::size_t sim_backend::live_allocations() const {
  const std::lock_guard lock(mutex_);
  return blocks_.size();
}

}  // namespace parmap::test
