// options.hpp's names: backend names and scoped_backend's per-thread scopes.
// (reload_environment lives with the readings, in context.cpp.)
#include "options.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "parmap/detail/dispatch.hpp"

namespace parmap {
namespace {
thread_local std::vector<detail::scope_setting> scopes;  // innermost last
}  // namespace

const char* to_string(backend b) noexcept {
  switch (b) {
    case backend::automatic: return "automatic";
    case backend::cpu: return "cpu";
    case backend::gpu: return "gpu";
  }
  return "?";
}

scoped_backend::scoped_backend(backend b, int n_jobs) : depth_(scopes.size()) {
  detail::validate_n_jobs(n_jobs, "parmap::scoped_backend: n_jobs");
  scopes.push_back({b, n_jobs});
}

scoped_backend::~scoped_backend() {
  // Destroyed out of order (e.g. moved into a container): drop this scope and
  // any inner one still recorded above it.
  if (scopes.size() > depth_) scopes.resize(depth_);
}

namespace detail {
scope_setting current_scope() noexcept {
  return scopes.empty() ? scope_setting{} : scopes.back();
}
}  // namespace detail

}  // namespace parmap
