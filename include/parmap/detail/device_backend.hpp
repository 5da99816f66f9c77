// The small C++ interface behind which all CUDA lives (kernels/). Host code
// and headers see only this; a CPU-only build installs a backend that has no
// device, and tests may install a fake one (e.g. a "GPU" made of Thrust's
// OpenMP device system) to exercise the dispatcher and the staging pipeline on
// machines without a GPU.
//
// The virtuals are the stream primitives (allocation, streams, asynchronous
// copies and launches, synchronisation); the synchronous forms are
// non-virtual wrappers over them, so every backend has one way to do each.
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
  std::string description;  // "NVIDIA H100 80GB HBM3, cc 9.0, 79 GiB" or why none
};

class device_backend {
 public:
  device_backend() = default;
  device_backend(const device_backend&) = delete;
  device_backend& operator=(const device_backend&) = delete;
  virtual ~device_backend() = default;

  // Cached and thread-safe. Starts the GPU runtime (CUDA: ~100 ms).
  virtual const probe_result& probe() = 0;
  // True when this process may already hold GPU memory: the GPU driver is
  // loaded, by parmap or by anyone else. While false every pointer is host
  // memory, and a call that cannot use the GPU starts nothing. Cheap (CUDA:
  // ~10 ns while no library has been loaded since the last look).
  virtual bool started() noexcept { return true; }
  virtual memory_kind locate(const void* p) = 0;
  // The precompiled op catalogue; ctx is a const op_call*.
  virtual device_kernel catalogue() = 0;
  // GPUs this process can see (0 without one).
  virtual int device_count() { return probe().available ? 1 : 0; }
  // Makes GPU `index` (< device_count()) the calling thread's device.
  virtual void use_device(int index) { (void)index; }

  // Memory. Device memory; page-locked host memory for staging copies. Both
  // throw gpu_error (out of memory: code 2 or the CUDA code).
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* p) noexcept = 0;
  virtual void* allocate_pinned(std::size_t bytes) = 0;
  virtual void deallocate_pinned(void* p) noexcept = 0;
  // Device memory a job may still allocate, in bytes.
  virtual std::size_t free_memory() = 0;
  // Gives memory that the backend keeps for reuse (CUDA: the stream-ordered
  // pool's unused reservation) back to the system. Starts nothing.
  virtual void trim_memory_pool() noexcept {}
  // Page-locks host memory the caller owns, so that copies reach it by DMA
  // with no staging copy (CUDA: cudaHostRegister). False when it cannot
  // (already registered, e.g. a neighbour sharing a page; not supported): the
  // caller stages instead. unregister_host(p) undoes a true register_host(p),
  // after every copy from or to it has finished.
  virtual bool register_host(const void* p, std::size_t bytes) {
    (void)p;
    (void)bytes;
    return false;
  }
  virtual void unregister_host(const void* p) noexcept { (void)p; }

  // Streams: independent, ordered queues of work. A null stream is the
  // calling thread's default stream. Enqueued pointers must stay valid until
  // synchronize(stream) returns.
  virtual void* create_stream() = 0;
  virtual void destroy_stream(void* stream) noexcept = 0;
  virtual void upload_async(void* device_dst, const void* host_src, std::size_t bytes, void* stream) = 0;
  virtual void download_async(void* host_dst, const void* device_src, std::size_t bytes, void* stream) = 0;
  virtual void launch_async(device_kernel kernel, const void* in, void* out, std::size_t n,
                            const void* ctx, void* stream) = 0;
  // Waits for everything enqueued on `stream`; throws gpu_error for a failure in it.
  virtual void synchronize(void* stream) = 0;

  // Synchronous forms, on the calling thread's default stream.
  void upload(void* device_dst, const void* host_src, std::size_t bytes) {
    upload_async(device_dst, host_src, bytes, nullptr);
    synchronize(nullptr);
  }
  void download(void* host_dst, const void* device_src, std::size_t bytes) {
    download_async(host_dst, device_src, bytes, nullptr);
    synchronize(nullptr);
  }
  void launch(device_kernel kernel, const void* in, void* out, std::size_t n, const void* ctx) {
    launch_async(kernel, in, out, n, ctx, nullptr);
    synchronize(nullptr);
  }
};

// The build's own backend: kernels/cuda_backend.cpp in CUDA builds,
// host/no_device_backend.cpp otherwise.
device_backend& default_device_backend() noexcept;

// Device memory from a backend for the guard's lifetime.
class backend_block {
 public:
  backend_block(device_backend& b, std::size_t bytes) : b_(b), p_(b.allocate(bytes)) {}
  ~backend_block() { b_.deallocate(p_); }
  backend_block(const backend_block&) = delete;
  backend_block& operator=(const backend_block&) = delete;
  [[nodiscard]] void* get() const noexcept { return p_; }

 private:
  device_backend& b_;
  void* p_;
};

}  // namespace parmap::detail
