// The device backend of a build without CUDA: no GPU, all data on the host.
#include "parmap/detail/device_backend.hpp"
#include "parmap/errors.hpp"

namespace parmap::detail {
namespace {

class no_device final : public device_backend {
 public:
  const probe_result& probe() override { return result_; }
  memory_kind locate(const void*) override { return memory_kind::host; }
  void* allocate(std::size_t) override { unavailable(); }
  void deallocate(void*) noexcept override {}
  void upload(void*, const void*, std::size_t) override { unavailable(); }
  void download(void*, const void*, std::size_t) override { unavailable(); }
  void launch(device_kernel, const void*, void*, std::size_t, const void*) override { unavailable(); }
  device_kernel catalogue() override { unavailable(); }

 private:
  [[noreturn]] void unavailable() const { throw backend_unavailable("parmap: " + result_.description); }
  probe_result result_{false, "parmap was built without CUDA (PARMAP_CUDA=OFF)"};
};

}  // namespace

device_backend& default_device_backend() noexcept {
  static no_device b;
  return b;
}

}  // namespace parmap::detail
