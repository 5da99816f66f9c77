// The template layer of a map (fmt's format -> vformat): execute() describes
// the call (call_info, from the callable's type) and hands the compiled
// executor, vmap() in host/execute.cpp, a few thunks. The chunk body and the
// element thunk are instantiated here, in the caller's translation unit, so
// the caller's lambda inlines and vectorises; everything else (the plan, the
// OpenMP region, the task loop, the GPU pipeline, the split, the fallback and
// the report) is compiled once in the library.
#pragma once

#include <cstddef>
#include <span>
#include <type_traits>

#include "../options.hpp"
#include "../traits.hpp"
#include "catalogue.hpp"
#include "cpu_loop.hpp"
#include "device_backend.hpp"
#include "dispatch.hpp"
#include "fn_ref.hpp"
#include "program.hpp"

namespace parmap::detail {

// A user functor made GPU-capable by parmap::device (cuda.cuh) carries its own
// transform, compiled by nvcc in the caller's translation unit.
template <class F, class T, class U>
concept user_device_op = requires(const F& f, const T* in, U* out, std::size_t n, void* s) {
  f.parmap_gpu_transform(in, out, n, s);
};

// A function traced by parmap::elementwise (elementwise.hpp): its program
// for T runs on the device when the map is T to T of a catalogue type.
template <class F>
concept traced_function = requires(const F& f) { f.program_for(dtype::f32).code; };
template <class F, class T, class U>
concept program_op = traced_function<F> && catalogue_type<T> && std::same_as<T, U>;

template <class F, class T, class U>
inline constexpr bool has_gpu_impl = catalogue_op<F, T, U> || user_device_op<F, T, U> || program_op<F, T, U>;

// What the executor runs for one call. `op` is the precompiled catalogue's
// call (a built-in op, or a traced program): it serves the GPU, and the CPU
// unless `chunk` (the caller's own loop, compiled in its translation unit)
// is set; `element` runs one element for the task loop; `kernel` is the
// caller's GPU transform, when it has one.
struct map_thunks {
  const void* in = nullptr;
  void* out = nullptr;
  const op_call* op = nullptr;
  chunk_ref chunk;
  fn_ref<void(std::size_t)> element;
  device_kernel kernel = nullptr;
  const void* kernel_ctx = nullptr;
};

// Runs one described call: decide, run, fall back, report (host/execute.cpp).
void vmap(const call_info& call, const map_thunks& t, const options& opt);

// out[i] = op(in[i]) for i < n with a built-in op: the call described from
// the op_call alone, for C++ (execute) and Python alike.
// A traced program (op_code::program) maps to its own output type, and the
// report names it by `what`.
inline void map_op(const op_call& c, const void* in, void* out, std::size_t n, const options& opt,
                   const char* what = nullptr) {
  call_info call;
  call.n = n;
  call.in_elem_bytes = call.out_elem_bytes = dtype_size(c.type);
  call.kind = callable_kind::device;
  call.gpu_kernel = true;
  call.cost = cost_of(c.code);
  call.in = in;
  call.out = out;
  call.what = op_name(c.code);
  if (c.code == op_code::program) {
    const program& p = program_of(c);
    // Here the CPU interprets it, a pass per instruction: past two, it costs
    // the CPU like a transcendental op (threads from 2^11 elements on).
    call.cost = p.count - p.first_body > 2 ? cost_class::transcendental : p.cost;
    call.out_elem_bytes = vtype_size(p.out);
    call.gpu_kernel = p.out == vtype_of(c.type);  // the device maps T to T
    if (what != nullptr) call.what = what;
  }
  map_thunks t;
  t.in = in;
  t.out = out;
  t.op = &c;
  vmap(call, t, opt);
}

template <class F>
constexpr callable_kind kind_of() noexcept {
  if constexpr (is_blocking_v<F>) return callable_kind::blocking;
  else if constexpr (is_device_op_v<F>) return callable_kind::device;
  else return callable_kind::plain;
}

template <class F>
constexpr cost_class cost_of_callable() noexcept {
  if constexpr (requires { F::parmap_op; }) return cost_of(F::parmap_op);
  else return cost_class::unknown;
}

template <class F>
const char* name_of() noexcept {
  if constexpr (requires { F::parmap_op; }) return op_name(F::parmap_op);
  else return "callable";
}

template <class F, class T, class U>
void user_kernel(const void* in, void* out, std::size_t n, void* stream, const void* ctx) {
  static_cast<const F*>(ctx)->parmap_gpu_transform(static_cast<const T*>(in), static_cast<U*>(out),
                                                   n, stream);
}

template <class F, class T, class U>
void execute(const F& f, std::span<const T> in, U* out, const options& opt) {
  if constexpr (catalogue_op<F, T, U>) {
    map_op(make_op_call<T>(f), in.data(), out, in.size(), opt);
  } else {
    call_info call;
    call.n = in.size();
    call.in_elem_bytes = sizeof(T);
    call.out_elem_bytes = sizeof(U);
    call.kind = kind_of<F>();
    call.gpu_kernel = has_gpu_impl<F, T, U>;
    call.cost = cost_of_callable<F>();
    call.in = in.data();
    call.out = out;
    call.what = name_of<F>();
    map_thunks t;
    t.in = in.data();
    t.out = out;
    const T* const src = in.data();
    auto chunk = [&f, src, out](std::size_t b, std::size_t e, failure& fail) { run_range(f, src, out, b, e, fail); };
    auto element = [&f, src, out](std::size_t i) { out[i] = f(src[i]); };
    t.chunk = chunk;
    t.element = element;
    if constexpr (user_device_op<F, T, U>) {
      t.kernel = &user_kernel<F, T, U>;
      t.kernel_ctx = &f;
    }
    op_call program;  // the GPU runs the program, the CPU f itself
    if constexpr (program_op<F, T, U>) {
      const auto& traced = f.program_for(dtype_of<T>::value);
      program = program_call(traced.code, dtype_of<T>::value);
      call.cost = traced.code.cost;
      call.what = traced.what.c_str();
      t.op = &program;
    }
    vmap(call, t, opt);
  }
}

}  // namespace parmap::detail
