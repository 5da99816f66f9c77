// parmap.ops: the built-in element-wise functions as Python objects, one per
// entry of PARMAP_OP_LIST (its name, parameters and docstring).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <deque>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bindings.hpp"
#include "py_ops.hpp"

namespace parmap::python {

detail::op_call op_call_for(const py_op& op, detail::dtype t) {
  std::optional<detail::op_call> c;
  try {
    c = detail::make_op_call(op.code, t, op.params, op.nparams);
  } catch (const std::invalid_argument& e) {
    throw nb::value_error((op.repr + ": " + e.what()).c_str());
  }
  if (!c) {
    throw nb::type_error((op.repr + " is defined for float32 and float64 arrays, not " +
                          detail::numpy_name(t))
                             .c_str());
  }
  return *c;
}

namespace {

// One parameter from a Python int or float (bool counts as int).
void set_param(py_op& op, int k, nb::handle v) {
  detail::op_param& p = op.params[k];
  if (PyLong_Check(v.ptr())) {
    int overflow = 0;
    const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (overflow != 0) throw nb::value_error((op.repr + ": integer parameter does not fit in 64 bits").c_str());
    p.is_int = true;
    p.i = x;
    p.f = static_cast<double>(x);
  } else if (PyFloat_Check(v.ptr()) || PyNumber_Check(v.ptr())) {
    const double x = PyFloat_AsDouble(v.ptr());
    if (x == -1.0 && PyErr_Occurred()) throw nb::python_error();
    p.f = x;
  } else {
    throw nb::type_error((op.repr + ": parameters must be numbers, got " + std::string(nb::repr(v).c_str())).c_str());
  }
}

py_op make(detail::op_code code, std::initializer_list<nb::handle> params) {
  py_op op;
  op.code = code;
  op.nparams = static_cast<int>(params.size());
  op.repr = std::string("parmap.ops.") + detail::op_name(code);
  if (op.nparams == 0) return op;
  std::string args;
  for (nb::handle p : params) {
    if (!args.empty()) args += ", ";
    args += std::string(nb::repr(p).c_str());
  }
  op.repr += "(" + args + ")";
  int k = 0;
  for (nb::handle p : params) set_param(op, k++, p);
  // Checked now as C++ would check them (clamp: lo above hi), in the widest
  // type of their kind; each array's dtype is checked again when mapped.
  const bool ints = op.params[0].is_int && (op.nparams < 2 || op.params[1].is_int);
  (void)op_call_for(op, ints ? detail::dtype::i64 : detail::dtype::f64);
  return op;
}

// Parameter names of one op ("a, b" -> "a", "b"), kept for nanobind's nb::arg.
std::deque<std::string>& names() {
  static std::deque<std::string> kept;
  return kept;
}
const char* param_name(const char* params, int k) {
  std::string_view s(params);
  for (int i = 0; i < k; ++i) s.remove_prefix(s.find(',') + 1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return names().emplace_back(s.substr(0, s.find(','))).c_str();
}

void add_op(nb::module_& o, detail::op_code code, const char* params, const char* doc) {
  const char* name = detail::op_name(code);
  switch (detail::param_count(params)) {
    case 0: o.attr(name) = nb::cast(make(code, {})); return;
    case 1:
      o.def(name, [code](nb::handle a) { return make(code, {a}); }, nb::arg(param_name(params, 0)), doc);
      return;
    default:
      o.def(name, [code](nb::handle a, nb::handle b) { return make(code, {a, b}); },
            nb::arg(param_name(params, 0)), nb::arg(param_name(params, 1)), doc);
      return;
  }
}

}  // namespace

void register_ops(nb::module_& m) {
  nb::class_<py_op>(m, "Op",
                    "A built-in element-wise function of parmap.ops; precompiled for the CPU "
                    "and the GPU for float32, float64, int32 and int64.")
      .def_prop_ro("name", [](const py_op& op) { return std::string(detail::op_name(op.code)); })
      .def("__repr__", [](const py_op& op) { return op.repr; })
      .def(
          "__call__",
          [](nb::handle self, nb::handle x) {
            // In an @parmap.elementwise function: recorded on the traced value.
            if (nb::hasattr(x, "_apply")) return nb::object(x.attr("_apply")(self));
            return map_entry(self, x, nb::none(), nb::str("auto"), -1, false, nb::none(), nb::none());
          },
          nb::arg("x"), "Maps x through the op (parmap.map(op, x)); on a traced value, records it.");

  nb::module_ o = m.def_submodule("ops", "parmap's built-in element-wise functions.");
#define PARMAP_X(name, cost, params, doc, ...) add_op(o, detail::op_code::name, params, doc);
  PARMAP_OP_LIST(PARMAP_X)
#undef PARMAP_X
}

}  // namespace parmap::python
