// parmap-bench's GPU ceilings, timed with CUDA events (CUDA builds only).
#include "gpu_timing.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "catalogue_kernel.hpp"

namespace parmap::bench {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("parmap-bench: ") + what + ": " + cudaGetErrorName(e));
  }
}

// Times f(stream) with events; median of reps after one warm-up.
template <class F>
double time_events(int reps, F&& f) {
  cudaStream_t s{};
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  cudaEvent_t a{};
  cudaEvent_t b{};
  check(cudaEventCreate(&a), "cudaEventCreate");
  check(cudaEventCreate(&b), "cudaEventCreate");
  std::vector<double> t;
  for (int i = -1; i < reps; ++i) {
    check(cudaEventRecord(a, s), "cudaEventRecord");
    f(s);
    check(cudaEventRecord(b, s), "cudaEventRecord");
    check(cudaEventSynchronize(b), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
    if (i >= 0) t.push_back(ms * 1e-3);
  }
  (void)cudaEventDestroy(a);
  (void)cudaEventDestroy(b);
  (void)cudaStreamDestroy(s);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct scratch {
  void* pinned = nullptr;
  void* device = nullptr;
  std::size_t bytes = 0;
};
scratch cache;

void ensure_scratch(std::size_t bytes) {
  if (cache.bytes >= bytes) return;
  release_gpu_scratch();
  check(cudaMallocHost(&cache.pinned, bytes), "cudaMallocHost");
  check(cudaMalloc(&cache.device, bytes), "cudaMalloc");
  cache.bytes = bytes;
  // First touch outside every timing.
  check(cudaMemset(cache.device, 0, bytes), "cudaMemset");
  std::fill_n(static_cast<unsigned char*>(cache.pinned), bytes, 1);
}

}  // namespace

gpu_machine describe_gpu() {
  gpu_machine g;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    return g;
  }
  cudaDeviceProp p{};
  int dev = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  check(cudaGetDeviceProperties(&p, dev), "cudaGetDeviceProperties");
  int driver = 0;
  int runtime = 0;
  (void)cudaDriverGetVersion(&driver);
  (void)cudaRuntimeGetVersion(&runtime);
  char v[96];
  std::snprintf(v, sizeof v, "driver API %d.%d, runtime %d.%d, cc %d.%d", driver / 1000, (driver % 1000) / 10,
                runtime / 1000, (runtime % 1000) / 10, p.major, p.minor);
  g.available = true;
  g.name = p.name;
  g.memory_gib = static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0);
  g.versions = v;
  return g;
}

double time_d2d_copy(void* dst, const void* src, std::size_t bytes, int reps) {
  return time_events(reps, [&](cudaStream_t s) {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync D2D");
  });
}

double time_pinned_roundtrip(std::size_t bytes, int reps) {
  ensure_scratch(bytes);
  return time_events(reps, [&](cudaStream_t s) {
    check(cudaMemcpyAsync(cache.device, cache.pinned, bytes, cudaMemcpyHostToDevice, s), "H2D");
    check(cudaMemcpyAsync(cache.pinned, cache.device, bytes, cudaMemcpyDeviceToHost, s), "D2H");
  });
}

double time_pinned_duplex(std::size_t bytes, int reps) {
  ensure_scratch(2 * bytes);
  auto* pinned = static_cast<unsigned char*>(cache.pinned);
  auto* device = static_cast<unsigned char*>(cache.device);
  cudaStream_t other{};
  check(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking), "cudaStreamCreate");
  cudaEvent_t fork{};
  cudaEvent_t join{};
  check(cudaEventCreateWithFlags(&fork, cudaEventDisableTiming), "cudaEventCreate");
  check(cudaEventCreateWithFlags(&join, cudaEventDisableTiming), "cudaEventCreate");
  const double t = time_events(reps, [&](cudaStream_t s) {
    check(cudaEventRecord(fork, s), "cudaEventRecord");
    check(cudaStreamWaitEvent(other, fork), "cudaStreamWaitEvent");
    check(cudaMemcpyAsync(device, pinned, bytes, cudaMemcpyHostToDevice, s), "H2D");
    check(cudaMemcpyAsync(pinned + bytes, device + bytes, bytes, cudaMemcpyDeviceToHost, other), "D2H");
    check(cudaEventRecord(join, other), "cudaEventRecord");
    check(cudaStreamWaitEvent(s, join), "cudaStreamWaitEvent");
  });
  (void)cudaEventDestroy(fork);
  (void)cudaEventDestroy(join);
  (void)cudaStreamDestroy(other);
  return t;
}

double time_copy_during_duplex(std::size_t bytes, int reps, const std::function<void()>& copy) {
  ensure_scratch(2 * bytes);
  auto* pinned = static_cast<unsigned char*>(cache.pinned);
  auto* device = static_cast<unsigned char*>(cache.device);
  cudaStream_t up{};
  cudaStream_t down{};
  check(cudaStreamCreateWithFlags(&up, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cudaStreamCreateWithFlags(&down, cudaStreamNonBlocking), "cudaStreamCreate");
  std::vector<double> t;
  copy();  // warm-up
  for (int r = 0; r < reps; ++r) {
    // Enough DMA queued to outlast the copy: the copy moves 2 x bytes through
    // the cores, each direction's DMA `bytes` per round.
    for (int k = 0; k < 4; ++k) {
      check(cudaMemcpyAsync(device, pinned, bytes, cudaMemcpyHostToDevice, up), "H2D");
      check(cudaMemcpyAsync(pinned + bytes, device + bytes, bytes, cudaMemcpyDeviceToHost, down), "D2H");
    }
    const auto t0 = std::chrono::steady_clock::now();
    copy();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    const bool dma_still_running = cudaStreamQuery(up) == cudaErrorNotReady;
    (void)cudaGetLastError();
    check(cudaStreamSynchronize(up), "cudaStreamSynchronize");
    check(cudaStreamSynchronize(down), "cudaStreamSynchronize");
    if (!dma_still_running) t.back() = -t.back();  // the DMA ended first: not a sample under DMA
  }
  (void)cudaStreamDestroy(up);
  (void)cudaStreamDestroy(down);
  std::vector<double> under;
  for (const double s : t) {
    if (s > 0) under.push_back(s);
  }
  if (under.empty()) return -1;  // the copy always outlasted the DMA: no figure
  std::sort(under.begin(), under.end());
  return under[under.size() / 2];
}

double time_catalogue_kernel(const detail::op_call& call, const void* d_in, void* d_out, std::size_t n,
                             int reps) {
  return time_events(reps, [&](cudaStream_t s) {
    detail::cuda::catalogue_kernel(d_in, d_out, n, static_cast<void*>(s), &call);
  });
}

void release_gpu_scratch() {
  if (cache.pinned != nullptr) (void)cudaFreeHost(cache.pinned);
  if (cache.device != nullptr) (void)cudaFree(cache.device);
  cache = {};
}

}  // namespace parmap::bench
