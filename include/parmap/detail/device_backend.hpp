// The small C++ interface behind which all CUDA lives (kernels/). Host code
// and headers see only this; a CPU-only build installs a backend that has no
// device, and tests may install a fake one (e.g. a "GPU" made of Thrust's
// OpenMP device system) to exercise the dispatcher and the staging logic on
// machines without a GPU.
#pragma once

#include <cstddef>
#include <string>

namespace parmap::detail {

enum class memory_kind : unsigned char { host, device };

// A transform over device pointers: out[i] = f(in[i]) for i < n, enqueued on
// `stream` (a cudaStream_t, or null for backends without streams).
using device_kernel = void (*)(const void* in, void* out, std::size_t n, void* stream,
                               const void* ctx);

struct probe_result {
  bool available = false;
  std::string description;  // "NVIDIA H100 80GB HBM3, cc 9.0" or why none
};

class device_backend {
 public:
  virtual ~device_backend() = default;
  // Cached and thread-safe.
  virtual const probe_result& probe() = 0;
  virtual memory_kind locate(const void* p) = 0;
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* p) noexcept = 0;
  virtual void upload(void* device_dst, const void* host_src, std::size_t bytes) = 0;
  virtual void download(void* host_dst, const void* device_src, std::size_t bytes) = 0;
  // Runs kernel(in, out, n, stream, ctx) and waits for it; throws gpu_error.
  virtual void launch(device_kernel kernel, const void* in, void* out, std::size_t n,
                      const void* ctx) = 0;
  // The precompiled op catalogue; ctx is a const op_call*.
  virtual device_kernel catalogue() = 0;
  // GPUs this process can see (0 without one).
  virtual int device_count() { return probe().available ? 1 : 0; }
  // Makes GPU `index` (< device_count()) the calling thread's device.
  virtual void use_device(int index) { (void)index; }
};

// The backend in use: the CUDA one in CUDA builds, a no-device one otherwise,
// or whatever a test installed.
device_backend& current_device_backend() noexcept;
// Installs b (nullptr: the build's default) and returns the previous one.
// Not thread-safe with respect to running maps; for tests.
device_backend* set_device_backend(device_backend* b) noexcept;

// One map on the device, whatever the data's residency: host-resident input is
// copied in, host-resident output copied back, device buffers used in place.
struct device_job {
  const void* in;
  void* out;
  std::size_t n;
  std::size_t in_size;   // bytes per input element
  std::size_t out_size;  // bytes per output element
  memory_kind in_kind;
  memory_kind out_kind;
  device_kernel kernel;
  const void* ctx;
};
void run_device_job(device_backend& b, const device_job& job);

}  // namespace parmap::detail

namespace parmap::detail {
[[noreturn]] void throw_size_mismatch(const char* what, std::size_t host_n, std::size_t device_n);
[[noreturn]] void throw_not_host_memory(const char* what);
}  // namespace parmap::detail
