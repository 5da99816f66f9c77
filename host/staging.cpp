// The staging pool: fixed-size slots of pinned and device memory, shared by
// every host-data GPU job (see staging.hpp for the bound and the sharing rule).
#include "parmap/detail/staging.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <utility>

#include "parmap/errors.hpp"

namespace parmap::detail {

std::size_t staging_slot_bytes(std::size_t free_device_bytes) noexcept {
  const std::size_t share = free_device_bytes / 4 / (2 * staging_pool_slots);
  return std::clamp(share, staging_slot_min_bytes, staging_slot_max_bytes) / 256 * 256;
}

staging_pool::~staging_pool() { release_idle(); }

staging_slot* staging_pool::make_slot(std::size_t bytes) {
  auto s = std::make_unique<staging_slot>();
  s->bytes = bytes;
  try {
    s->stream = b_.create_stream();
    s->pinned = b_.allocate_pinned(bytes);
    s->device_in = b_.allocate(bytes);
    s->device_out = b_.allocate(bytes);
  } catch (...) {
    free_slot(s.release());
    throw;
  }
  return s.release();
}

void staging_pool::free_slot(staging_slot* s) noexcept {
  if (s->device_out != nullptr) b_.deallocate(s->device_out);
  if (s->device_in != nullptr) b_.deallocate(s->device_in);
  if (s->pinned != nullptr) b_.deallocate_pinned(s->pinned);
  if (s->stream != nullptr) b_.destroy_stream(s->stream);
  delete s;
}

staging_pool::lease staging_pool::acquire(int wanted) {
  wanted = std::clamp(wanted, 1, staging_job_slots);
  std::vector<staging_slot*> got;
  got.reserve(static_cast<std::size_t>(wanted));
  std::unique_lock lock(mutex_);
  for (;;) {
    while (static_cast<int>(got.size()) < wanted && !idle_.empty()) {
      got.push_back(idle_.back());
      idle_.pop_back();
    }
    bool wait = true;
    while (static_cast<int>(got.size()) < wanted && slots_ + creating_ < staging_pool_slots) {
      if (slots_ + creating_ == 0 && slot_bytes_ == 0) slot_bytes_ = staging_slot_bytes(b_.free_memory());
      const std::size_t bytes = slot_bytes_;
      ++creating_;
      lock.unlock();
      staging_slot* s = nullptr;
      std::exception_ptr failure;
      try {
        s = make_slot(bytes);
      } catch (const gpu_error&) {
        failure = std::current_exception();
      }
      lock.lock();
      --creating_;
      if (s != nullptr) {
        ++slots_;
        got.push_back(s);
        continue;
      }
      returned_.notify_all();  // waiters may now make a slot themselves
      if (!got.empty()) break;  // run with what we have
      if (slots_ + creating_ > 0) break;  // wait for another job's slot
      // Nothing to wait for: smaller slots, down to the minimum.
      if (bytes <= staging_slot_min_bytes) {
        slot_bytes_ = 0;
        std::rethrow_exception(failure);
      }
      if (slot_bytes_ == bytes) slot_bytes_ = std::max(staging_slot_min_bytes, bytes / 2 / 256 * 256);
      wait = false;
    }
    if (!got.empty()) return lease(*this, std::move(got));
    if (wait) returned_.wait(lock);
  }
}

void staging_pool::give_back(std::vector<staging_slot*>& slots, bool discard) noexcept {
  for (staging_slot* s : slots) {
    try {
      b_.synchronize(s->stream);
    } catch (...) {  // the job already failed, or its stream is broken: do not reuse it
      discard = true;
    }
  }
  if (discard) {
    for (staging_slot* s : slots) free_slot(s);
  }
  {
    const std::lock_guard lock(mutex_);
    if (discard) {
      slots_ -= static_cast<int>(slots.size());
      if (slots_ == 0 && creating_ == 0) slot_bytes_ = 0;
    } else {
      idle_.insert(idle_.end(), slots.begin(), slots.end());
    }
  }
  slots.clear();
  returned_.notify_all();
}

staging_pool::lease::~lease() {
  if (!slots_.empty()) pool_.give_back(slots_, discard_);
}

std::size_t staging_pool::lease::bytes() const noexcept {
  std::size_t b = slots_.front()->bytes;
  for (const staging_slot* s : slots_) b = std::min(b, s->bytes);
  return b;
}

std::size_t staging_pool::release_idle() noexcept {
  std::vector<staging_slot*> freed;
  {
    const std::lock_guard lock(mutex_);
    freed.swap(idle_);
    slots_ -= static_cast<int>(freed.size());
    if (slots_ == 0 && creating_ == 0) slot_bytes_ = 0;  // decided again from free memory
  }
  std::size_t bytes = 0;
  for (staging_slot* s : freed) {
    bytes += 3 * s->bytes;
    free_slot(s);
  }
  returned_.notify_all();
  return bytes;
}

staging_pool::usage staging_pool::current() const {
  const std::lock_guard lock(mutex_);
  return {slots_, slots_ - static_cast<int>(idle_.size()), slot_bytes_};
}

}  // namespace parmap::detail
