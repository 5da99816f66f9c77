// Which device backend is in use, and the one staging routine that runs a
// map on it whatever the data's residency.
#include "parmap/detail/device_backend.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parmap/config.hpp"
#include "parmap/device.hpp"
#include "parmap/detail/profile.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {

// Defined by kernels/cuda_backend.cpp in CUDA builds, by no_device_backend.cpp otherwise.
device_backend& default_device_backend() noexcept;

namespace {
std::atomic<device_backend*> installed{nullptr};

}  // namespace

device_backend& current_device_backend() noexcept {
  device_backend* b = installed.load(std::memory_order_acquire);
  return b != nullptr ? *b : default_device_backend();
}

device_backend* set_device_backend(device_backend* b) noexcept {
  return installed.exchange(b, std::memory_order_acq_rel);
}

namespace {

// Host memory copies of staging buffers, on the OpenMP threads for large ones
// (one thread cannot keep up with a PCIe link).
void parallel_copy(void* dst, const void* src, std::size_t bytes) {
  constexpr std::size_t block = std::size_t{1} << 20;
  const std::size_t blocks = (bytes + block - 1) / block;
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  PARMAP_OMP(parallel for schedule(static) if (blocks > 2))
  for (std::size_t i = 0; i < blocks; ++i) {
    const std::size_t off = i * block;
    std::memcpy(d + off, s + off, std::min(block, bytes - off));
  }
}

// One pipeline stage's stream and buffers. Its destructor waits for the
// stream before anything is freed, also when unwinding after a failure.
struct slot {
  slot(device_backend& b, const device_job& job, std::size_t chunk) : b_(b), stream(b.create_stream()) {
    try {
      if (job.in_kind == memory_kind::host) {
        d_in.emplace(b, chunk * job.in_size);
        h_in.emplace(b, chunk * job.in_size, backend_block::kind::pinned);
      }
      if (job.out_kind == memory_kind::host) {
        d_out.emplace(b, chunk * job.out_size);
        h_out.emplace(b, chunk * job.out_size, backend_block::kind::pinned);
      }
    } catch (...) {
      b.destroy_stream(stream);
      throw;
    }
  }
  ~slot() {
    try {
      b_.synchronize(stream);
    } catch (...) {  // the job already failed; nothing more to report
    }
    h_out.reset();
    d_out.reset();
    h_in.reset();
    d_in.reset();
    b_.destroy_stream(stream);
  }
  slot(const slot&) = delete;
  slot& operator=(const slot&) = delete;

  device_backend& b_;
  void* stream;
  std::optional<backend_block> d_in, d_out, h_in, h_out;
  bool pending = false;  // a chunk is enqueued and its results not yet collected
  std::size_t off = 0;   // that chunk's first element
  std::size_t count = 0;
};

void run_pipeline(device_backend& b, const device_job& job, std::size_t chunk) {
  const bool in_host = job.in_kind == memory_kind::host;
  const bool out_host = job.out_kind == memory_kind::host;
  const bool in_place = job.in == job.out;
  // Buffers for all slots, halving the chunk while the device is out of memory.
  std::vector<std::unique_ptr<slot>> slots;
  for (;;) {
    try {
      for (int i = 0; i < pipeline_slots; ++i) slots.push_back(std::make_unique<slot>(b, job, chunk));
      break;
    } catch (const gpu_error&) {
      slots.clear();
      if (chunk <= 1024) throw;
      chunk /= 2;
    }
  }
  const auto* in = static_cast<const unsigned char*>(job.in);
  auto* out = static_cast<unsigned char*>(job.out);
  bool wrote = false;  // results already copied into the caller's buffer
  // Waits for a slot's chunk and copies its results to the caller.
  auto collect = [&](slot& s) {
    if (!s.pending) return;
    s.pending = false;
    b.synchronize(s.stream);
    if (out_host) {
      const profile_range range([&] { return "copy out " + std::to_string(s.count) + " elements"; });
      wrote = true;
      parallel_copy(out + s.off * job.out_size, s.h_out->get(), s.count * job.out_size);
    }
  };
  try {
    std::size_t k = 0;
    for (std::size_t off = 0; off < job.n; off += chunk, ++k) {
      slot& s = *slots[k % slots.size()];
      collect(s);  // the slot's previous chunk, enqueued pipeline_slots chunks ago
      const std::size_t count = std::min(chunk, job.n - off);
      const void* d_in = in_host ? s.d_in->get() : in + off * job.in_size;
      void* d_out = out_host ? s.d_out->get() : out + off * job.out_size;
      if (in_host) {
        const profile_range range([&] { return "H2D " + std::to_string(count) + " elements"; });
        parallel_copy(s.h_in->get(), in + off * job.in_size, count * job.in_size);
        b.upload_async(s.d_in->get(), s.h_in->get(), count * job.in_size, s.stream);
      }
      b.launch_async(job.kernel, d_in, d_out, count, job.ctx, s.stream);
      if (out_host) b.download_async(s.h_out->get(), d_out, count * job.out_size, s.stream);
      s.pending = true;
      s.off = off;
      s.count = count;
    }
    for (std::size_t i = 0; i < slots.size(); ++i) collect(*slots[(k + i) % slots.size()]);  // oldest first
  } catch (const gpu_error& e) {
    if (in_place && wrote) {
      throw gpu_error_after_write(std::string(e.what()) +
                                      " (after part of the in-place data was overwritten: not retried on the CPU)",
                                  e.code());
    }
    throw;
  }
}

}  // namespace

