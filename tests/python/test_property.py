"""Property tests against NumPy: random dtype, op, size and values, including
NaN, infinities, signed zeros, subnormals and integer extremes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import parmap
from parmap import ops

DTYPES = [np.float32, np.float64, np.int32, np.int64]
EXACT = ["square", "cube", "negate", "abs", "relu", "scale", "shift", "affine", "clamp", "pow"]
FLOAT_ONLY = ["sqrt", "rsqrt", "exp", "log", "sin", "cos", "tanh", "sigmoid"]


def make_op(name, dtype, p, q):
    """The parmap op and a NumPy reference computing the same thing."""
    t = np.dtype(dtype).type
    if name in ("square", "cube", "negate", "abs", "relu") or name in FLOAT_ONLY:
        return getattr(ops, name), {
            "square": lambda x: x * x,
            "cube": lambda x: x * x * x,
            "negate": lambda x: -x,
            "abs": np.abs,
            "relu": lambda x: np.where(x < 0, t(0), x),
            "sqrt": np.sqrt,
            "rsqrt": lambda x: t(1) / np.sqrt(x),
            "exp": np.exp,
            "log": np.log,
            "sin": np.sin,
            "cos": np.cos,
            "tanh": np.tanh,
            "sigmoid": lambda x: t(1) / (t(1) + np.exp(-x)),
        }[name]
    if name == "scale":
        return ops.scale(p), lambda x: x * t(p)
    if name == "shift":
        return ops.shift(p), lambda x: x + t(p)
    if name == "affine":
        return ops.affine(p, q), lambda x: x * t(p) + t(q)
    if name == "clamp":
        lo, hi = min(p, q), max(p, q)
        return ops.clamp(lo, hi), lambda x: np.where(x < t(lo), t(lo), np.where(t(hi) < x, t(hi), x))
    k = abs(p) % 6
    return ops.pow(k), lambda x: np.power(x, t(k)) if np.dtype(dtype).kind == "f" else _ipow(x, k)


def _ipow(x, k):
    r = np.ones_like(x)
    for _ in range(k):
        r = r * x
    return r


@st.composite
def cases(draw):
    dtype = draw(st.sampled_from(DTYPES))
    kind = np.dtype(dtype).kind
    name = draw(st.sampled_from(EXACT + (FLOAT_ONLY if kind == "f" else [])))
    n = draw(st.integers(0, 3000))
    if kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=np.dtype(dtype).itemsize * 8)
    else:
        info = np.iinfo(dtype)
        elements = st.integers(int(info.min), int(info.max))
    x = draw(hnp.arrays(dtype, n, elements=elements))
    p = draw(st.integers(-4, 4))
    q = draw(st.integers(-4, 4))
    backend = draw(st.sampled_from(["auto", "cpu"]))
    n_jobs = draw(st.sampled_from([-1, 1, 2]))
    return dtype, name, x, p, q, backend, n_jobs


@settings(max_examples=400, deadline=None)
@given(cases())
def test_ops_match_numpy(case):
    dtype, name, x, p, q, backend, n_jobs = case
    op, ref = make_op(name, dtype, p, q)
    before = x.copy()
    with np.errstate(all="ignore"):
        want = np.asarray(ref(x), dtype=dtype)
    got = parmap.map(op, x, backend=backend, n_jobs=n_jobs)
    np.testing.assert_array_equal(x, before)  # the input is never written
    assert got.dtype == x.dtype and got.shape == x.shape
    if name in FLOAT_ONLY or (name == "pow" and np.dtype(dtype).kind == "f"):
        # libm against NumPy's own kernels: a few units in the last place apart.
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        finite = ~np.isnan(want)
        np.testing.assert_array_max_ulp(got[finite], want[finite], maxulp=4)
    else:
        np.testing.assert_array_equal(got, want)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_inplace_equals_out_of_place(case):
    dtype, name, x, p, q, backend, n_jobs = case
    op, _ = make_op(name, dtype, p, q)
    want = parmap.map(op, x, backend="cpu", n_jobs=1)
    y = x.copy()
    parmap.map_inplace(op, y, backend=backend, n_jobs=n_jobs)
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_extremes_wrap(dtype):
    info = np.iinfo(dtype)
    x = np.array([info.min, info.max, -1, 0, 1], dtype=dtype)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(parmap.map(ops.square, x), x * x)
        np.testing.assert_array_equal(parmap.map(ops.negate, x), -x)
        np.testing.assert_array_equal(parmap.map(ops.abs, x), np.abs(x))
