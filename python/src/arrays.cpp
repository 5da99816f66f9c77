// parmap.map / parmap.map_inplace for arrays and parmap.ops: the fast path
// reads the buffer protocol directly (NumPy and every CPU buffer, no copy);
// DLPack arrays (CuPy, PyTorch, CPU or CUDA) come through _map_dlpack; the
// rest (lists, strided arrays, Python callables) goes to parmap._arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/ndarray.h>

// NumPy's C API, for the fastest path (exact ndarrays): a few field reads
// instead of two buffer requests. This file is its only user.
#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#include <numpy/arrayobject.h>

#include <cstring>
#include <optional>
#include <type_traits>
#include <span>
#include <string>

#include "bindings.hpp"
#include "parmap/detail/execute.hpp"
#include "parmap/map.hpp"
#include "parmap/detail/program.hpp"
#include "py_ops.hpp"

namespace parmap::python {
namespace {

using detail::dtype;

const char* name_of(dtype t) { return detail::numpy_name(t); }

// The catalogue's dtype of a floating (true) or signed integer element of
// `size` bytes, from PARMAP_TYPE_LIST.
std::optional<dtype> dtype_of_kind(bool floating, std::size_t size) {
#define PARMAP_Y(name, type, ...) \
  if (std::is_floating_point_v<type> == floating && sizeof(type) == size) return dtype::name;
  PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  return std::nullopt;
}

// An ndarray's element type, native byte order only.
std::optional<dtype> dtype_of_array(PyArrayObject* a) {
  const PyArray_Descr* d = PyArray_DESCR(a);
  if (!PyArray_ISNBO(d->byteorder) || (d->kind != 'f' && d->kind != 'i')) return std::nullopt;
  return dtype_of_kind(d->kind == 'f', static_cast<std::size_t>(PyDataType_ELSIZE(d)));
}

// The buffer protocol's element format, native byte order only.
std::optional<dtype> dtype_of_format(const char* fmt, Py_ssize_t itemsize) {
  if (fmt == nullptr) return std::nullopt;  // plain bytes
  if (*fmt == '@' || *fmt == '=' || *fmt == '<') ++fmt;
  if (fmt[0] == '\0' || fmt[1] != '\0') return std::nullopt;
  const auto size = static_cast<std::size_t>(itemsize);
  switch (fmt[0]) {
    case 'f': return size == 4 ? dtype_of_kind(true, size) : std::nullopt;
    case 'd': return size == 8 ? dtype_of_kind(true, size) : std::nullopt;
    case 'i': case 'l': case 'q': return dtype_of_kind(false, size);
    default: return std::nullopt;
  }
}

// A held Py_buffer, released on scope exit.
struct buffer {
  Py_buffer view{};
  bool held = false;
  bool get(nb::handle o, int flags) {
    if (PyObject_GetBuffer(o.ptr(), &view, flags) != 0) {
      PyErr_Clear();
      return false;
    }
    held = true;
    return true;
  }
  buffer() = default;
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;
  ~buffer() {
    if (held) PyBuffer_Release(&view);
  }
};

// The array's dtype as its library names it (for messages).
std::string dtype_text(nb::handle x, const Py_buffer* view) {
  if (nb::hasattr(x, "dtype")) return std::string(nb::str(nb::object(x.attr("dtype"))).c_str());
  return std::string("format '") + (view != nullptr && view->format != nullptr ? view->format : "B") + "'";
}

[[noreturn]] void bad_dtype(nb::handle x, const Py_buffer* view, const char* what) {
  const std::string d = dtype_text(x, view);
  std::string msg = std::string(what) + " has dtype " + d +
                    "; parmap.ops run on float32, float64, int32 and int64 arrays";
  if (d == "object") msg += " (for Python objects, map a Python function: parmap.map(f, items))";
  throw nb::type_error(msg.c_str());
}

// out[i] = op(in[i]) for n elements of type t, the GIL released: the op's
// op_call goes straight to the executor.
void run_op(const py_op& op, dtype t, const void* in, void* out, std::size_t n,
            const options& opt) {
  const detail::op_call c = op_call_for(op, t);
  detail::check_arguments(n, n, opt.n_jobs);
  const std::size_t bytes = n * detail::dtype_size(t);
  detail::check_no_partial_overlap(in, bytes, out, bytes, true);
  const nb::gil_scoped_release unlocked;
  detail::map_op(c, in, out, n, opt);
}

nb::object fallback(const char* name) {
  return nb::module_::import_("parmap._arrays").attr(name);
}

bool same_shape(const Py_buffer& a, const Py_buffer& b) {
  if (a.ndim != b.ndim) return false;
  for (int k = 0; k < a.ndim; ++k) {
    if (a.shape[k] != b.shape[k]) return false;
  }
  return true;
}

}  // namespace

namespace {
PyObject* elementwise_type = nullptr;  // parmap._trace.Elementwise, kept for the process
}  // namespace

void set_elementwise_type(nb::handle cls) { elementwise_type = nb::borrow(cls).release().ptr(); }

nb::object map_entry(nb::handle f, nb::handle x, nb::handle out, nb::handle where, int n_jobs,
                     bool progress, nb::handle rep, nb::handle stream) {
  if (elementwise_type != nullptr && PyObject_TypeCheck(f.ptr(), reinterpret_cast<PyTypeObject*>(elementwise_type))) {
    return f.attr("_map")(x, out, where, n_jobs, progress, rep, stream);
  }
  if (!nb::isinstance<py_op>(f)) {
    if (!out.is_none()) {
      return fallback("map_callable_into")(f, x, out, where, n_jobs, progress, rep);
    }
    return map_callable(f, x, where, n_jobs, progress, rep);
  }
  const auto& op = nb::cast<const py_op&>(f);
  if (PyArray_CheckExact(x.ptr()) && (out.is_none() || PyArray_CheckExact(out.ptr()))) {
    auto* xa = reinterpret_cast<PyArrayObject*>(x.ptr());
    const std::optional<dtype> t = dtype_of_array(xa);
    if (t && PyArray_IS_C_CONTIGUOUS(xa)) {
      nb::object result;
      if (out.is_none()) {
        result = nb::steal(PyArray_NewLikeArray(xa, NPY_CORDER, nullptr, 0));
        if (!result.is_valid()) throw nb::python_error();
      } else {
        result = nb::borrow(out);
      }
      auto* oa = reinterpret_cast<PyArrayObject*>(result.ptr());
      const std::optional<dtype> ot = dtype_of_array(oa);
      if (ot == t && PyArray_ISWRITEABLE(oa) && PyArray_IS_C_CONTIGUOUS(oa) &&
          PyArray_SAMESHAPE(xa, oa)) {
        parmap::report r;
        const options opt = make_options(where, n_jobs, progress, rep, &r);
        run_op(op, *t, PyArray_DATA(xa), PyArray_DATA(oa), static_cast<std::size_t>(PyArray_SIZE(xa)),
               opt);
        fill_report(rep, r);
        return result;
      }
      // else: the buffer path below names what is wrong with out
    }
  }
  buffer in;
  if (!PyObject_CheckBuffer(x.ptr()) || !in.get(x, PyBUF_RECORDS_RO) ||
      !PyBuffer_IsContiguous(&in.view, 'C')) {
    return fallback("map_foreign")(f, x, out, where, n_jobs, progress, rep, stream);
  }
  const std::optional<dtype> t = dtype_of_format(in.view.format, in.view.itemsize);
  if (!t) bad_dtype(x, &in.view, "the input");

  nb::object result = nb::borrow(out);
  if (out.is_none()) {
    // Kept for the process (never released: no Python call after finalisation).
    static PyObject* empty_like =
        nb::object(nb::module_::import_("numpy").attr("empty_like")).release().ptr();
    result = nb::borrow(empty_like)(x);
  } else if (!PyObject_CheckBuffer(out.ptr())) {
    return fallback("map_foreign")(f, x, out, where, n_jobs, progress, rep, stream);
  }
  buffer o;
  if (!o.get(result, PyBUF_RECORDS_RO)) throw nb::type_error("out is not an array");
  if (o.view.readonly != 0) throw nb::value_error("out is read-only");
  const std::optional<dtype> ot = dtype_of_format(o.view.format, o.view.itemsize);
  if (!ot) bad_dtype(result, &o.view, "out");
  if (*ot != *t) {
    throw nb::value_error(("out has dtype " + std::string(name_of(*ot)) + ", the input " +
                           name_of(*t) + "; they must match")
                              .c_str());
  }
  if (!same_shape(in.view, o.view)) throw nb::value_error("out must have the input's shape");
  if (!PyBuffer_IsContiguous(&o.view, 'C')) throw nb::value_error("out must be C-contiguous");

  parmap::report r;
  const options opt = make_options(where, n_jobs, progress, rep, &r);
  const auto n = static_cast<std::size_t>(in.view.len / in.view.itemsize);
  run_op(op, *t, in.view.buf, o.view.buf, n, opt);
  fill_report(rep, r);
  return result;
}

namespace {

using detail::vtype;

int npy_type(vtype t) {
  switch (t) {
    case vtype::b8: return NPY_BOOL;
    case vtype::i32: return NPY_INT32;
    case vtype::i64: return NPY_INT64;
    case vtype::u32: return NPY_UINT32;
    case vtype::u64: return NPY_UINT64;
    case vtype::f32: return NPY_FLOAT32;
    case vtype::f64: return NPY_FLOAT64;
  }
  return NPY_FLOAT64;
}

void check_out(PyArrayObject* xa, PyArrayObject* oa, vtype out) {
  const PyArray_Descr* d = PyArray_DESCR(oa);
  if (!PyArray_ISNBO(d->byteorder) || !PyArray_EquivTypenums(d->type_num, npy_type(out))) {
    const std::string name = nb::str(nb::handle(reinterpret_cast<PyObject*>(const_cast<PyArray_Descr*>(d)))).c_str();
    throw nb::value_error(("out has dtype " + name + "; the function's result is " + detail::vtype_numpy_name(out)).c_str());
  }
  if (!PyArray_ISWRITEABLE(oa)) throw nb::value_error("out is read-only");
  if (!PyArray_IS_C_CONTIGUOUS(oa)) throw nb::value_error("out must be C-contiguous");
  if (!PyArray_SAMESHAPE(xa, oa)) throw nb::value_error("out must have the input's shape");
}

}  // namespace

// out = p(x) for a C-contiguous ndarray x of p's input dtype; out None (a
// new array of p's result dtype) or such an array.
nb::object map_program(const detail::program& code, const std::string& what, nb::handle x, nb::handle out,
                       nb::handle where, int n_jobs, bool progress, nb::handle rep) {
  if (!PyArray_Check(x.ptr())) throw nb::type_error("x must be a NumPy array");
  // Strided input is copied first (documented), as for the built-in ops.
  const nb::object contiguous = nb::steal(reinterpret_cast<PyObject*>(
      PyArray_GETCONTIGUOUS(reinterpret_cast<PyArrayObject*>(x.ptr()))));
  if (!contiguous.is_valid()) throw nb::python_error();
  auto* xa = reinterpret_cast<PyArrayObject*>(contiguous.ptr());
  const auto in_type = detail::dtype_of_vtype(code.in);
  if (!PyArray_EquivTypenums(PyArray_DESCR(xa)->type_num, npy_type(code.in))) {
    throw nb::type_error("x has another dtype than the program's");
  }
  if (!in_type) throw nb::type_error("the program's input dtype is not an array dtype");
  nb::object result;
  if (out.is_none()) {
    PyArray_Descr* d = PyArray_DescrFromType(npy_type(code.out));
    result = nb::steal(PyArray_NewLikeArray(xa, NPY_CORDER, d, 0));  // steals d
    if (!result.is_valid()) throw nb::python_error();
  } else {
    if (!PyArray_Check(out.ptr())) throw nb::type_error("out must be a NumPy array");
    result = nb::borrow(out);
  }
  auto* oa = reinterpret_cast<PyArrayObject*>(result.ptr());
  check_out(xa, oa, code.out);
  const auto n = static_cast<std::size_t>(PyArray_SIZE(xa));
  parmap::report r;
  const options opt = make_options(where, n_jobs, progress, rep, &r);
  detail::check_arguments(n, n, opt.n_jobs);
  detail::check_no_partial_overlap(PyArray_DATA(xa), n * detail::vtype_size(code.in), PyArray_DATA(oa),
                                   n * detail::vtype_size(code.out), code.in == code.out);
  const detail::op_call call = detail::program_call(code, *in_type);
  {
    const nb::gil_scoped_release unlocked;
    detail::map_op(call, PyArray_DATA(xa), PyArray_DATA(oa), n, opt, what.c_str());
  }
  fill_report(rep, r);
  return result;
}


namespace {

template <class A>
std::optional<dtype> dtype_of(const A& a) {
  const nb::dlpack::dtype d = a.dtype();
#define PARMAP_Y(name, type, ...) \
  if (d == nb::dtype<type>()) return dtype::name;
  PARMAP_TYPE_LIST(PARMAP_Y)
#undef PARMAP_Y
  return std::nullopt;
}

template <class A>
bool c_contiguous(const A& a) {
  std::int64_t expect = 1;
  for (std::size_t k = a.ndim(); k-- > 0;) {
    if (a.shape(k) != 1 && a.stride(k) != expect) return false;
    expect *= static_cast<std::int64_t>(a.shape(k));
  }
  return true;
}

// For DLPack arrays (CuPy, PyTorch, ...): out is already allocated by
// parmap._arrays. It is taken writable: nanobind asks its producer for a
// DLPack 1.x capsule and refuses one flagged read-only (a JAX array, say).
void map_dlpack(nb::handle f, nb::ndarray<nb::ro> x, nb::ndarray<> out, nb::handle where,
                int n_jobs, bool progress, nb::handle rep) {
  const auto& op = nb::cast<const py_op&>(f);
  const std::optional<dtype> t = dtype_of(x);
  const std::optional<dtype> ot = dtype_of(out);
  if (!t) throw nb::type_error("the input's dtype is not float32, float64, int32 or int64");
  if (!ot || *ot != *t) throw nb::value_error("out must have the input's dtype");
  if (x.ndim() != out.ndim()) throw nb::value_error("out must have the input's shape");
  for (std::size_t k = 0; k < x.ndim(); ++k) {
    if (x.shape(k) != out.shape(k)) throw nb::value_error("out must have the input's shape");
  }
  if (!c_contiguous(x)) throw nb::value_error("the input must be C-contiguous");
  if (!c_contiguous(out)) throw nb::value_error("out must be C-contiguous");
  if (x.device_type() != out.device_type() || x.device_id() != out.device_id()) {
    throw nb::value_error("out must be on the input's device");
  }
  parmap::report r;
  const options opt = make_options(where, n_jobs, progress, rep, &r);
  run_op(op, *t, x.data(), out.data(), x.size(), opt);
  fill_report(rep, r);
}

}  // namespace

// A program over DLPack arrays (CuPy, PyTorch; CPU or CUDA): out is
// allocated with the program's result dtype by parmap._trace.
void map_program_dlpack(const detail::program& code, const std::string& what, nb::ndarray<nb::ro> x,
                        nb::ndarray<> out, nb::handle where, int n_jobs, bool progress, nb::handle rep) {
  const std::optional<dtype> t = dtype_of(x);
  if (!t || detail::vtype_of(*t) != code.in) throw nb::type_error("x has another dtype than the program's");
  const nb::dlpack::dtype od = out.dtype();
  bool out_ok = false;
  detail::on_vtype(code.out, [&]<class V>() { out_ok = od == nb::dtype<V>(); });
  if (!out_ok) {
    throw nb::value_error((std::string("out must have the function's result dtype, ") +
                           detail::vtype_numpy_name(code.out)).c_str());
  }
  if (x.ndim() != out.ndim()) throw nb::value_error("out must have the input's shape");
  for (std::size_t k = 0; k < x.ndim(); ++k) {
    if (x.shape(k) != out.shape(k)) throw nb::value_error("out must have the input's shape");
  }
  if (!c_contiguous(x) || !c_contiguous(out)) throw nb::value_error("x and out must be C-contiguous");
  if (x.device_type() != out.device_type() || x.device_id() != out.device_id()) {
    throw nb::value_error("out must be on the input's device");
  }
  parmap::report r;
  const options opt = make_options(where, n_jobs, progress, rep, &r);
  const std::size_t n = x.size();
  detail::check_no_partial_overlap(x.data(), n * detail::vtype_size(code.in), out.data(),
                                   n * detail::vtype_size(code.out), code.in == code.out);
  const detail::op_call call = detail::program_call(code, *t);
  {
    const nb::gil_scoped_release unlocked;
    detail::map_op(call, x.data(), out.data(), n, opt, what.c_str());
  }
  fill_report(rep, r);
}

namespace {

const char* const map_doc = R"(Applies f to every element of x.

f is a parmap.ops op (square, affine(2.0, 1.0), ...) or any Python callable.

With a parmap.ops op, x is an array of float32, float64, int32 or int64:
NumPy (and any buffer or DLPack CPU array) is read without a copy; CuPy
arrays and PyTorch tensors on a CUDA device run on the GPU in place, after
parmap waits for the producer's current stream (or stream.synchronize() when
stream= is given); results are complete when map returns. Returns an array
of x's kind, or writes into out (same shape and dtype, C-contiguous,
writable) and returns out. Non-contiguous input is copied first; a list is
turned into a NumPy array and the result returned as a list.

