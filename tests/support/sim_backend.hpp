// Test-only device backends: a "GPU" built from Thrust's OpenMP device system
// (host memory it hands out counts as device memory) with counters; a
// fault-injecting wrapper around any backend (the simulated one, or the real
// CUDA one on a GPU machine); and a backend that has no GPU, with a given reason.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "parmap/detail/calibration.hpp"
#include "parmap/detail/cpu_isa.hpp"
#include "parmap/detail/dispatch.hpp"
#include "parmap/detail/context.hpp"

namespace parmap::test {

class sim_backend final : public detail::device_backend {
 public:
  sim_backend() = default;
  // A "GPU" with its own description: a machine of its own for the calibration.
  explicit sim_backend(std::string description) : probe_{true, std::move(description)} {}
  const detail::probe_result& probe() override {
    ++probes;
    return probe_;
  }
  bool started() noexcept override { return driver_loaded.load(); }
  detail::memory_kind locate(const void* p) override;
  detail::device_kernel catalogue() override;
  void* allocate(std::size_t bytes) override;
  void deallocate(void* p) noexcept override;
  void* allocate_pinned(std::size_t bytes) override;
  void deallocate_pinned(void* p) noexcept override;
  std::size_t free_memory() override { return free_bytes.load(); }
  // `devices` simulated GPUs (one by default), one current per thread as in
  // CUDA (0 until set); copies and launches record the current one.
  int device_count() override { return devices.load(); }
  void use_device(int index) override;
  static int current_device() noexcept;
  // Work runs at once, so there is one stream (null) and nothing to wait for.
  void* create_stream() override { return nullptr; }
  void destroy_stream(void*) noexcept override {}
  void upload_async(void* dst, const void* src, std::size_t bytes, void* stream) override;
  void download_async(void* dst, const void* src, std::size_t bytes, void* stream) override;
  void launch_async(detail::device_kernel kernel, const void* in, void* out, std::size_t n,
                    const void* ctx, void* stream) override;
  void synchronize(void*) override {}
  bool register_host(const void* p, std::size_t bytes) override;
  void unregister_host(const void* p) noexcept override;

  std::atomic<bool> driver_loaded{true};  // what started() says
  std::atomic<bool> can_register{true};   // what register_host answers
  std::atomic<int> registrations{0};      // register_host calls that said true
  std::atomic<int> registered_live{0};    // registered and not yet unregistered
  std::atomic<int> direct_uploads{0};     // uploads read straight from registered memory
  std::atomic<int> direct_downloads{0};   // downloads written straight into registered memory

  std::atomic<int> devices{1};            // what device_count() says
  std::atomic<unsigned> device_mask{0};   // bit k: a copy or launch ran while device k was current

  std::atomic<int> probes{0};             // calls of probe()
  std::atomic<int> locates{0};            // calls of locate()
  std::atomic<int> launches{0};
  std::atomic<int> uploads{0};
  std::atomic<int> downloads{0};
  std::atomic<long> pinned_live{0};
  // Device blocks allocated and not freed.
  [[nodiscard]] std::size_t live_allocations() const;
  // A small GPU: what free_memory() reports, and allocations above
  // max_allocation fail as out of memory.
  std::atomic<std::size_t> free_bytes{static_cast<std::size_t>(-1)};
  std::atomic<std::size_t> max_allocation{static_cast<std::size_t>(-1)};
  std::atomic<std::size_t> largest_launch{0};  // most elements in one launch

