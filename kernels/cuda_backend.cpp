// The CUDA device backend: probe, pointer residency, memory, copies and
// launches on the calling thread's per-thread stream. Built with g++ against
// the CUDA runtime API; the Thrust kernels are in transform.cu and program_transform*.cu.
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>

#include "catalogue_kernel.hpp"
#include "cuda_check.hpp"
#include "parmap/detail/device_backend.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {
namespace {

// Device memory freed by parmap::device_array and the calibration goes back
// to the device's default stream-ordered pool, which keeps up to this much of
// it for the next allocation instead of returning it at every synchronisation.
// (The staging slots hold their own buffers; see staging.hpp.)
constexpr std::uint64_t device_pool_keep_bytes = std::uint64_t{256} << 20;

void keep_pool_memory(int dev) {
  cudaMemPool_t pool{};
  if (cudaDeviceGetDefaultMemPool(&pool, dev) == cudaSuccess) {
    std::uint64_t keep = device_pool_keep_bytes;
    (void)cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
  }
  (void)cudaGetLastError();
}

// Whether libcuda is in the process (loaded by the CUDA runtime, parmap's or
// another library's). dlopen(RTLD_NOLOAD) costs ~20 us, so it is asked again
// only after a library was loaded since the last answer (dl_iterate_phdr's
// load count, ~10 ns); once loaded, the driver stays.
class driver_watch {
 public:
  bool loaded() noexcept {
    if (loaded_.load(std::memory_order_acquire)) return true;
    const unsigned long long adds = loads();
    if (adds == checked_.load(std::memory_order_acquire)) return false;
    if (void* h = dlopen("libcuda.so.1", RTLD_NOLOAD | RTLD_LAZY)) {
      dlclose(h);
      loaded_.store(true, std::memory_order_release);
      return true;
    }
    checked_.store(adds, std::memory_order_release);
    return false;
  }

 private:
  static unsigned long long loads() noexcept {
    unsigned long long adds = 0;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) {
          *static_cast<unsigned long long*>(data) = info->dlpi_adds;
          return 1;  // the count is in every entry: the first is enough
        },
        &adds);
    return adds;
  }
  std::atomic<bool> loaded_{false};
  std::atomic<unsigned long long> checked_{~0ULL};
};

