// One map on the device whatever the data's residency (host/pipeline.cpp).
// Device-resident data is transformed in place, with no copy. Host-resident
// data goes through the staging pool's slots in chunks of a slot's size: the
// upload of one chunk, the transform of another and the download of a third
// run at once on the slots' streams (so both copy directions run at once),
// and the CPU copies between the caller's memory and a slot's pinned buffer
// overlap them; with registered caller memory (device_job::register_host)
// the copies DMA it directly and there are no CPU copies. A small job is one
// chunk in one slot, so it too copies from pinned memory.
#pragma once

#include <cstddef>

#include "device_backend.hpp"
#include "staging.hpp"

namespace parmap::detail {

struct device_job {
  const void* in;
  void* out;
  std::size_t n;
  std::size_t in_elem_bytes;   // bytes per input element
  std::size_t out_elem_bytes;  // bytes per output element
  memory_kind in_kind;
  memory_kind out_kind;
  device_kernel kernel;
  const void* ctx;
  // Set, when not null, to the number of leading elements whose results are
  // in `out` (host output): results reach the caller's memory chunk by chunk,
  // in order, so after a failure [0, *written) is done and the rest of out is
  // as it was. Read it only after run_device_job returned or threw.
  std::size_t* written = nullptr;
  // OpenMP threads for the copies between the caller's memory and the pinned
  // buffers (0: all). A split map leaves the other cores to its CPU share.
  int copy_threads = 0;
  // Register the caller's host memory (device_backend::register_host) for the
  // job, so that the copies DMA it directly and no core copies through the
  // pinned buffers. Out of place both sides; in place only the upload (the
  // results still arrive through the pinned buffers, so that after a failure
  // no element is left half written). A side that cannot be registered is staged.
  bool register_host = false;
  // The GPU the job runs on: made the current device of the thread that runs
  // it (a split's GPU share runs on a thread of its own). -1: leave the
  // thread's current device as it is.
  int device = -1;
};

// Chunks of a job smaller than its slots hold are cut down to this size, not
// below (each chunk costs a launch and a synchronisation, ~10 us).
inline constexpr std::size_t pipeline_min_chunk_bytes = std::size_t{1} << 20;

// Host-data jobs moving at least this many bytes (in + out) run at the
// pipeline's rate in the cost model; smaller ones pay a round trip per chunk.
inline constexpr std::size_t pipeline_min_bytes = std::size_t{8} << 20;
constexpr bool pipelined_by_size(std::size_t bytes_moved) noexcept {
  return bytes_moved >= pipeline_min_bytes;
}

// Slots a host-data job moving job_bytes (its wider side) asks the pool for:
// one per pipeline_min_chunk_bytes, up to staging_job_slots.
int pipeline_slots_wanted(std::size_t job_bytes) noexcept;
// Elements per chunk for n elements of elem_bytes (the wider side) in `slots`
// slots of slot_bytes: a slot's worth at most; a job that the slots would hold
// in fewer chunks than slots + 1 is cut into slots + 1 pieces (but none below
// pipeline_min_chunk_bytes), so that its copies and transforms still overlap.
std::size_t pipeline_chunk_elements(std::size_t n, std::size_t elem_bytes, std::size_t slot_bytes,
                                    std::size_t slots) noexcept;

// Runs the job on the pool's backend, with the pool's slots for host-resident
// sides. Throws gpu_error; when an in-place map failed after part of the
// caller's data was overwritten, its message says how far (job.written too).
void run_device_job(staging_pool& pool, const device_job& job);

}  // namespace parmap::detail
