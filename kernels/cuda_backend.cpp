// The CUDA device backend: probe, pointer residency, memory, copies and
// launches on the calling thread's per-thread stream. Built with g++ against
// the CUDA runtime API; the Thrust kernels are in transform.cu.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>

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
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cudaStreamPerThread),
          "host-to-device copy");
    check(cudaStreamSynchronize(cudaStreamPerThread), "host-to-device copy");
  }

  void download(void* dst, const void* src, std::size_t bytes) override {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cudaStreamPerThread),
          "device-to-host copy");
    check(cudaStreamSynchronize(cudaStreamPerThread), "device-to-host copy");
  }

  void launch(device_kernel kernel, const void* in, void* out, std::size_t n,
              const void* ctx) override {
    try {
      kernel(in, out, n, static_cast<void*>(cudaStreamPerThread), ctx);
    } catch (const gpu_error&) {
      throw;
    } catch (const std::exception& e) {  // thrust::system_error
      const cudaError_t code = cudaGetLastError();
      throw gpu_error(std::string("parmap: GPU transform failed (") + e.what() + ")",
                      static_cast<int>(code));
    }
    check(cudaGetLastError(), "kernel launch");
    check(cudaStreamSynchronize(cudaStreamPerThread), "GPU transform");
  }

  device_kernel catalogue() override { return &cuda::catalogue_kernel; }

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
  std::once_flag once_;
  probe_result result_;
};

}  // namespace

device_backend& default_device_backend() noexcept {
  static cuda_backend b;
  return b;
}

}  // namespace parmap::detail
