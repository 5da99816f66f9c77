// Test support that needs no GPU and no Thrust: a backend without a GPU and
// an environment-variable guard.
#include <cstdlib>

#include "parmap/errors.hpp"
#include "sim_backend.hpp"

namespace parmap::test {

namespace {
[[noreturn]] void absent(const detail::probe_result& p) {
  throw backend_unavailable("parmap: " + p.description);
}
}  // namespace
void* absent_backend::allocate(std::size_t) { absent(probe_); }
void absent_backend::upload(void*, const void*, std::size_t) { absent(probe_); }
void absent_backend::download(void*, const void*, std::size_t) { absent(probe_); }
void absent_backend::launch(detail::device_kernel, const void*, void*, std::size_t, const void*) {
  absent(probe_);
}
detail::device_kernel absent_backend::catalogue() { absent(probe_); }

env_var::env_var(const char* name, const char* value) : name_(name) {
  const char* old = std::getenv(name);
  had_ = old != nullptr;
  if (had_) old_ = old;
  if (value != nullptr) {
    ::setenv(name, value, 1);
  } else {
    ::unsetenv(name);
  }
}

env_var::~env_var() {
  if (had_) {
    ::setenv(name_.c_str(), old_.c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
}

}  // namespace parmap::test
