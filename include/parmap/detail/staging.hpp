// The staging pool (host/staging.cpp): fixed-size slots through which
// host-resident data reaches the GPU. A slot is one stream, one page-locked
// host buffer (used for the upload and then for the download of the same
// chunk) and two device buffers (chunk in, chunk out), all of slot_bytes.
//
// Slots are made on first need, reused by every later job whatever its n, and
// kept up to staging_pool_slots per backend: an array's size never reaches the
// allocator, and the pool holds at most
//   staging_pool_slots x staging_slot_max_bytes = 6 x 32 MiB = 192 MiB pinned
//   and twice that (384 MiB) of device memory.
// Concurrent callers share the slots. Rule: a job takes the idle slots it can
// use (up to staging_job_slots), makes new ones while the pool is below its
// bound, and otherwise waits until another job returns one; a job never waits
// while it holds a slot, so callers cannot deadlock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "device_backend.hpp"

namespace parmap::detail {

inline constexpr int staging_pool_slots = 6;
inline constexpr int staging_job_slots = 3;
inline constexpr std::size_t staging_slot_max_bytes = std::size_t{32} << 20;
// Below this, a slot that cannot be allocated is an error (not a smaller slot).
inline constexpr std::size_t staging_slot_min_bytes = std::size_t{4} << 10;

// Slot size for a device with this much free memory: a quarter of it over all
// the pool's device buffers, in [staging_slot_min_bytes, staging_slot_max_bytes],
// a multiple of 256 bytes.
std::size_t staging_slot_bytes(std::size_t free_device_bytes) noexcept;

struct staging_slot {
  void* stream = nullptr;
  void* pinned = nullptr;      // host side, both directions
  void* device_in = nullptr;
  void* device_out = nullptr;
  std::size_t bytes = 0;       // size of each of the three buffers
};

class staging_pool {
 public:
  explicit staging_pool(device_backend& b) noexcept : b_(b) {}
  // Frees the idle slots (slots still lent out at this point are leaked).
  ~staging_pool();
  staging_pool(const staging_pool&) = delete;
  staging_pool& operator=(const staging_pool&) = delete;

  // The slots one job holds; returned to the pool (after their streams are
  // drained) when the lease ends, or freed if the job failed (discard()).
  class lease {
   public:
    lease(lease&& o) noexcept : pool_(o.pool_), slots_(std::move(o.slots_)), discard_(o.discard_) {
      o.slots_.clear();
    }
    lease& operator=(lease&&) = delete;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease();
    [[nodiscard]] const std::vector<staging_slot*>& slots() const noexcept { return slots_; }
    // Bytes of each buffer that every slot of the lease has.
    [[nodiscard]] std::size_t bytes() const noexcept;
    // The job failed: free the slots instead of reusing them.
    void discard() noexcept { discard_ = true; }

   private:
    friend class staging_pool;
    lease(staging_pool& p, std::vector<staging_slot*> s) noexcept : pool_(p), slots_(std::move(s)) {}
    staging_pool& pool_;
    std::vector<staging_slot*> slots_;
    bool discard_ = false;
  };

  // At least one and at most `wanted` slots (see the rule above). Throws
  // gpu_error when no slot can be made, even of staging_slot_min_bytes, and
  // none exists to wait for.
  lease acquire(int wanted);
  // Frees the idle slots; returns the bytes given back (pinned + device).
  // Slots lent out stay with their jobs and come back to the pool later.
  std::size_t release_idle() noexcept;

  struct usage {
    int slots = 0;  // made and not freed
    int lent = 0;   // held by jobs now
    std::size_t slot_bytes = 0;
  };
  [[nodiscard]] usage current() const;
  // The backend the slots come from, and that runs the jobs.
  [[nodiscard]] device_backend& backend() const noexcept { return b_; }

 private:
  staging_slot* make_slot(std::size_t bytes);  // throws gpu_error
  void free_slot(staging_slot* s) noexcept;
  void give_back(std::vector<staging_slot*>& slots, bool discard) noexcept;

  device_backend& b_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<staging_slot*> idle_;
  int slots_ = 0;     // made (idle + lent)
  int creating_ = 0;  // being made right now
  std::size_t slot_bytes_ = 0;  // decided when the pool is empty
};

}  // namespace parmap::detail
