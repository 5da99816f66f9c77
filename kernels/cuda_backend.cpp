// The CUDA device backend: probe, pointer residency, memory, copies and
// launches on the calling thread's per-thread stream. Built with g++ against
// the CUDA runtime API; the Thrust kernels are in transform.cu.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "catalogue_kernel.hpp"
#include "parmap/detail/device_backend.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {
namespace {

std::string error_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();  // clear a non-sticky error so later calls start clean
  throw gpu_error(std::string("parmap: ") + what + " failed (" + error_text(e) + ")",
                  static_cast<int>(e));
}

// Staging buffers come from the device's default memory pool; keep freed
// memory there instead of returning it at every synchronisation.
void keep_pool_memory(int dev) {
  cudaMemPool_t pool{};
  if (cudaDeviceGetDefaultMemPool(&pool, dev) == cudaSuccess) {
    std::uint64_t keep = UINT64_MAX;
    (void)cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
  }
  (void)cudaGetLastError();
}

probe_result run_probe() {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (visible != nullptr && *visible == '\0') {
    return {false, "no CUDA device visible (CUDA_VISIBLE_DEVICES is set empty)"};
  }
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver) {
    (void)cudaGetLastError();
    return {false, "no CUDA driver (cudaErrorInsufficientDriver)"};
  }
  if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
    (void)cudaGetLastError();
    return {false, "no CUDA device (cudaErrorNoDevice)"};
  }
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return {false, "CUDA unavailable (" + error_text(e) + ")"};
  }
  int dev = 0;
  cudaDeviceProp p{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
    (void)cudaGetLastError();
    return {false, "CUDA device properties unavailable"};
  }
  keep_pool_memory(dev);
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s, cc %d.%d, %.0f GiB", p.name, p.major, p.minor,
                static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return {true, buf};
}

class cuda_backend final : public device_backend {
 public:
  cuda_backend() = default;
  cuda_backend(const cuda_backend&) = delete;
  cuda_backend& operator=(const cuda_backend&) = delete;
  ~cuda_backend() override {  // the pooled staging buffers (errors at exit are ignored)
    for (const auto& [bytes, p] : pinned_free_) {
      if (cudaFreeHost(p) != cudaSuccess) (void)cudaGetLastError();
    }
  }

  const probe_result& probe() override {
    std::call_once(once_, [this] { result_ = run_probe(); });
    return result_;
  }

