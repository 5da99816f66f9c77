// What a caller asks of one call (options), what the call did (report), and
// the scoped default (scoped_backend).
#pragma once

#include <cstddef>
#include <string>

namespace parmap {

/// Where a map runs. `automatic` lets the dispatcher choose per call.
enum class backend { automatic, cpu, gpu };

/// Name of a backend: "automatic", "cpu" or "gpu".
const char* to_string(backend b) noexcept;

/// @brief What one call actually did; filled when options::out_report is set.
struct report {
  backend used = backend::automatic;  ///< cpu or gpu after the call
  std::string reason;                 ///< why, e.g. "no CUDA device", "n < threshold"
  std::size_t n = 0;                  ///< elements mapped
  double seconds = 0;                 ///< wall time of the call
};

/// @brief Per-call options. An aggregate: use designated initialisers,
/// e.g. `parmap::options{.where = parmap::backend::cpu, .n_jobs = 2}`.
struct options {
  backend where = backend::automatic;  ///< force a path, or let the dispatcher choose
  int n_jobs = -1;                     ///< joblib convention: -1 = all cores; >= 1 threads
                                       ///< (for blocking callables: calls in flight)
  bool progress = false;               ///< progress bar on stderr for long maps
  report* out_report = nullptr;        ///< filled after the call if not null
};

/// @brief Reads the PARMAP_* environment variables again. parmap reads them
/// once, at the first call, and keeps them (a call does not scan the
/// environment); a program that changes them with setenv while it runs calls
/// this afterwards for the change to take effect. Thread-safe; calls already
/// running keep the values they started with.
void reload_environment();

/// @brief Sets the backend (and n_jobs) for calls made on this thread while it
/// lives, like joblib's `with parallel_backend(...)`. Nestable: the innermost
/// scope wins. Explicit options::where / options::n_jobs still take precedence.
/// @code
/// {
///   parmap::scoped_backend guard(parmap::backend::cpu, 2);
///   auto y = parmap::map(f, x);   // runs on the CPU with 2 threads
/// }
/// @endcode
/// @throws std::invalid_argument if n_jobs is 0 or < -1.
class scoped_backend {
 public:
  explicit scoped_backend(backend b, int n_jobs = -1);
  ~scoped_backend();
  scoped_backend(const scoped_backend&) = delete;
  scoped_backend& operator=(const scoped_backend&) = delete;

 private:
  std::size_t depth_;
};

}  // namespace parmap
