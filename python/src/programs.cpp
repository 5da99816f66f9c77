// Traced programs from Python (@parmap.elementwise, parmap/_trace.py): the
// C++ program_builder as _core.ProgramBuilder, the finished _core.Program,
// and _core._map_program, which maps an array through one with the GIL
// released (the CPU's block interpreter, or the GPU's Thrust functor).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "bindings.hpp"
#include "parmap/detail/program.hpp"
#include "py_ops.hpp"

namespace parmap::python {
namespace {

using detail::iop;
using detail::vtype;

vtype vtype_named(const std::string& name) {
#define PARMAP_V(v, type, numpy) \
  if (name == numpy) return vtype::v;
  PARMAP_VALUE_TYPE_LIST(PARMAP_V)
#undef PARMAP_V
  throw nb::type_error(("parmap.elementwise: dtype " + name + " is not supported in a traced function").c_str());
}

iop iop_named(const std::string& name) {
#define PARMAP_I(op, ...) \
  if (name == #op) return iop::op;
  PARMAP_INSTR_LIST(PARMAP_I)
#undef PARMAP_I
  throw nb::value_error(("no instruction " + name).c_str());
}

// A finished program, with the text the report prints.
struct py_program {
  detail::program code;
  std::string what;  // "elementwise(x*x + 2*x + 1)"
};

// One value of type t from a Python int, float or bool (already converted to
// t by NumPy, parmap/_trace.py).
detail::value value_of(vtype t, nb::handle v) {
  detail::value r{};
  switch (t) {
    case vtype::b8: r.b8 = PyObject_IsTrue(v.ptr()) == 1; break;
    case vtype::i32: r.i32 = static_cast<std::int32_t>(nb::cast<std::int64_t>(v)); break;
    case vtype::i64: r.i64 = nb::cast<std::int64_t>(v); break;
    case vtype::u32: r.u32 = static_cast<std::uint32_t>(nb::cast<std::uint64_t>(v)); break;
    case vtype::u64: r.u64 = nb::cast<std::uint64_t>(v); break;
    case vtype::f32: r.f32 = static_cast<float>(nb::cast<double>(v)); break;
    case vtype::f64: r.f64 = nb::cast<double>(v); break;
  }
  return r;
}

// program_builder's std::invalid_argument, as the TypeError a tracing
// Python function raises.
template <class F>
auto typed(F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw nb::type_error(e.what());
  }
}

}  // namespace

void register_programs(nb::module_& m) {
  nb::class_<py_program>(m, "Program", "A traced element-wise function for one input dtype.")
      .def_prop_ro("in_dtype", [](const py_program& p) { return std::string(detail::vtype_numpy_name(p.code.in)); })
      .def_prop_ro("out_dtype", [](const py_program& p) { return std::string(detail::vtype_numpy_name(p.code.out)); })
      .def_prop_ro("text", [](const py_program& p) { return p.what; })
      .def_prop_ro("instructions", [](const py_program& p) { return static_cast<int>(p.code.count); })
      .def("__repr__", [](const py_program& p) {
        return "<parmap program " + p.what + ": " + detail::vtype_numpy_name(p.code.in) + " -> " +
               detail::vtype_numpy_name(p.code.out) + ">";
      });

  nb::class_<detail::program_builder>(m, "ProgramBuilder", "Records a program (parmap/_trace.py).")
      .def("__init__", [](detail::program_builder* b, const std::string& in) {
        new (b) detail::program_builder(vtype_named(in));
      })
      .def("type_of", [](const detail::program_builder& b, int v) {
        return std::string(detail::vtype_numpy_name(typed([&] { return b.type_of(v); })));
      })
      .def("constant", [](detail::program_builder& b, const std::string& t, nb::handle v) {
        const vtype vt = vtype_named(t);
        return typed([&] { return b.constant(vt, value_of(vt, v)); });
      })
      .def("convert", [](detail::program_builder& b, int v, const std::string& t) {
        const vtype vt = vtype_named(t);
        return typed([&] { return b.convert(v, vt); });
      })
      .def("unary", [](detail::program_builder& b, const std::string& op, int a) {
        return typed([&] { return b.unary(iop_named(op), a); });
      })
      .def("binary", [](detail::program_builder& b, const std::string& op, int a, int c) {
        return typed([&] { return b.binary(iop_named(op), a, c); });
      })
      .def("where", [](detail::program_builder& b, int c, int x, int y) {
        return typed([&] { return b.where(c, x, y); });
      })
      .def("apply", [](detail::program_builder& b, const py_op& op, int a) {
        const auto t = detail::dtype_of_vtype(typed([&] { return b.type_of(a); }));
        if (!t) {
          throw nb::type_error((op.repr + " has no form for " + detail::vtype_numpy_name(b.type_of(a))).c_str());
        }
        const detail::op_call c = op_call_for(op, *t);
        return typed([&] { return b.apply(c, a); });
      })
      .def("text", [](const detail::program_builder& b, int v) { return typed([&] { return b.text(v); }); })
      .def("finish", [](const detail::program_builder& b, int result, const std::string& out) {
        const vtype vt = vtype_named(out);
        return typed([&] { return py_program{b.finish(result, vt), "elementwise(" + b.text(result) + ")"}; });
      });

  m.def(
      "_map_program",
      [](const py_program& p, nb::handle x, nb::handle out, nb::handle where, int n_jobs, bool progress,
         nb::handle rep) { return map_program(p.code, p.what, x, out, where, n_jobs, progress, rep); },
      nb::arg("program"), nb::arg("x"), nb::arg("out").none(), nb::arg("backend"),
        nb::arg("n_jobs"), nb::arg("progress"), nb::arg("report").none());
  m.def("_map_program_dlpack",
        [](const py_program& p, nb::ndarray<nb::ro> x, nb::ndarray<> out, nb::handle where, int n_jobs,
           bool progress, nb::handle rep) { map_program_dlpack(p.code, p.what, x, out, where, n_jobs, progress, rep); },
        nb::arg("program"), nb::arg("x"), nb::arg("out"), nb::arg("backend"), nb::arg("n_jobs"),
        nb::arg("progress"), nb::arg("report").none());
}

}  // namespace parmap::python
