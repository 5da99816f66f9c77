// Which device backend is in use, and the one staging routine that runs a
// map on it whatever the data's residency.
#include "parmap/detail/device_backend.hpp"

#include <atomic>
#include <optional>

#include "parmap/device.hpp"
#include "parmap/detail/profile.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {

// Defined by kernels/cuda_backend.cpp in CUDA builds, by no_device_backend.cpp otherwise.
device_backend& default_device_backend() noexcept;

namespace {
std::atomic<device_backend*> installed{nullptr};

// Device memory owned for the length of one job.
class device_buffer {
 public:
  device_buffer(device_backend& b, std::size_t bytes) : b_(b), p_(b.allocate(bytes)) {}
  ~device_buffer() { b_.deallocate(p_); }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  [[nodiscard]] void* get() const noexcept { return p_; }

 private:
  device_backend& b_;
  void* p_;
};
}  // namespace

device_backend& current_device_backend() noexcept {
  device_backend* b = installed.load(std::memory_order_acquire);
  return b != nullptr ? *b : default_device_backend();
}

device_backend* set_device_backend(device_backend* b) noexcept {
  return installed.exchange(b, std::memory_order_acq_rel);
}

void run_device_job(device_backend& b, const device_job& job) {
  const std::size_t in_bytes = job.n * job.in_size;
  const std::size_t out_bytes = job.n * job.out_size;
  const bool in_place = job.in == job.out;

  std::optional<device_buffer> in_buf;
  const void* d_in = job.in;
  if (job.in_kind == memory_kind::host) {
    in_buf.emplace(b, in_bytes);
    const profile_range range([&] { return "H2D " + std::to_string(in_bytes) + " B"; });
    b.upload(in_buf->get(), job.in, in_bytes);
    d_in = in_buf->get();
  }
  std::optional<device_buffer> out_buf;
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
