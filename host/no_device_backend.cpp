// The device backend of a build without CUDA: no GPU, all data on the host.
#include "parmap/detail/device_backend.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {
namespace {

class no_device final : public device_backend {
 public:
  const probe_result& probe() override { return result_; }
  bool started() noexcept override { return false; }
  memory_kind locate(const void*) override { return memory_kind::host; }
  device_kernel catalogue() override { unavailable(); }
  void* allocate(std::size_t) override { unavailable(); }
  void deallocate(void*) noexcept override {}
  void* allocate_pinned(std::size_t) override { unavailable(); }
  void deallocate_pinned(void*) noexcept override {}
  std::size_t free_memory() override { return 0; }
  void* create_stream() override { unavailable(); }
  void destroy_stream(void*) noexcept override {}
  void upload_async(void*, const void*, std::size_t, void*) override { unavailable(); }
  void download_async(void*, const void*, std::size_t, void*) override { unavailable(); }
  void launch_async(device_kernel, const void*, void*, std::size_t, const void*, void*) override {
    unavailable();
  }
  void synchronize(void*) override { unavailable(); }

 private:
  [[noreturn]] void unavailable() const { throw backend_unavailable("parmap: " + result_.description); }
  probe_result result_{false, "parmap was built without CUDA (PARMAP_CUDA=OFF)"};
};

}  // namespace

// Never destroyed, as the CUDA one (kernels/cuda_backend.cpp).
device_backend& default_device_backend() noexcept {
  static auto* b = new no_device;
  return *b;
}

}  // namespace parmap::detail
