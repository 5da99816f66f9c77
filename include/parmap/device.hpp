// The GPU as seen from plain C++: whether one is usable, and arrays that live
// in its memory (no CUDA headers needed).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/device_array_errors.hpp"
#include "detail/device_backend.hpp"
#include "detail/context.hpp"

namespace parmap {

/// @brief True when a CUDA GPU is usable by this process. Probed once, cached,
/// thread-safe. False in CPU-only builds, without a driver, without a device,
/// or with CUDA_VISIBLE_DEVICES set empty.
bool gpu_available();

/// @brief The GPU parmap uses, e.g. "NVIDIA H100 80GB HBM3, cc 9.0, 79 GiB", or why
/// there is none, e.g. "no CUDA driver (cudaErrorInsufficientDriver)".
std::string gpu_description();

/// @brief Gives back the GPU and page-locked host memory that parmap keeps
/// for reuse: the staging slots of host-data GPU maps (at most 6 x 32 MiB
/// pinned and 6 x 64 MiB device memory) and the unused part of the CUDA
/// stream-ordered pool (which keeps at most 256 MiB). Slots that a running map
/// holds are kept until it ends. The next GPU map makes new slots. Runs at
/// process exit too. Starts no CUDA work where none was done.
/// @return bytes of staging memory freed (pinned + device).
/// @code
/// parmap::map_inplace(parmap::ops::square, big_host_vector);   // makes slots
/// parmap::release_cached_memory();                              // frees them
/// @endcode
std::size_t release_cached_memory() noexcept;

/// @brief A fixed-size array in GPU memory, usable from code compiled without
/// nvcc. Pass span() to parmap::map / map_inplace: the map then runs on the
/// GPU in place, without copies. Move-only.
/// @code
/// parmap::device_array<float> d(host);          // upload
/// parmap::map_inplace(parmap::ops::square, d.span());
/// std::vector<float> back = d.to_vector();      // download
/// @endcode
/// @throws backend_unavailable when no GPU is usable; gpu_error when a CUDA call fails.
template <class T>
class device_array {
  static_assert(std::is_trivially_copyable_v<T>, "device_array holds trivially copyable types");

 public:
  device_array() noexcept = default;
  /// n uninitialised elements.
  explicit device_array(std::size_t n) : backend_(&detail::current_device_backend()), n_(n) {
    if (n_ != 0) data_ = static_cast<T*>(backend_->allocate(n_ * sizeof(T)));
  }
  /// A copy of host data.
  explicit device_array(std::span<const T> host) : device_array(host.size()) { upload(host); }
  explicit device_array(const std::vector<T>& host) : device_array(std::span<const T>(host)) {}

  device_array(device_array&& o) noexcept
      : backend_(std::exchange(o.backend_, nullptr)),
        data_(std::exchange(o.data_, nullptr)),
        n_(std::exchange(o.n_, 0)) {}
  device_array& operator=(device_array&& o) noexcept {
    if (this != &o) {
      release();
      backend_ = std::exchange(o.backend_, nullptr);
      data_ = std::exchange(o.data_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  device_array(const device_array&) = delete;
  device_array& operator=(const device_array&) = delete;
  ~device_array() { release(); }

  /// Number of elements.
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
  /// Device pointer: never dereference it on the host.
  [[nodiscard]] T* data() noexcept { return data_; }
  [[nodiscard]] const T* data() const noexcept { return data_; }
  /// Span over device memory, for parmap::map.
  [[nodiscard]] std::span<T> span() noexcept { return {data_, n_}; }
  [[nodiscard]] std::span<const T> span() const noexcept { return {data_, n_}; }

  /// Copies host.size() elements from the host (host.size() must equal size()).
  /// @throws std::invalid_argument if the sizes differ or `host` is GPU memory.
  void upload(std::span<const T> host) {
    check_host(host.data(), host.size(), "upload");
    if (n_ != 0) backend_->upload(data_, host.data(), n_ * sizeof(T));
  }
  /// Copies size() elements to the host (host.size() must equal size()).
  /// @throws std::invalid_argument if the sizes differ or `host` is GPU memory.
  void download(std::span<T> host) const {
    check_host(host.data(), host.size(), "download");
    if (n_ != 0) backend_->download(host.data(), data_, n_ * sizeof(T));
  }
  /// A host copy.
  [[nodiscard]] std::vector<T> to_vector() const {
    std::vector<T> v(n_);
    download(std::span<T>(v));
    return v;
  }

 private:
  void check_host(const T* host, std::size_t host_n, const char* what) const {
    if (host_n != n_) detail::throw_size_mismatch(what, host_n, n_);
    if (n_ != 0 && backend_->locate(host) == detail::memory_kind::device) {
      detail::throw_not_host_memory(what);
    }
  }
  void release() noexcept {
    if (data_ != nullptr) backend_->deallocate(data_);
    data_ = nullptr;
  }

  detail::device_backend* backend_ = nullptr;
  T* data_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace parmap
