// parmap.ops: the built-in element-wise functions as Python objects.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <string>

#include "bindings.hpp"
#include "py_ops.hpp"

namespace parmap::python {

void unsupported(const py_op& op, const char* dtype_name) {
  throw nb::type_error((op.repr + " is defined for float32 and float64 arrays, not " +
                        std::string(dtype_name))
                           .c_str());
}

namespace {

// One parameter from a Python int or float (bool counts as int).
void set_param(py_op& op, int k, nb::handle v) {
  if (PyLong_Check(v.ptr())) {
    int overflow = 0;
    const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (overflow != 0) throw nb::value_error((op.repr + ": integer parameter does not fit in 64 bits").c_str());
    op.is_int[k] = true;
    op.i[k] = x;
    op.f[k] = static_cast<double>(x);
  } else if (PyFloat_Check(v.ptr()) || PyNumber_Check(v.ptr())) {
    const double x = PyFloat_AsDouble(v.ptr());
    if (x == -1.0 && PyErr_Occurred()) throw nb::python_error();
    op.f[k] = x;
  } else {
    throw nb::type_error((op.repr + ": parameters must be numbers, got " +
                          std::string(nb::repr(v).c_str()))
                             .c_str());
  }
}

py_op make(detail::op_code code, std::initializer_list<nb::handle> params) {
  py_op op;
  op.code = code;
  op.nparams = static_cast<int>(params.size());
  op.repr = std::string("parmap.ops.") + detail::op_name(code) + "(";
  std::string args;
  for (nb::handle p : params) {
    if (!args.empty()) args += ", ";
    args += std::string(nb::repr(p).c_str());
  }
  op.repr += args + ")";
  int k = 0;
  for (nb::handle p : params) set_param(op, k++, p);
  return op;
}

}  // namespace

void register_ops(nb::module_& m) {
  nb::class_<py_op>(m, "Op",
                    "A built-in element-wise function of parmap.ops; precompiled for the CPU "
                    "and the GPU for float32, float64, int32 and int64.")
      .def_prop_ro("name", [](const py_op& op) { return std::string(detail::op_name(op.code)); })
      .def("__repr__", [](const py_op& op) {
        return op.nparams == 0 ? std::string("parmap.ops.") + detail::op_name(op.code) : op.repr;
      });

  nb::module_ o = m.def_submodule("ops", "parmap's built-in element-wise functions.");
  using detail::op_code;
  for (op_code c : {op_code::square, op_code::cube, op_code::negate, op_code::abs, op_code::relu,
                    op_code::sqrt, op_code::rsqrt, op_code::exp, op_code::log, op_code::sin,
                    op_code::cos, op_code::tanh, op_code::sigmoid}) {
    py_op op = make(c, {});
    op.repr = std::string("parmap.ops.") + detail::op_name(c);
    o.attr(detail::op_name(c)) = nb::cast(op);
  }
  o.def("scale", [](nb::handle a) { return make(op_code::scale, {a}); }, nb::arg("a"),
        "x * a (wrapping for integers).");
  o.def("shift", [](nb::handle b) { return make(op_code::shift, {b}); }, nb::arg("b"),
        "x + b (wrapping for integers).");
  o.def("affine", [](nb::handle a, nb::handle b) { return make(op_code::affine, {a, b}); },
        nb::arg("a"), nb::arg("b"), "x * a + b, rounded twice (never fused).");
  o.def("pow", [](nb::handle p) { return make(op_code::pow, {p}); }, nb::arg("p"),
        "x ** p (exact repeated multiplication on integers).");
  o.def(
      "clamp",
      [](nb::handle lo, nb::handle hi) {
        py_op op = make(op_code::clamp, {lo, hi});
        if (op.f[1] < op.f[0] || (op.is_int[0] && op.is_int[1] && op.i[1] < op.i[0])) {
          throw nb::value_error("parmap.ops.clamp: lo must not exceed hi");
        }
        return op;
      },
      nb::arg("lo"), nb::arg("hi"), "min(max(x, lo), hi); NaN passes through.");
}

}  // namespace parmap::python
