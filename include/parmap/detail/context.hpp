// The execution context: the process-wide GPU state and its one owner
// (host/context.cpp): the device backend in use, the GPU its work runs on,
// its staging pool and automatic mode's calibration for it. Each is made on first use; the pool's memory is given back by
// parmap::release_cached_memory() and at process exit (before the CUDA
// runtime shuts down).
#pragma once

#include <optional>

#include "calibration.hpp"
#include "device_backend.hpp"
#include "staging.hpp"

namespace parmap::detail {

struct environment;  // host/environment.hpp

// The PARMAP_* reading the context keeps (made on first use; replaced by
// parmap::reload_environment). Throws config_error, on every call, while a
// value is bad.
const environment& current_environment();

// The backend in use: the CUDA one in CUDA builds, a no-device one otherwise,
// or whatever a test installed.
device_backend& current_device_backend() noexcept;
// Installs b (nullptr: the build's default) and returns the previous one. The
// previous backend's staging slots are freed first, through it. Not to be
// called while maps run; for tests.
device_backend* set_device_backend(device_backend* b) noexcept;
// The GPU the context's work runs on: 0 unless one was selected (parmap::mpi
// selects one per rank). Every thread that works for a call (the caller's,
// a split's GPU thread, the calibration's) makes it its current device.
int context_device() noexcept;
// Makes GPU `index` (< device_count()) the context's device, and the calling
// thread's. Throws gpu_error when the backend cannot use it.
void select_context_device(int index);

// The staging pool of the backend in use (made on first use); its backend()
// runs the jobs.
staging_pool& current_staging_pool();
// Frees the pool's idle slots and trims its backend's memory pool; the bytes
// of slots freed. Run at exit; parmap::release_cached_memory() also trims the
// backend in use.
std::size_t release_staging() noexcept;
// The pool's usage, without making one (all zero when there is none).
staging_pool::usage staging_usage() noexcept;

// Automatic mode's calibration for the backend in use: the installed one,
// else the machine's cached one, else measured now (`threads` CPU threads)
// and cached. Kept until the backend changes or another is installed; a
// reference stays valid for the process's life. Thread-safe: concurrent first
// callers measure once. Throws gpu_error when measuring fails (nothing is
// kept: the next call tries again).
const calibration& current_calibration(int threads);
// The calibration kept for the backend in use, or nullptr when none has
// been made yet (never measures).
const calibration* calibration_if_made() noexcept;
// Makes c the calibration of the backend in use (tests; parmap-bench
// --calibrate); nullopt forgets it, so the next need loads or measures.
void install_calibration(std::optional<calibration> c);

}  // namespace parmap::detail
