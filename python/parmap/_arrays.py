"""The slower forms of parmap.map with a parmap.ops op, reached from the C++
fast path (python/src/arrays.cpp) when the input is not a C-contiguous CPU
buffer: DLPack arrays (CuPy, PyTorch, on the CPU or a CUDA device), strided
arrays (copied first), lists; and Python callables writing into an array.
"""
import numpy as np

from . import _core

_KDL_CPU, _KDL_CUDA, _KDL_CUDA_HOST, _KDL_CUDA_MANAGED = 1, 2, 3, 13


def _library(x):
    return type(x).__module__.split(".")[0]


def _sync_producer(x, stream):
    """Waits until work queued on the producer's current stream is done, so
    parmap (which runs on its own stream) reads finished data."""
    if stream is not None:
        stream.synchronize()
        return
    lib = _library(x)
    if lib == "cupy":
        import cupy

        cupy.cuda.get_current_stream().synchronize()
    elif lib == "torch":
        import torch

        torch.cuda.current_stream(x.device).synchronize()
    else:
        raise TypeError(
            f"parmap.map: a CUDA array from {lib!r}: pass stream= (an object with "
            "synchronize()) so parmap knows when the data is ready"
        )


def _empty_like(x):
    lib = _library(x)
    if lib == "cupy":
        import cupy

        return cupy.empty_like(x)
    if lib == "torch":
        import torch

        return torch.empty_like(x, memory_format=torch.contiguous_format)
    return np.empty_like(x)


def _contiguous(x):
    lib = _library(x)
    if lib == "torch":
        return x.contiguous()
    if lib == "cupy":
        import cupy

        return cupy.ascontiguousarray(x)
    return np.ascontiguousarray(x)


def _is_contiguous(x):
    if _library(x) == "torch":
        return x.is_contiguous()
    flags = getattr(x, "flags", None)
    return bool(flags is None or flags.c_contiguous)


def _check_writable(out):
    if _library(out) == "torch" and out.requires_grad:
        raise ValueError("out requires grad; parmap writes it directly (use a tensor without grad)")
    flags = getattr(out, "flags", None)
    if flags is not None and hasattr(flags, "writeable") and not flags.writeable:
        raise ValueError("out is read-only")


def call_dlpack(fn, f, x, out, *args):
    """fn(f, x, out, *args), a binding that takes out writable: a TypeError
    because out's producer flags it read-only (DLPack 1.x) says so."""
    try:
        fn(f, x, out, *args)
    except TypeError:
        if hasattr(out, "__dlpack__") and not _core._dlpack_writable(out):
            raise ValueError("out is read-only (its DLPack producer says so)") from None
        raise


def map_foreign(f, x, out, backend, n_jobs, progress, report, stream):
    """parmap.map(op, x, out) for what the buffer fast path does not take."""
    if hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray):
        device = x.__dlpack_device__()[0]
        if device in (_KDL_CUDA, _KDL_CUDA_MANAGED):
            _sync_producer(x, stream)
        if not _is_contiguous(x):
            x = _contiguous(x)  # documented: strided input is copied
        if out is None:
            out = _empty_like(x)
        elif not hasattr(out, "__dlpack__"):
            raise ValueError("out must be an array of the input's kind and device")
        _check_writable(out)
        if not _is_contiguous(out):
            raise ValueError("out must be C-contiguous")
        call_dlpack(_core._map_dlpack, f, x, out, backend, n_jobs, progress, report)
        return out
    if out is not None and hasattr(out, "__dlpack__") and not isinstance(out, np.ndarray):
        raise ValueError("out must be on the input's device and of its kind")
    as_list = isinstance(x, (list, tuple))
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"parmap.map: the input is not an array: {e}") from None
    if a.dtype == object:
        raise TypeError(
            "the input has dtype object; parmap.ops run on float32, float64, int32 and int64 "
            "arrays (for Python objects, map a Python function: parmap.map(f, items))"
        )
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)  # documented: strided input is copied
    y = _core.map(f, a, out, backend=backend, n_jobs=n_jobs, progress=progress, report=report)
    return y.tolist() if as_list and out is None else y


def map_callable_into(f, x, out, backend, n_jobs, progress, report):
    """out[i] = f(x[i]) for a Python callable f (map_inplace: out is x)."""
    results = _core.map(f, x, backend=backend, n_jobs=n_jobs, progress=progress, report=report)
    if isinstance(out, list):
        if len(out) != len(results):
            raise ValueError(f"out has {len(out)} items, the input {len(results)}")
        out[:] = results
        return out
    _check_writable(out)
    if len(out) != len(results):
        raise ValueError(f"out has {len(out)} items, the input {len(results)}")
    out[...] = np.asarray(results).reshape(np.shape(out))
    return out