With a Python callable, x is any iterable; returns [f(a) for a in x] in
input order, computed on parmap's worker threads (see parmap.blocking for
calls that wait). An exception raises parmap.TaskError (.index, __cause__);
items above it are not started. Ctrl-C cancels the items not yet started.

backend: "auto" (the dispatcher chooses), "cpu" or "gpu" (forced: raises
parmap.BackendUnavailable when impossible, never a silent CPU run).
n_jobs: -1 = all cores, or >= 1. progress: a progress bar on stderr.
report: a parmap.Report to fill (used, reason, n, seconds).)";

}  // namespace

void register_arrays(nb::module_& m) {
  if (_import_array() < 0) throw nb::python_error();
  m.def("map", &map_entry, nb::arg("f"), nb::arg("x"), nb::arg("out") = nb::none(), nb::kw_only(),
        nb::arg("backend") = "auto", nb::arg("n_jobs") = -1, nb::arg("progress") = false,
        nb::arg("report") = nb::none(), nb::arg("stream") = nb::none(), map_doc);
  m.def(
      "map_inplace",
      [](nb::handle f, nb::handle x, nb::handle where, int n_jobs, bool progress, nb::handle rep,
         nb::handle stream) {
        if (!nb::isinstance<py_op>(f) && (elementwise_type == nullptr ||
                                          !PyObject_TypeCheck(f.ptr(), reinterpret_cast<PyTypeObject*>(elementwise_type)))) {
          return fallback("map_callable_into")(f, x, x, where, n_jobs, progress, rep);
        }
        return map_entry(f, x, x, where, n_jobs, progress, rep, stream);
      },
      nb::arg("f"), nb::arg("x"), nb::kw_only(), nb::arg("backend") = "auto", nb::arg("n_jobs") = -1,
      nb::arg("progress") = false, nb::arg("report") = nb::none(), nb::arg("stream") = nb::none(),
      "x[i] = f(x[i]) for every i, in place (x must be writable); returns x. Options as for map.");
  m.def("_register_elementwise", &set_elementwise_type, nb::arg("cls"));
  // Whether a DLPack array may be written (its producer does not flag it
  // read-only): asked only to name the problem when _map_dlpack refused out.
  m.def("_dlpack_writable", [](const nb::ndarray<>&) { return true; }, nb::arg("a"));
  m.def("_dlpack_writable", [](const nb::ndarray<nb::ro>&) { return false; }, nb::arg("a"));
  m.def("_map_dlpack", &map_dlpack, nb::arg("f"), nb::arg("x"), nb::arg("out"), nb::arg("backend"),
        nb::arg("n_jobs"), nb::arg("progress"), nb::arg("report").none());
}

}  // namespace parmap::python
