"""parmap.map / map_inplace with parmap.ops on NumPy arrays: values, forms, reports."""
import array

import numpy as np
import pytest

import parmap
from parmap import ops


def values(dtype, n=1000):
    rng = np.random.default_rng(7)
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(n) * 100).astype(dtype)
    return rng.integers(-50000, 50000, n).astype(dtype)


@pytest.mark.parametrize("n", [0, 1, 16, 1000, 1 << 16, (1 << 16) + 3])
def test_square_matches_numpy(dtype, n):
    x = values(dtype, n)
    y = parmap.map(ops.square, x)
    assert type(y) is np.ndarray and y.dtype == x.dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, x * x)


def test_out_is_written_and_returned(dtype):
    x = values(dtype)
    y = np.zeros_like(x)
    r = parmap.map(ops.affine(3, 2), x, out=y)
    assert r is y
    np.testing.assert_array_equal(y, x * dtype(3) + dtype(2))


def test_map_inplace(dtype):
    x = values(dtype)
    before = x.copy()
    assert parmap.map_inplace(ops.negate, x) is x
    np.testing.assert_array_equal(x, -before)


def test_two_dimensional_keeps_shape():
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    y = parmap.map(ops.cube, x)
    assert y.shape == (3, 4)
    np.testing.assert_array_equal(y, x ** 3)


def test_strided_input_is_copied_not_changed():
    base = np.arange(20, dtype=np.float32)
    x = base[::2]
    y = parmap.map(ops.square, x)
    np.testing.assert_array_equal(y, x * x)
    np.testing.assert_array_equal(base, np.arange(20, dtype=np.float32))


def test_list_in_list_out():
    assert parmap.map(ops.square, [1.5, 2.0, -3.0]) == [2.25, 4.0, 9.0]
    assert parmap.map(ops.scale(2), [1, 2, 3]) == [2, 4, 6]


def test_any_cpu_buffer():
    x = array.array("d", [1.0, 2.0, 3.0])
    y = parmap.map(ops.sqrt, x)
    np.testing.assert_allclose(y, np.sqrt([1.0, 2.0, 3.0]))
    m = memoryview(np.arange(5, dtype=np.int32))
    np.testing.assert_array_equal(parmap.map(ops.square, m), [0, 1, 4, 9, 16])


def test_every_op_is_exposed():
    for name in ["square", "cube", "negate", "abs", "relu", "sqrt", "rsqrt", "exp", "log", "sin",
                 "cos", "tanh", "sigmoid"]:
        assert getattr(ops, name).name == name
    assert repr(ops.affine(2.0, 1.0)) == "parmap.ops.affine(2.0, 1.0)"
    x = np.array([-3.0, 0.5, 7.0])
    np.testing.assert_array_equal(parmap.map(ops.clamp(0, 1), x), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(parmap.map(ops.shift(1), x), x + 1)
    np.testing.assert_array_equal(parmap.map(ops.pow(2), x), x ** 2)


def test_integer_parameters_are_exact_for_int64():
    big = (1 << 62) + 1
    x = np.array([0, 1, 2], dtype=np.int64)
    np.testing.assert_array_equal(parmap.map(ops.shift(big), x), x + np.int64(big))


def test_report():
    x = values(np.float32, 100000)
    r = parmap.Report()
    parmap.map(ops.square, x, report=r, backend="cpu", n_jobs=1)
    assert r.used == "cpu" and r.n == 100000 and r.seconds > 0
    assert "forced" in r.reason


def test_scoped_backend_sets_the_default():
    x = values(np.float64, 50000)
    r = parmap.Report()
    with parmap.scoped_backend("cpu", n_jobs=1):
        parmap.map(ops.square, x, report=r)
    assert "scoped_backend" in r.reason and "serial" in r.reason
    parmap.map(ops.square, x, report=r)
    assert "scoped_backend" not in r.reason


def test_verbose_logs(tmp_path):
    import subprocess
    import sys

    code = "import numpy as np, parmap; parmap.map(parmap.ops.square, np.ones(8, np.float32))"
    env = dict(__import__("os").environ, PARMAP_VERBOSE="1")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       check=True)
    assert "parmap: square n=8 -> cpu" in p.stderr


def test_gil_is_released_during_a_map():
    import threading
    import time

    x = np.ones(1 << 26, dtype=np.float32)  # ~20 ms a map: many 1 ms ticks fit in each
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.01)
    n0 = len(ticks)
    for _ in range(20):
        parmap.map_inplace(ops.abs, x, n_jobs=1)
    stop.set()
    t.join()
    # The ticker ran while C++ worked (with the GIL held it would tick about once per map).
    assert len(ticks) - n0 > 40


def test_environment_is_read_once_until_reloaded(monkeypatch):
    x = np.ones(64, np.float32)
    parmap.reload_environment()
    monkeypatch.setenv("PARMAP_BACKEND", "bogus")
    parmap.map(ops.square, x)  # the kept reading: no error yet
    parmap.reload_environment()
    with pytest.raises(parmap.ConfigError, match="PARMAP_BACKEND"):
        parmap.map(ops.square, x)
    monkeypatch.delenv("PARMAP_BACKEND")
    parmap.reload_environment()
    np.testing.assert_array_equal(parmap.map(ops.square, x), x)


def test_the_report_names_the_cpu_loops_instruction_set(monkeypatch):
    x = values(np.float32, 100000)
    r = parmap.Report()
    parmap.map(ops.square, x, report=r, backend="cpu")
    assert "CPU loops: " in r.reason
    widest = r.reason.split("CPU loops: ")[1].split(";")[0]
    assert widest in ("baseline", "avx2", "avx512 (256-bit vectors)", "avx512 (512-bit vectors)")
    # Forced to baseline: the same results, and the report says so.
    monkeypatch.setenv("PARMAP_CPU_ISA", "baseline")
    parmap.reload_environment()
    try:
        y = parmap.map(ops.square, x, report=r, backend="cpu")
        assert "CPU loops: baseline" in r.reason
        np.testing.assert_array_equal(y, np.square(x))
        monkeypatch.setenv("PARMAP_CPU_ISA", "sse9")
        parmap.reload_environment()
        with pytest.raises(parmap.ConfigError, match="PARMAP_CPU_ISA"):
            parmap.map(ops.square, x)
        # The AVX-512 set's width, where the CPU has the set; a width the
        # set is not built in is an error naming the variable.
        if widest.startswith("avx512"):
            monkeypatch.setenv("PARMAP_CPU_ISA", "avx512")
            for bits in ("256", "512"):
                monkeypatch.setenv("PARMAP_CPU_VECTOR_BITS", bits)
                parmap.reload_environment()
                y = parmap.map(ops.square, x, report=r, backend="cpu")
                assert f"CPU loops: avx512 ({bits}-bit vectors)" in r.reason
                np.testing.assert_array_equal(y, np.square(x))
        monkeypatch.setenv("PARMAP_CPU_ISA", "baseline")
        monkeypatch.setenv("PARMAP_CPU_VECTOR_BITS", "512")
        parmap.reload_environment()
        with pytest.raises(parmap.ConfigError, match="PARMAP_CPU_VECTOR_BITS=512"):
            parmap.map(ops.square, x)
    finally:
        monkeypatch.delenv("PARMAP_CPU_ISA")
        monkeypatch.delenv("PARMAP_CPU_VECTOR_BITS", raising=False)
        parmap.reload_environment()
    parmap.map(ops.square, x, report=r, backend="cpu")
    assert f"CPU loops: {widest}" in r.reason
