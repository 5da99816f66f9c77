// Test support that needs no GPU and no Thrust: a backend without a GPU, the
// fault injector and an environment-variable guard.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

#include "parmap/errors.hpp"
#include "parmap/options.hpp"
#include "sim_backend.hpp"

namespace parmap::test {

namespace {
[[noreturn]] void absent(const detail::probe_result& p) {
  throw backend_unavailable("parmap: " + p.description);
}
}  // namespace
detail::device_kernel absent_backend::catalogue() { absent(probe_); }
void* absent_backend::allocate(std::size_t) { absent(probe_); }
void* absent_backend::allocate_pinned(std::size_t) { absent(probe_); }
void* absent_backend::create_stream() { absent(probe_); }
void absent_backend::upload_async(void*, const void*, std::size_t, void*) { absent(probe_); }
void absent_backend::download_async(void*, const void*, std::size_t, void*) { absent(probe_); }
void absent_backend::launch_async(detail::device_kernel, const void*, void*, std::size_t, const void*,
                                  void*) {
  absent(probe_);
}
void absent_backend::synchronize(void*) { absent(probe_); }

void fault_injector::maybe_fail(std::atomic<bool>& flag, const char* what) {
  if (!flag.load()) return;
  int pass = pass_first.load();
  while (pass > 0) {
    if (pass_first.compare_exchange_weak(pass, pass - 1)) return;
  }
  throw gpu_error(std::string("parmap: ") + what + " failed (injected fault)", 2);
}

void fault_injector::clear() noexcept {
  fail_allocate = false;
  fail_upload = false;
  fail_launch = false;
  fail_download = false;
  pass_first = 0;
}

void* fault_injector::allocate(std::size_t bytes) {
  maybe_fail(fail_allocate, "device allocation");
  void* p = inner_.allocate(bytes);
  ++allocations;
  ++live;
  return p;
}

void fault_injector::deallocate(void* p) noexcept {
  if (p == nullptr) return;
  --live;
  inner_.deallocate(p);
}

void* fault_injector::allocate_pinned(std::size_t bytes) {
  maybe_fail(fail_allocate, "pinned allocation");
  void* p = inner_.allocate_pinned(bytes);
  ++pinned_allocations;
  ++pinned_live;
  return p;
}

void fault_injector::deallocate_pinned(void* p) noexcept {
  if (p == nullptr) return;
  --pinned_live;
  inner_.deallocate_pinned(p);
}

void fault_injector::upload_async(void* dst, const void* src, std::size_t bytes, void* stream) {
  maybe_fail(fail_upload, "host-to-device copy");
  inner_.upload_async(dst, src, bytes, stream);
}

void fault_injector::download_async(void* dst, const void* src, std::size_t bytes, void* stream) {
  maybe_fail(fail_download, "device-to-host copy");
  inner_.download_async(dst, src, bytes, stream);
}

void fault_injector::launch_async(detail::device_kernel kernel, const void* in, void* out,
                                  std::size_t n, const void* ctx, void* stream) {
  maybe_fail(fail_launch, "kernel launch");
  inner_.launch_async(kernel, in, out, n, ctx, stream);
}

int process_threads() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "Threads:") {
      int n = 0;
      f >> n;
      return n;
    }
  }
  return -1;
}

detail::call_info float_op_call(std::size_t n, const float* in, const float* out, detail::cost_class cost) {
  detail::call_info c;
  c.n = n;
  c.in_elem_bytes = c.out_elem_bytes = sizeof(float);
  c.kind = detail::callable_kind::device;
  c.gpu_kernel = true;
  c.cost = cost;
  c.in = in;
  c.out = out;
  c.what = "square";
  return c;
}

env_var::env_var(const char* name, const char* value) : name_(name) {
  const char* old = std::getenv(name);
  had_ = old != nullptr;
  if (had_) old_ = old;
  if (value != nullptr) {
    ::setenv(name, value, 1);
  } else {
    ::unsetenv(name);
  }
  parmap::reload_environment();
}

env_var::~env_var() {
  if (had_) {
    ::setenv(name_.c_str(), old_.c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
  parmap::reload_environment();
}

int for_each_cpu_isa(const std::function<void(const parmap::detail::cpu_kernels&)>& body) {
  int ran = 0;
  for (const parmap::detail::cpu_kernels& k : parmap::detail::all_cpu_kernels()) {
    if (!parmap::detail::cpu_supports(k.isa)) {
      std::cout << "[ cpu isa  ] " << k.name << ": not on this CPU, not run\n";
      continue;
    }
    const env_var forced("PARMAP_CPU_ISA", to_string(k.isa));
    const env_var width("PARMAP_CPU_VECTOR_BITS", std::to_string(k.vector_bits).c_str());
    EXPECT_EQ(&parmap::detail::active_cpu_kernels(), &k);
    std::cout << "[ cpu isa  ] " << k.name << "\n";
    body(k);
    ++ran;
  }
  return ran;
}

}  // namespace parmap::test