// A null stream is the calling thread's default stream.
cudaStream_t stream_of(void* s) noexcept {
  return s != nullptr ? static_cast<cudaStream_t>(s) : cudaStreamPerThread;
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
    return {false, "CUDA unavailable (" + cuda_error_text(e) + ")"};
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
  const probe_result& probe() override {
    std::call_once(once_, [this] {
      result_ = run_probe();
      probed_.store(result_.available, std::memory_order_release);
    });
    return result_;
  }

  bool started() noexcept override { return driver_.loaded(); }

  memory_kind locate(const void* p) override {
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
      (void)cudaGetLastError();
      return memory_kind::host;
    }
    return (a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged) ? memory_kind::device
                                                                                : memory_kind::host;
  }

  device_kernel catalogue() override { return &cuda::catalogue_kernel; }

  void* allocate(std::size_t bytes) override {
    void* p = nullptr;
    check_cuda(cudaMallocAsync(&p, bytes, cudaStreamPerThread), "device allocation (cudaMallocAsync)");
    // Completed before it is handed out, so any stream or thread may use it.
    check_cuda(cudaStreamSynchronize(cudaStreamPerThread), "device allocation (cudaMallocAsync)");
    return p;
  }

  void deallocate(void* p) noexcept override {
    if (p == nullptr) return;
    if (cudaFreeAsync(p, cudaStreamPerThread) != cudaSuccess) (void)cudaGetLastError();
  }

  // cudaHostAlloc costs milliseconds: the staging pool calls it once per slot.
  void* allocate_pinned(std::size_t bytes) override {
    void* p = nullptr;
    check_cuda(cudaHostAlloc(&p, bytes == 0 ? 1 : bytes, cudaHostAllocDefault),
          "pinned staging allocation (cudaHostAlloc)");
    return p;
  }

  void deallocate_pinned(void* p) noexcept override {
    if (p != nullptr && cudaFreeHost(p) != cudaSuccess) (void)cudaGetLastError();
  }

  // Free device memory, counting what the stream-ordered pool holds unused.
  std::size_t free_memory() override {
    std::size_t free_bytes = 0;
    std::size_t total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    cudaMemPool_t pool{};
    std::uint64_t reserved = 0;
    std::uint64_t used = 0;
    if (current_pool(pool) &&
        cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved) == cudaSuccess &&
        cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used) == cudaSuccess &&
        reserved > used) {
      free_bytes += static_cast<std::size_t>(reserved - used);
    }
    (void)cudaGetLastError();
    return free_bytes;
  }

  void trim_memory_pool() noexcept override {
    if (!probed_.load(std::memory_order_acquire)) return;  // CUDA never started: nothing kept
    (void)cudaStreamSynchronize(cudaStreamPerThread);  // this thread's frees have completed
    cudaMemPool_t pool{};
    if (current_pool(pool)) (void)cudaMemPoolTrimTo(pool, 0);
    (void)cudaGetLastError();
  }

  void* create_stream() override {
    cudaStream_t s = nullptr;
    check_cuda(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "stream creation");
    return static_cast<void*>(s);
  }

  void destroy_stream(void* stream) noexcept override {
    if (stream != nullptr && cudaStreamDestroy(static_cast<cudaStream_t>(stream)) != cudaSuccess) {
      (void)cudaGetLastError();
    }
  }

  bool register_host(const void* p, std::size_t bytes) override {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): registration does not write
    if (cudaHostRegister(const_cast<void*>(p), bytes, cudaHostRegisterDefault) == cudaSuccess) return true;
    (void)cudaGetLastError();  // e.g. cudaErrorHostMemoryAlreadyRegistered: stage instead
    return false;
  }

  void unregister_host(const void* p) noexcept override {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast)
    if (cudaHostUnregister(const_cast<void*>(p)) != cudaSuccess) (void)cudaGetLastError();
  }

  void upload_async(void* dst, const void* src, std::size_t bytes, void* stream) override {
    check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_of(stream)), "host-to-device copy");
  }

  void download_async(void* dst, const void* src, std::size_t bytes, void* stream) override {
    check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_of(stream)), "device-to-host copy");
  }

  void launch_async(device_kernel kernel, const void* in, void* out, std::size_t n, const void* ctx,
                    void* stream) override {
    try {
      kernel(in, out, n, static_cast<void*>(stream_of(stream)), ctx);
    } catch (const gpu_error&) {
      throw;
    } catch (const std::exception& e) {  // thrust::system_error
      const cudaError_t code = cudaGetLastError();
      throw gpu_error(std::string("parmap: GPU transform failed (") + e.what() + ")",
                      static_cast<int>(code));
    }
    check_cuda(cudaGetLastError(), "kernel launch");
  }

  void synchronize(void* stream) override {
    check_cuda(cudaStreamSynchronize(stream_of(stream)), "GPU work");
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
    check_cuda(cudaSetDevice(index), "selecting the GPU (cudaSetDevice)");
    keep_pool_memory(index);
  }

 private:
  static bool current_pool(cudaMemPool_t& pool) noexcept {
    int dev = 0;
    return cudaGetDevice(&dev) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, dev) == cudaSuccess;
  }

  std::once_flag once_;
  probe_result result_;
  std::atomic<bool> probed_{false};  // the probe ran and found a GPU
  driver_watch driver_;
};

}  // namespace

// Never destroyed: exit handlers (the staging pool's release) and threads
// still running at exit may use it.
device_backend& default_device_backend() noexcept {
  static auto* b = new cuda_backend;
  return *b;
}

}  // namespace parmap::detail