void* device_backend::allocate_pinned(std::size_t bytes) {
  void* p = std::malloc(bytes == 0 ? 1 : bytes);
  if (p == nullptr) throw gpu_error("parmap: staging allocation failed (out of host memory)", 2);
  return p;
}

void device_backend::deallocate_pinned(void* p) noexcept { std::free(p); }

std::size_t pipeline_chunk(const device_job& job, std::size_t free_bytes) noexcept {
  const std::size_t widest = std::max<std::size_t>(1, std::max(job.in_size, job.out_size));
  std::size_t chunk = std::max<std::size_t>(1, chunk_max_bytes / widest);
  // Device bytes per element and slot: buffers for the host-resident sides.
  const std::size_t per = (job.in_kind == memory_kind::host ? job.in_size : 0) +
                          (job.out_kind == memory_kind::host ? job.out_size : 0);
  if (per > 0) {  // half the free memory, over all slots
    chunk = std::min(chunk, std::max<std::size_t>(1024, free_bytes / 2 / (pipeline_slots * per)));
  }
  return std::max<std::size_t>(1, std::min(chunk, job.n));
}

void run_device_job(device_backend& b, const device_job& job) {
  const std::size_t in_bytes = job.n * job.in_size;
  const std::size_t out_bytes = job.n * job.out_size;
  const bool in_place = job.in == job.out;
  const bool host_side = job.in_kind == memory_kind::host || job.out_kind == memory_kind::host;
  if (host_side) {
    const std::size_t free_bytes = b.free_memory();
    const std::size_t device_bytes = (job.in_kind == memory_kind::host ? in_bytes : 0) +
                                     (job.out_kind == memory_kind::host && !in_place ? out_bytes : 0);
    if (pipelined_by_size(in_bytes + out_bytes) || device_bytes > free_bytes / 2) {
      run_pipeline(b, job, pipeline_chunk(job, free_bytes));
      return;
    }
  }

  std::optional<backend_block> in_buf;
  const void* d_in = job.in;
  if (job.in_kind == memory_kind::host) {
    in_buf.emplace(b, in_bytes);
    const profile_range range([&] { return "H2D " + std::to_string(in_bytes) + " B"; });
    b.upload(in_buf->get(), job.in, in_bytes);
    d_in = in_buf->get();
  }
  std::optional<backend_block> out_buf;
  void* d_out = job.out;
  if (job.out_kind == memory_kind::host) {
    if (in_place && in_buf) {
      d_out = in_buf->get();  // transform the uploaded copy in place
    } else {
      out_buf.emplace(b, out_bytes);
      d_out = out_buf->get();
    }
  }
  {
    const profile_range range([&] { return "transform n=" + std::to_string(job.n); });
    b.launch(job.kernel, d_in, d_out, job.n, job.ctx);
  }
  if (job.out_kind == memory_kind::host) {
    const profile_range range([&] { return "D2H " + std::to_string(out_bytes) + " B"; });
    b.download(job.out, d_out, out_bytes);
  }
}

}  // namespace parmap::detail

namespace parmap {

bool gpu_available() { return detail::current_device_backend().probe().available; }

std::string gpu_description() { return detail::current_device_backend().probe().description; }

}  // namespace parmap