 private:
  detail::probe_result probe_{true, "simulated GPU (Thrust OpenMP device system)"};
  mutable std::mutex mutex_;
  std::map<const unsigned char*, std::size_t> blocks_;
  std::map<const unsigned char*, std::size_t> registered_;  // host ranges registered (overlaps refused, as CUDA does)
  bool in_registered(const void* p) const;  // mutex_ held
  void note_device() noexcept;
};

// Forwards to `inner` and counts the allocations that reach it. While a
// kind's flag is set, calls of that kind throw gpu_error ("injected fault")
// instead of reaching it, after the first pass_first of them: a fault stays
// until the test clears it, as a full or broken device would.
class fault_injector final : public detail::device_backend {
 public:
  explicit fault_injector(detail::device_backend& inner) : inner_(inner) {}
  const detail::probe_result& probe() override { return inner_.probe(); }
  bool started() noexcept override { return inner_.started(); }
  detail::memory_kind locate(const void* p) override { return inner_.locate(p); }
  detail::device_kernel catalogue() override { return inner_.catalogue(); }
  int device_count() override { return inner_.device_count(); }
  void use_device(int index) override { inner_.use_device(index); }
  void* allocate(std::size_t bytes) override;
  void deallocate(void* p) noexcept override;
  void* allocate_pinned(std::size_t bytes) override;
  void deallocate_pinned(void* p) noexcept override;
  std::size_t free_memory() override { return inner_.free_memory(); }
  void trim_memory_pool() noexcept override { inner_.trim_memory_pool(); }
  void* create_stream() override { return inner_.create_stream(); }
  void destroy_stream(void* stream) noexcept override { inner_.destroy_stream(stream); }
  void upload_async(void* dst, const void* src, std::size_t bytes, void* stream) override;
  void download_async(void* dst, const void* src, std::size_t bytes, void* stream) override;
  void launch_async(detail::device_kernel kernel, const void* in, void* out, std::size_t n,
                    const void* ctx, void* stream) override;
  void synchronize(void* stream) override { inner_.synchronize(stream); }
  bool register_host(const void* p, std::size_t bytes) override { return inner_.register_host(p, bytes); }
  void unregister_host(const void* p) noexcept override { inner_.unregister_host(p); }

  // Clears every fault and pass_first.
  void clear() noexcept;

  std::atomic<bool> fail_allocate{false};  // device and pinned allocations
  std::atomic<bool> fail_upload{false};
  std::atomic<bool> fail_launch{false};
  std::atomic<bool> fail_download{false};
  // Calls of a flagged kind that still succeed before the faults start.
  std::atomic<int> pass_first{0};

  std::atomic<long> live{0};               // device allocations not yet freed
  std::atomic<long> pinned_live{0};        // pinned allocations not yet freed
  std::atomic<long> allocations{0};        // device allocations that reached inner
  std::atomic<long> pinned_allocations{0};  // pinned allocations that reached inner

 private:
  void maybe_fail(std::atomic<bool>& flag, const char* what);
  detail::device_backend& inner_;
};

class absent_backend final : public detail::device_backend {
 public:
  explicit absent_backend(std::string why) : probe_{false, std::move(why)} {}
  const detail::probe_result& probe() override { return probe_; }
  detail::memory_kind locate(const void*) override { return detail::memory_kind::host; }
  detail::device_kernel catalogue() override;
  void* allocate(std::size_t) override;
  void deallocate(void*) noexcept override {}
  void* allocate_pinned(std::size_t) override;
  void deallocate_pinned(void*) noexcept override {}
  std::size_t free_memory() override { return 0; }
  void* create_stream() override;
  void destroy_stream(void*) noexcept override {}
  void upload_async(void*, const void*, std::size_t, void*) override;
  void download_async(void*, const void*, std::size_t, void*) override;
  void launch_async(detail::device_kernel, const void*, void*, std::size_t, const void*, void*) override;
  void synchronize(void*) override;

