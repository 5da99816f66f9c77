"""The DLPack path (CuPy arrays, PyTorch tensors) on the CPU, with stand-in
producers backed by NumPy: one that speaks DLPack 1.x (versioned capsules,
the read-only flag) and one from before max_version (legacy capsules only).
A real GPU runs the same consumer (test_gpu_arrays.py on a lent GPU)."""
import gc
import weakref

import numpy as np
import pytest

import parmap
from parmap import ops


class Producer:
    """An array that is not a NumPy array but exports one through DLPack."""

    def __init__(self, a):
        self.a = a
        self.dtype = a.dtype
        self.shape = a.shape

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()

    def __dlpack__(self, **kw):
        return self.a.__dlpack__(**kw)


class LegacyProducer(Producer):
    """A producer older than the 2023 array API: no max_version."""

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()


@pytest.fixture(params=[Producer, LegacyProducer], ids=["dlpack-1", "legacy"])
def producer(request):
    return request.param


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_an_op_reads_and_writes_through_dlpack(producer, dtype):
    x = (np.arange(-500, 500) * 3).astype(dtype)
    out = np.full_like(x, 7)
    r = parmap.Report()
    got = parmap.map(ops.square, producer(x), out=producer(out), report=r)
    assert isinstance(got, producer)
    np.testing.assert_array_equal(out, x * x)
    np.testing.assert_array_equal(x, (np.arange(-500, 500) * 3).astype(dtype))  # the input is untouched
    assert r.used == "cpu" and r.n == x.size


def test_in_place_through_dlpack(producer):
    x = np.linspace(-3, 3, 1001)
    want = np.abs(x)
    p = producer(x)
    assert parmap.map_inplace(ops.abs, p) is p
    np.testing.assert_array_equal(x, want)


def test_a_2d_array_and_its_shape(producer):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = np.zeros((3, 4), np.float32)
    parmap.map(ops.affine(2, 1), producer(x), out=producer(out))
    np.testing.assert_array_equal(out, x * 2 + 1)
    with pytest.raises(ValueError, match="shape"):
        parmap.map(ops.square, producer(x), out=producer(np.zeros((4, 3), np.float32)))


def test_bad_outs_are_refused_and_nothing_is_written(producer):
    x = np.arange(10, dtype=np.float64)
    with pytest.raises(ValueError, match="dtype"):
        parmap.map(ops.square, producer(x), out=producer(np.zeros(10, np.float32)))
    with pytest.raises(TypeError, match="dtype"):
        parmap.map(ops.square, producer(np.arange(10, dtype=np.int16)), out=producer(np.zeros(10, np.int16)))
    np.testing.assert_array_equal(x, np.arange(10.0))


def test_a_read_only_out_is_refused():
    # Only DLPack 1.x carries the read-only flag (NumPy refuses to export a
    # read-only array as a legacy capsule: BufferError).
    out = np.zeros(8, np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        parmap.map(ops.square, Producer(np.ones(8, np.float32)), out=Producer(out))
    with pytest.raises(ValueError, match="out is read-only"):
        parmap.map(parmap.elementwise(lambda a: a + 1), Producer(np.ones(8, np.float32)), out=Producer(out))
    assert not out.any()


def test_the_producers_buffers_are_released(producer):
    # The consumer calls each capsule's deleter: NumPy's keeps the array alive
    # until then.
    x = np.ones(1 << 12, np.float32)
    out = np.zeros_like(x)
    ref_x, ref_out = weakref.ref(x), weakref.ref(out)
    for _ in range(3):
        parmap.map(ops.square, producer(x), out=producer(out))
    del x, out
    gc.collect()
    assert ref_x() is None and ref_out() is None


def test_a_traced_function_through_dlpack(producer):
    @parmap.elementwise
    def f(a):
        return a * a + 2 * a + 1

    x = np.linspace(-2, 2, 1 << 12, dtype=np.float32)
    out = np.zeros_like(x)
    got = parmap.map(f, producer(x), out=producer(out))
    assert isinstance(got, producer)
    np.testing.assert_array_equal(out, x * x + 2 * x + 1)
    with pytest.raises(ValueError, match="result dtype"):
        parmap.map(f, producer(x), out=producer(np.zeros(x.size, np.float64)))