  memory_kind locate(const void* p) override {
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
      (void)cudaGetLastError();
      return memory_kind::host;
    }
    return (a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged) ? memory_kind::device
                                                                                : memory_kind::host;
  }

  void* allocate(std::size_t bytes) override {
    void* p = nullptr;
    check(cudaMallocAsync(&p, bytes, cudaStreamPerThread), "device allocation (cudaMallocAsync)");
    // Completed before it is handed out, so any stream or thread may use it.
    check(cudaStreamSynchronize(cudaStreamPerThread), "device allocation (cudaMallocAsync)");
    return p;
  }

  void deallocate(void* p) noexcept override {
    if (p == nullptr) return;
    if (cudaFreeAsync(p, cudaStreamPerThread) != cudaSuccess) (void)cudaGetLastError();
  }

  void upload(void* dst, const void* src, std::size_t bytes) override {
    upload_async(dst, src, bytes, static_cast<void*>(cudaStreamPerThread));
    check(cudaStreamSynchronize(cudaStreamPerThread), "host-to-device copy");
  }

  void download(void* dst, const void* src, std::size_t bytes) override {
    download_async(dst, src, bytes, static_cast<void*>(cudaStreamPerThread));
    check(cudaStreamSynchronize(cudaStreamPerThread), "device-to-host copy");
  }

  void launch(device_kernel kernel, const void* in, void* out, std::size_t n,
              const void* ctx) override {
    launch_async(kernel, in, out, n, ctx, static_cast<void*>(cudaStreamPerThread));
    check(cudaStreamSynchronize(cudaStreamPerThread), "GPU transform");
  }

  device_kernel catalogue() override { return &cuda::catalogue_kernel; }

  // Pinned staging buffers come from a pool: cudaHostAlloc costs milliseconds
  // per call, so freed blocks are kept (up to pinned_pool_limit bytes) for the
  // next job of the same chunk size.
  void* allocate_pinned(std::size_t bytes) override {
    {
      const std::lock_guard lock(pinned_mutex_);
      auto it = pinned_free_.find(bytes);
      if (it != pinned_free_.end()) {
        void* p = it->second;
        pinned_free_.erase(it);
        pinned_cached_ -= bytes;
        pinned_size_[p] = bytes;
        return p;
      }
    }
    void* p = nullptr;
    check(cudaHostAlloc(&p, bytes == 0 ? 1 : bytes, cudaHostAllocDefault),
          "pinned staging allocation (cudaHostAlloc)");
    const std::lock_guard lock(pinned_mutex_);
    pinned_size_[p] = bytes;
    return p;
  }

  void deallocate_pinned(void* p) noexcept override {
    if (p == nullptr) return;
    {
      const std::lock_guard lock(pinned_mutex_);
      auto it = pinned_size_.find(p);
      const std::size_t bytes = it == pinned_size_.end() ? 0 : it->second;
      if (it != pinned_size_.end()) pinned_size_.erase(it);
      if (bytes != 0 && pinned_cached_ + bytes <= pinned_pool_limit) {
        pinned_free_.emplace(bytes, p);
        pinned_cached_ += bytes;
        return;
      }
    }
    if (cudaFreeHost(p) != cudaSuccess) (void)cudaGetLastError();
  }

  void* create_stream() override {
    cudaStream_t s = nullptr;
    check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "stream creation");
    return static_cast<void*>(s);
  }

  void destroy_stream(void* stream) noexcept override {
    if (stream != nullptr && cudaStreamDestroy(static_cast<cudaStream_t>(stream)) != cudaSuccess) {
      (void)cudaGetLastError();
    }
  }

  void upload_async(void* dst, const void* src, std::size_t bytes, void* stream) override {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, static_cast<cudaStream_t>(stream)),
          "host-to-device copy");
  }

  void download_async(void* dst, const void* src, std::size_t bytes, void* stream) override {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, static_cast<cudaStream_t>(stream)),
          "device-to-host copy");
  }

  void launch_async(device_kernel kernel, const void* in, void* out, std::size_t n, const void* ctx,
                    void* stream) override {
    try {
      kernel(in, out, n, stream, ctx);
    } catch (const gpu_error&) {
      throw;
    } catch (const std::exception& e) {  // thrust::system_error
      const cudaError_t code = cudaGetLastError();
      throw gpu_error(std::string("parmap: GPU transform failed (") + e.what() + ")",
                      static_cast<int>(code));
    }
    check(cudaGetLastError(), "kernel launch");
  }

  void synchronize(void* stream) override {
    check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "GPU pipeline");
  }

  // Free device memory, counting what the stream-ordered pool holds unused.
  std::size_t free_memory() override {
    std::size_t free_bytes = 0;
    std::size_t total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    int dev = 0;
    cudaMemPool_t pool{};
    std::uint64_t reserved = 0;
    std::uint64_t used = 0;
    if (cudaGetDevice(&dev) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, dev) == cudaSuccess &&
        cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved) == cudaSuccess &&
        cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used) == cudaSuccess &&
        reserved > used) {
      free_bytes += static_cast<std::size_t>(reserved - used);
    }
    (void)cudaGetLastError();
    return free_bytes;
  }

  int device_count() override {
    if (!probe().available) return 0;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    return count;
  }

  void use_device(int index) override {
    check(cudaSetDevice(index), "selecting the GPU (cudaSetDevice)");
    keep_pool_memory(index);
  }

 private:
  static constexpr std::size_t pinned_pool_limit = std::size_t{1} << 30;
  std::once_flag once_;
  probe_result result_;
  std::mutex pinned_mutex_;
  std::multimap<std::size_t, void*> pinned_free_;        // kept for reuse, by size
  std::unordered_map<void*, std::size_t> pinned_size_;  // handed out
  std::size_t pinned_cached_ = 0;
};

}  // namespace

device_backend& default_device_backend() noexcept {
  static cuda_backend b;
  return b;
}

}  // namespace parmap::detail