 private:
  detail::probe_result probe_;
};

// A made-up machine's calibration (key "synthetic", source "test"): a CPU of
// cpu_gbs GB/s on 2 threads and 5 ns per exp, a link of link_gbs GB/s each
// way, a 2 TB/s GPU with a 20 us fixed cost; no pipeline, registration,
// split or threads-by-size figures, so automatic mode never splits nor
// registers with it. With the defaults, square (f32) at 2^16 stays on the CPU
// and exp (f64) at 2^16 goes to the GPU.
inline detail::calibration synthetic_calibration(double cpu_gbs = 10, double link_gbs = 10) {
  detail::calibration c;
  c.key = "synthetic";
  c.source = "test";
  c.cpu_threads = 2;
  c.cpu_bandwidth = cpu_gbs * 1e9;
  c.cpu_transcendental = 5e-9;
  c.h2d_bandwidth = link_gbs * 1e9;
  c.d2h_bandwidth = link_gbs * 1e9;
  c.gpu_bandwidth = 2e12;
  c.gpu_transcendental = 1e-12;
  c.gpu_launch = 20e-6;
  return c;
}

// A copy of the calibration in use, if any.
inline std::optional<detail::calibration> installed_calibration() {
  const detail::calibration* c = detail::calibration_if_made();
  return c != nullptr ? std::optional<detail::calibration>(*c) : std::nullopt;
}

// What automatic mode decides from under a use_backend guard.
enum class calibrated {
  synthetic,  // synthetic_calibration(): the same decisions on any machine, idle or loaded
  measured,   // the machine's own (cached or measured now): for tests of the measurement
};

// Installs a backend for the lifetime of the guard, calibrated as `how` says;
// afterwards the previous backend and the calibration it had come back.
class use_backend {
 public:
  explicit use_backend(detail::device_backend& b, calibrated how = calibrated::synthetic)
      : previous_calibration_(installed_calibration()), previous_(detail::set_device_backend(&b)) {
    if (how == calibrated::synthetic) detail::install_calibration(synthetic_calibration());
  }
  ~use_backend() {
    detail::set_device_backend(previous_);
    if (previous_calibration_) detail::install_calibration(previous_calibration_);
  }
  use_backend(const use_backend&) = delete;
  use_backend& operator=(const use_backend&) = delete;

 private:
  std::optional<detail::calibration> previous_calibration_;
  detail::device_backend* previous_;
};

// Installs a calibration for the guard's lifetime, then the one there was.
class use_calibration {
 public:
  // nullopt: none, so the next need loads or measures one.
  explicit use_calibration(std::optional<detail::calibration> c) : previous_(installed_calibration()) {
    detail::install_calibration(std::move(c));
  }
  ~use_calibration() { detail::install_calibration(previous_); }
  use_calibration(const use_calibration&) = delete;
  use_calibration& operator=(const use_calibration&) = delete;

 private:
  std::optional<detail::calibration> previous_;
};

// Sets (or unsets, with nullptr) an environment variable for the guard's lifetime.
class env_var {
 public:
  env_var(const char* name, const char* value);
  ~env_var();
  env_var(const env_var&) = delete;
  env_var& operator=(const env_var&) = delete;

 private:
  std::string name_;
  bool had_;
  std::string old_;
};

// Runs body(loops) once for each table of CPU loops (instruction set and
// vector width, detail::all_cpu_kernels()) that this CPU can run, with
// PARMAP_CPU_ISA and PARMAP_CPU_VECTOR_BITS forcing it (and checked in
// force); the sets it lacks are named on stdout as not run. Returns how many
// ran.
int for_each_cpu_isa(const std::function<void(const parmap::detail::cpu_kernels&)>& body);

// Unsets the PARMAP_* variables a developer may have set that steer which
// path a call takes or what it logs, for the guard's lifetime.
struct default_settings {
  env_var backend{"PARMAP_BACKEND", nullptr};
  env_var gpu_min_elements{"PARMAP_GPU_MIN_ELEMENTS", nullptr};
  env_var verbose{"PARMAP_VERBOSE", nullptr};
};


// What a plan's route holds, for tests: the CPU threads it starts with (1 for
// serial), and its GPU part (nullptr for the CPU routes).
inline int threads_of(const detail::plan& p) {
  if (const auto* o = std::get_if<detail::openmp_run>(&p.run)) return o->threads;
  if (const auto* t = std::get_if<detail::task_loop_run>(&p.run)) return t->workers;
  if (const auto* a = std::get_if<detail::adaptive_run>(&p.run)) return a->threads;
  return 1;
}
inline const detail::gpu_run* gpu_part(const detail::plan& p) {
  if (const auto* g = std::get_if<detail::gpu_run>(&p.run)) return g;
  if (const auto* s = std::get_if<detail::split_run>(&p.run)) return &s->gpu;
  return nullptr;
}
// The dispatcher's description of a built-in op (GPU kernel, `cost`) over n
// floats from in to out, as map() makes it: for tests of decide() itself.
detail::call_info float_op_call(std::size_t n, const float* in, const float* out,
                                detail::cost_class cost = detail::cost_class::memory);

// Threads of this process now (/proc/self/status), or -1 where unknown.
int process_threads();

}  // namespace parmap::test
