"""Bad input: a clear Python error, and the caller's arrays unchanged."""
import numpy as np
import pytest

import parmap
from parmap import ops

from conftest import no_gpu


def test_unsupported_dtype_is_named():
    with pytest.raises(TypeError, match="float16"):
        parmap.map(ops.square, np.ones(4, np.float16))
    with pytest.raises(TypeError, match="uint8"):
        parmap.map(ops.square, np.ones(4, np.uint8))


def test_object_array():
    with pytest.raises(TypeError, match="object"):
        parmap.map(ops.square, np.array([1, "a"], dtype=object))


def test_float_only_op_on_integers():
    with pytest.raises(TypeError, match="sqrt.*int32"):
        parmap.map(ops.sqrt, np.ones(4, np.int32))


@pytest.mark.parametrize("out", [np.zeros(5, np.float32), np.zeros(4, np.float64),
                                 np.zeros((2, 2), np.float32)])
def test_bad_out_changes_nothing(out):
    x = np.arange(4, dtype=np.float32)
    before = out.copy()
    with pytest.raises(ValueError, match="out"):
        parmap.map(ops.square, x, out=out)
    np.testing.assert_array_equal(out, before)
    np.testing.assert_array_equal(x, np.arange(4, dtype=np.float32))


def test_read_only_out():
    x = np.arange(4, dtype=np.float32)
    y = np.zeros(4, np.float32)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        parmap.map(ops.square, x, out=y)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        parmap.map_inplace(ops.square, x)
    np.testing.assert_array_equal(x, np.arange(4, dtype=np.float32))


def test_non_contiguous_out():
    y = np.zeros(8, np.float32)[::2]
    with pytest.raises(ValueError, match="contiguous"):
        parmap.map(ops.square, np.ones(4, np.float32), out=y)


def test_partial_overlap_rejected():
    buf = np.arange(10, dtype=np.float64)
    with pytest.raises(ValueError, match="overlap"):
        parmap.map(ops.square, buf[:8], out=buf[2:])
    np.testing.assert_array_equal(buf, np.arange(10, dtype=np.float64))


@pytest.mark.parametrize("n_jobs", [0, -2, -100])
def test_bad_n_jobs(n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        parmap.map(ops.square, np.ones(4), n_jobs=n_jobs)
    with pytest.raises(ValueError, match="n_jobs"):
        parmap.map(abs, [1, 2], n_jobs=n_jobs)
    with pytest.raises(ValueError, match="n_jobs"):
        parmap.scoped_backend("cpu", n_jobs=n_jobs)


def test_bad_backend_name():
    with pytest.raises(ValueError, match="backend"):
        parmap.map(ops.square, np.ones(4), backend="cuda")


@no_gpu
def test_forced_gpu_without_gpu():
    x = np.ones(1 << 16, np.float32)
    with pytest.raises(parmap.BackendUnavailable, match="gpu forced"):
        parmap.map(ops.square, x, backend="gpu")
    np.testing.assert_array_equal(x, 1)
    with pytest.raises(parmap.BackendUnavailable):
        parmap.map(abs, [1, 2], backend="gpu")
    assert issubclass(parmap.BackendUnavailable, parmap.Error)


def test_bad_environment_is_a_config_error():
    import os
    import subprocess
    import sys

    code = ("import numpy as np, parmap\n"
            "try:\n    parmap.map(parmap.ops.square, np.ones(4))\n"
            "except parmap.ConfigError as e:\n    print('config', e)\n")
    env = dict(os.environ, PARMAP_BACKEND="tpu")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       check=True)
    assert "config" in p.stdout and "PARMAP_BACKEND" in p.stdout


def test_op_parameters_checked():
    with pytest.raises(ValueError, match="lo must not exceed hi"):
        ops.clamp(2, 1)
    with pytest.raises(TypeError):
        ops.scale("two")
    with pytest.raises(ValueError, match="range"):
        parmap.map(ops.scale(1 << 40), np.ones(4, np.int32))
    with pytest.raises(TypeError, match="callable"):
        parmap.map(42, [1, 2])
