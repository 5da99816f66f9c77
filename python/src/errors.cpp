// parmap's C++ exceptions as a Python hierarchy rooted at parmap.Error:
//   Error -> BackendUnavailable, GpuError, ConfigError (also a ValueError),
//            TaskError (.index; the callable's exception is its __cause__).
// std::invalid_argument stays a ValueError (nanobind's own translation).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <exception>
#include <string>

#include "bindings.hpp"
#include "parmap/errors.hpp"

namespace parmap::python {
namespace {

PyObject* error_type = nullptr;
PyObject* backend_unavailable_type = nullptr;
PyObject* gpu_error_type = nullptr;
PyObject* config_error_type = nullptr;
PyObject* task_error_type = nullptr;

PyObject* new_type(nb::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("parmap.") + name;
  PyObject* t = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (t == nullptr) throw nb::python_error();
  m.attr(name) = nb::borrow(t);  // the module keeps a reference; so does this file
  return t;
}

// Raises parmap.TaskError(index) with the callable's exception as __cause__.
void raise_task_error(const task_error& e) {
  nb::object cause;
  std::string what;
  try {
    std::rethrow_exception(e.cause());
  } catch (nb::python_error& pe) {
    cause = nb::borrow(pe.value());
    what = std::string(nb::str(nb::object(cause.type().attr("__name__"))).c_str()) + ": " +
           std::string(nb::str(cause).c_str());
  } catch (...) {
    what = detail::describe(e.cause());
  }
  const std::string msg =
      "the callable raised at index " + std::to_string(e.index()) + ": " + what;
  nb::object inst = nb::steal(PyObject_CallFunction(task_error_type, "s", msg.c_str()));
  if (!inst.is_valid()) return;  // the call set its own error
  inst.attr("index") = e.index();
  if (cause.is_valid()) PyException_SetCause(inst.ptr(), cause.inc_ref().ptr());
  PyErr_SetObject(task_error_type, inst.ptr());
}

void translate(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const task_error& e) {
    raise_task_error(e);
  } catch (const backend_unavailable& e) {
    PyErr_SetString(backend_unavailable_type, e.what());
  } catch (const gpu_error& e) {
    PyErr_SetString(gpu_error_type, e.what());
  } catch (const config_error& e) {
    PyErr_SetString(config_error_type, e.what());
  } catch (const error& e) {
    PyErr_SetString(error_type, e.what());
  }
}

}  // namespace

void register_errors(nb::module_& m) {
  error_type = new_type(m, "Error", PyExc_Exception, "Base of parmap's own exceptions.");
  backend_unavailable_type =
      new_type(m, "BackendUnavailable", error_type,
               "The GPU was forced but cannot run this call (no GPU, a CPU-only build, or a "
               "callable with no GPU implementation). Never replaced by a silent CPU run.");
  gpu_error_type = new_type(m, "GpuError", error_type, "A CUDA call failed; the message names it.");
  nb::object config_bases = nb::make_tuple(nb::handle(error_type), nb::handle(PyExc_ValueError));
  config_error_type = new_type(m, "ConfigError", config_bases.ptr(),
                               "A bad PARMAP_* environment value or an inconsistent option.");
  task_error_type = new_type(m, "TaskError", error_type,
                             "The callable raised. .index is the lowest failing index; the "
                             "original exception is __cause__. Items above it were not started.");
  nb::register_exception_translator(&translate);
}

}  // namespace parmap::python
