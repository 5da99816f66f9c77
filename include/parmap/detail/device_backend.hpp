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

  // The overlapped pipeline for host data (run_device_job). The defaults run
  // each step at once, for backends without streams (tests).
  // Page-locked host memory for staging copies, from a reused pool where the
  // backend has one (default: heap memory). Throws gpu_error.
  virtual void* allocate_pinned(std::size_t bytes);
  virtual void deallocate_pinned(void* p) noexcept;
  // An independent, ordered queue of work (default: none).
  virtual void* create_stream() { return nullptr; }
  virtual void destroy_stream(void* stream) noexcept { (void)stream; }
  // Enqueue on `stream`; the pointers must stay valid until synchronize(stream).
  virtual void upload_async(void* device_dst, const void* host_src, std::size_t bytes, void* stream) {
    (void)stream;
    upload(device_dst, host_src, bytes);
  }
  virtual void download_async(void* host_dst, const void* device_src, std::size_t bytes, void* stream) {
    (void)stream;
    download(host_dst, device_src, bytes);
  }
  virtual void launch_async(device_kernel kernel, const void* in, void* out, std::size_t n,
                            const void* ctx, void* stream) {
    (void)stream;
    launch(kernel, in, out, n, ctx);
  }
  // Waits for everything enqueued on `stream`; throws gpu_error for a failure in it.
  virtual void synchronize(void* stream) { (void)stream; }
  // Device memory a job may still allocate, in bytes (default: no limit).
  virtual std::size_t free_memory() { return static_cast<std::size_t>(-1); }
};


// Memory from a backend for the guard's lifetime: device memory, or pinned
// host memory for staging.
class backend_block {
 public:
  enum class kind : unsigned char { device, pinned };
  backend_block(device_backend& b, std::size_t bytes, kind k = kind::device)
      : b_(b), k_(k), p_(k == kind::device ? b.allocate(bytes) : b.allocate_pinned(bytes)) {}
  ~backend_block() {
    if (k_ == kind::device) {
      b_.deallocate(p_);
    } else {
      b_.deallocate_pinned(p_);
    }
  }
  backend_block(const backend_block&) = delete;
  backend_block& operator=(const backend_block&) = delete;
  [[nodiscard]] void* get() const noexcept { return p_; }

 private:
  device_backend& b_;
  kind k_;
  void* p_;
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
// Host data of at least pipeline_min_bytes (in + out), or more than fits in
// the device's free memory, goes through the overlapped pipeline: chunks of up
// to chunk_max_bytes in pipeline_slots streams, each with its own pinned
// staging and device buffers, so that one chunk's upload, another's transform
// and a third's download run at once. Smaller jobs copy in, run and copy out.
inline constexpr std::size_t pipeline_min_bytes = std::size_t{8} << 20;
inline constexpr std::size_t chunk_max_bytes = std::size_t{32} << 20;
inline constexpr int pipeline_slots = 3;
// True when a host-data job moving this many bytes (in + out) is pipelined
// whatever the free device memory (run_device_job, and the cost model's estimate).
constexpr bool pipelined_by_size(std::size_t bytes_moved) noexcept {
  return bytes_moved >= pipeline_min_bytes;
}
void run_device_job(device_backend& b, const device_job& job);
// Elements per chunk of the pipeline for this job and free device memory.
std::size_t pipeline_chunk(const device_job& job, std::size_t free_bytes) noexcept;

}  // namespace parmap::detail

namespace parmap::detail {
[[noreturn]] void throw_size_mismatch(const char* what, std::size_t host_n, std::size_t device_n);
[[noreturn]] void throw_not_host_memory(const char* what);
}  // namespace parmap::detail
