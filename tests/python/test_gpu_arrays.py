"""CuPy arrays and PyTorch CUDA tensors: mapped on the GPU in place, no host
copy, ordered after the producer's stream. Skipped without CuPy / torch or
without a usable GPU (they run on a lent GPU machine, .ci/gpu-check)."""
import numpy as np
import pytest

import parmap
from parmap import ops

gpu = pytest.mark.skipif(not parmap.gpu_available(), reason="no usable GPU: " + parmap.gpu_description())


def _cupy():
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy sees no GPU")
    except cupy.cuda.runtime.CUDARuntimeError as e:
        pytest.skip(f"CuPy sees no GPU: {e}")
    return cupy


def _torch():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no GPU")
    return torch


@gpu
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_cupy_on_the_gpu(dtype):
    cupy = _cupy()
    x = cupy.arange(-5000, 5000, dtype=dtype)
    r = parmap.Report()
    y = parmap.map(ops.square, x, report=r)
    assert isinstance(y, cupy.ndarray) and y.dtype == x.dtype
    assert r.used == "gpu" and "GPU memory" in r.reason
    np.testing.assert_array_equal(cupy.asnumpy(y), cupy.asnumpy(x) ** 2)
    parmap.map_inplace(ops.negate, x)
    np.testing.assert_array_equal(cupy.asnumpy(x), -np.arange(-5000, 5000, dtype=dtype))


@gpu
def test_cupy_waits_for_the_producers_stream():
    cupy = _cupy()
    n = 1 << 24
    with cupy.cuda.Stream(non_blocking=True):
        x = cupy.ones(n, dtype=cupy.float32)
        x *= 3  # queued on the non-default stream
        y = parmap.map(ops.square, x)  # must see the 3s
    assert float(y[n - 1]) == 9.0 and float(y[0]) == 9.0


@gpu
def test_cupy_cpu_forced_is_refused():
    cupy = _cupy()
    with pytest.raises(parmap.BackendUnavailable):
        parmap.map(ops.square, cupy.ones(1 << 16, dtype=cupy.float32), backend="cpu")


@gpu
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_torch_cuda_on_the_gpu(dtype):
    torch = _torch()
    t = getattr(torch, dtype)
    x = torch.arange(-4096, 4096, dtype=t, device="cuda")
    r = parmap.Report()
    y = parmap.map(ops.affine(2, 1), x, report=r)
    assert isinstance(y, torch.Tensor) and y.device == x.device and y.dtype == x.dtype
    assert r.used == "gpu"
    assert torch.equal(y, x * 2 + 1)
    out = torch.empty_like(x)
    assert parmap.map(ops.abs, x, out=out) is out
    assert torch.equal(out, x.abs())


@gpu
def test_torch_waits_for_the_current_stream():
    torch = _torch()
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        x = torch.full((1 << 24,), 2.0, device="cuda")
        x.mul_(2)
        parmap.map_inplace(ops.square, x)
        assert float(x[-1]) == 16.0


def test_torch_cpu_tensor_without_copy():
    torch = pytest.importorskip("torch")
    x = torch.arange(10, dtype=torch.float32)
    y = parmap.map(ops.square, x)
    assert isinstance(y, torch.Tensor) and torch.equal(y, x * x)
    parmap.map_inplace(ops.negate, x)  # through DLPack: x itself changes
    assert torch.equal(x, -torch.arange(10, dtype=torch.float32))


@gpu
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_elementwise_on_cupy_and_torch_arrays_runs_the_program_on_the_gpu(dtype):
    cupy = _cupy()

    @parmap.elementwise
    def f(a):
        return parmap.where(a > 3, a * a + 2 * a + 1, -a)

    x = cupy.arange(-5000, 5000, dtype=dtype)
    r = parmap.Report()
    y = parmap.map(f, x, report=r)
    assert isinstance(y, cupy.ndarray) and y.dtype == x.dtype
    assert r.used == "gpu", r.reason
    h = cupy.asnumpy(x)
    np.testing.assert_array_equal(cupy.asnumpy(y), np.where(h > 3, h * h + 2 * h + 1, -h))
    out = cupy.empty_like(x)
    assert parmap.map(f, x, out=out) is out
    np.testing.assert_array_equal(cupy.asnumpy(out), cupy.asnumpy(y))
    torch = _torch()
    t = torch.arange(-5000, 5000, dtype=getattr(torch, dtype), device="cuda")
    yt = f(t)
    assert isinstance(yt, torch.Tensor) and yt.device.type == "cuda"
    np.testing.assert_array_equal(yt.cpu().numpy(), cupy.asnumpy(y))
