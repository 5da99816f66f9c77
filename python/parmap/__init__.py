"""parmap: the embarrassingly parallel map on the GPU and the CPU, from Python.

    import numpy as np, parmap
    y = parmap.map(parmap.ops.square, x)                 # NumPy in, NumPy out; no copy in
    parmap.map(parmap.ops.affine(2.0, 1.0), x, out=y)     # into y
    parmap.map_inplace(parmap.ops.sqrt, y)                # in place
    r = parmap.map(slow_square, [0.0, 3.3, 6.7, 10.0])    # Python callables on parmap's threads

    @parmap.elementwise                                   # your own numeric function,
    def f(a): return a * a + 2 * a + 1                    # traced once per dtype, run fused in C++
    y = f(x)

The numeric path (parmap.ops on float32/float64/int32/int64 arrays) is the
C++ library's: a Thrust transform on an NVIDIA GPU when that pays, else an
OpenMP loop, with the GIL released. CuPy arrays and PyTorch CUDA tensors run
on the GPU in place. See docs/python.md.
"""
from . import _core
from ._core import (
    BackendUnavailable,
    ConfigError,
    Error,
    GpuError,
    Report,
    TaskError,
    __version__,
    built_with_cuda,
    gpu_available,
    gpu_description,
    map,
    map_inplace,
    ops,
    parallel,
    release_cached_memory,
    reload_environment,
    scoped_backend,
)
from ._tasks import blocking, delayed
from ._trace import Elementwise, elementwise, where

_core._register_elementwise(Elementwise)

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "Elementwise",
    "Error",
    "GpuError",
    "Report",
    "TaskError",
    "__version__",
    "blocking",
    "built_with_cuda",
    "delayed",
    "elementwise",
    "gpu_available",
    "gpu_description",
    "map",
    "map_inplace",
    "ops",
    "parallel",
    "release_cached_memory",
    "reload_environment",
    "scoped_backend",
    "where",
]
