// One map on the device: in place for device data, through the staging
// pool's slots for host data (see pipeline.hpp).
#include "parmap/detail/pipeline.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "parmap/config.hpp"
#include "parmap/detail/profile.hpp"
#include "parmap/detail/staging.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {
namespace {

// Copies between the caller's memory and a pinned buffer, on the OpenMP
// threads for large ones (one thread cannot keep up with a PCIe link);
// `threads` of them when above 0.
void parallel_copy(void* dst, const void* src, std::size_t bytes, int threads) {
  constexpr std::size_t block = std::size_t{1} << 20;
  const std::size_t blocks = (bytes + block - 1) / block;
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
#if defined(_OPENMP)
  if (threads <= 0) threads = omp_get_max_threads();
#endif
  (void)threads;
  PARMAP_OMP(parallel for schedule(static) num_threads(threads) if (blocks > 2 && threads > 1))
  for (std::size_t i = 0; i < blocks; ++i) {
    const std::size_t off = i * block;
    std::memcpy(d + off, s + off, std::min(block, bytes - off));
  }
}

// The caller's memory registered for one job: unregistered when the job
// ends, after the slots' streams have drained (an unregistered buffer must
// not be in a copy).
class registration {
 public:
  registration(device_backend& b, const std::vector<staging_slot*>& slots) noexcept : b_(b), slots_(slots) {}
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;
  ~registration() {
    if (count_ == 0) return;
    for (staging_slot* s : slots_) {
      try {
        b_.synchronize(s->stream);
      } catch (...) {  // the failure is already on its way to the caller
      }
    }
    for (std::size_t i = 0; i < count_; ++i) b_.unregister_host(done_[i]);
  }
  bool add(const void* p, std::size_t bytes) {
    if (bytes == 0 || !b_.register_host(p, bytes)) return false;
    done_[count_++] = p;
    return true;
  }

 private:
  device_backend& b_;
  const std::vector<staging_slot*>& slots_;
  const void* done_[2] = {nullptr, nullptr};
  std::size_t count_ = 0;
};

// A chunk enqueued on a slot whose results are not yet collected.
struct in_flight {
  bool pending = false;
  std::size_t off = 0;
  std::size_t count = 0;
};

void run_staged(staging_pool& pool, const device_job& job) {
  device_backend& b = pool.backend();
  const bool in_host = job.in_kind == memory_kind::host;
  const bool out_host = job.out_kind == memory_kind::host;
  const bool in_place = job.in == job.out;
  const std::size_t widest = std::max<std::size_t>(1, std::max(job.in_elem_bytes, job.out_elem_bytes));
  // As many slots as the job has chunks, up to staging_job_slots.
  staging_pool::lease lease = pool.acquire(pipeline_slots_wanted(job.n * widest));
  const auto& slots = lease.slots();
  const std::size_t chunk = pipeline_chunk_elements(job.n, widest, lease.bytes(), slots.size());
  std::vector<in_flight> flight(slots.size());

  const auto* in = static_cast<const unsigned char*>(job.in);
  auto* out = static_cast<unsigned char*>(job.out);
  registration registered(b, slots);
  bool direct_in = false;   // uploads DMA the caller's input
  bool direct_out = false;  // downloads DMA into the caller's output
  if (job.register_host) {
    if (in_host) direct_in = registered.add(job.in, job.n * job.in_elem_bytes);
    if (out_host && !in_place) direct_out = registered.add(job.out, job.n * job.out_elem_bytes);
  }
  std::size_t done = 0;  // elements whose results are in the caller's buffer (a prefix)
  // Waits for slot i's chunk and copies its results to the caller.
  auto collect = [&](std::size_t i) {
    in_flight& f = flight[i];
    if (!f.pending) return;
    f.pending = false;
    b.synchronize(slots[i]->stream);
    if (out_host) {
      if (!direct_out) {
        const profile_range range([&] { return "copy out " + std::to_string(f.count) + " elements"; });
        parallel_copy(out + f.off * job.out_elem_bytes, slots[i]->pinned, f.count * job.out_elem_bytes,
                      job.copy_threads);
      }
      done = f.off + f.count;  // chunks are collected in order
      if (job.written != nullptr) *job.written = done;
    }
  };
  if (job.written != nullptr) *job.written = 0;
  try {
    std::size_t k = 0;
    for (std::size_t off = 0; off < job.n; off += chunk, ++k) {
      const std::size_t i = k % slots.size();
      const staging_slot& s = *slots[i];
      collect(i);  // the slot's previous chunk
      const std::size_t count = std::min(chunk, job.n - off);
      const void* d_in = in_host ? s.device_in : in + off * job.in_elem_bytes;
      void* d_out = out_host ? s.device_out : out + off * job.out_elem_bytes;
      if (in_host) {
        const profile_range range([&] { return "H2D " + std::to_string(count) + " elements"; });
        const unsigned char* from = in + off * job.in_elem_bytes;
        if (!direct_in) {
          parallel_copy(s.pinned, from, count * job.in_elem_bytes, job.copy_threads);
          from = static_cast<const unsigned char*>(s.pinned);
        }
        b.upload_async(s.device_in, from, count * job.in_elem_bytes, s.stream);
      }
      b.launch_async(job.kernel, d_in, d_out, count, job.ctx, s.stream);
      // The upload from s.pinned precedes this download in the stream's order.
      if (out_host) {
        void* to = direct_out ? static_cast<void*>(out + off * job.out_elem_bytes) : s.pinned;
        b.download_async(to, d_out, count * job.out_elem_bytes, s.stream);
      }
      flight[i] = {true, off, count};
    }
    for (std::size_t j = 0; j < slots.size(); ++j) collect((k + j) % slots.size());  // oldest first
  } catch (const gpu_error& e) {
    lease.discard();
    if (in_place && done > 0) {
      throw gpu_error(
          std::string(e.what()) + " (in place: elements below " + std::to_string(done) + " already hold their results)",
          e.code());
    }
    throw;
  } catch (...) {
    lease.discard();
    throw;
  }
}

}  // namespace

int pipeline_slots_wanted(std::size_t job_bytes) noexcept {
  const std::size_t pieces = (job_bytes + pipeline_min_chunk_bytes - 1) / pipeline_min_chunk_bytes;
  return static_cast<int>(std::clamp<std::size_t>(pieces, 1, staging_job_slots));
}

std::size_t pipeline_chunk_elements(std::size_t n, std::size_t elem_bytes, std::size_t slot_bytes,
                                    std::size_t slots) noexcept {
  const std::size_t most = std::max<std::size_t>(1, slot_bytes / elem_bytes);
  const std::size_t least = std::max<std::size_t>(1, pipeline_min_chunk_bytes / elem_bytes);
  const std::size_t share = (n + slots) / (slots + 1);
  return std::min(most, std::max(least, share));
}

void run_device_job(staging_pool& pool, const device_job& job) {
  if (job.n == 0) return;
  device_backend& b = pool.backend();
  if (job.device >= 0) b.use_device(job.device);
  if (job.in_kind == memory_kind::device && job.out_kind == memory_kind::device) {
    const profile_range range([&] { return "transform n=" + std::to_string(job.n); });
    if (job.written != nullptr) *job.written = 0;
    b.launch(job.kernel, job.in, job.out, job.n, job.ctx);
    if (job.written != nullptr) *job.written = job.n;
    return;
  }
  run_staged(pool, job);
}

}  // namespace parmap::detail
