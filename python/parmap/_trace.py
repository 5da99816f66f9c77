"""@parmap.elementwise: a Python function over one number, traced once per
input dtype into a program that parmap runs in C++ (the CPU's block-wise
interpreter on its OpenMP threads, or the GPU's Thrust functor), with the
GIL released.

    @parmap.elementwise
    def f(a):
        return a * a + 2 * a + 1

    y = f(x)                       # x: a NumPy array (CuPy, torch: same kind back)
    parmap.map(f, x, out=y)        # into y
    f(3.0)                         # a scalar: the Python function itself

Tracing calls f once per dtype with a symbol that records what f does with
it: + - * / // % (NumPy's floor rules), unary -, ** with a constant
exponent, comparisons, parmap.where / np.where, abs / min / max, NumPy
ufuncs (np.exp, np.sqrt, np.minimum, ...), and parmap.ops called on it.
Types follow NumPy 2 (NEP 50: Python scalars are weak), because NumPy itself
resolves every step's dtypes; the results are NumPy's for the same function
(bit for bit for arithmetic, within a few ulp for transcendental functions).

What cannot be traced raises TypeError at the first call, saying what to
write instead: a Python `if` on the value (use parmap.where), math.exp or
float() on it (use np.exp), an unsupported ufunc.
"""
import builtins
import functools
import sys
import threading
import types

import numpy as np

from . import _core

_INPUT_DTYPES = tuple(np.dtype(t) for t in ("float32", "float64", "int32", "int64"))
_VALUE_DTYPES = frozenset(np.dtype(t) for t in ("bool", "int32", "int64", "uint32", "uint64", "float32", "float64"))

_BRANCH = (
    "parmap.elementwise: f branches on a traced value (a Python if/while, and/or/not, a chained "
    "comparison such as 0 < a < 1, or min/max over more than two values); the program cannot follow "
    "a branch on a value it does not know yet: use parmap.where(c, a, b) for if/else"
)
_NUMBER = (
    "parmap.elementwise: f needs a plain number here (math.exp, float(), int(), a list index, ...); "
    "use NumPy's functions on the traced value (np.exp(a)) or parmap.ops"
)

_BINARY = {
    np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div",
    np.floor_divide: "floordiv", np.remainder: "floormod", np.minimum: "minimum",
    np.maximum: "maximum", np.less: "lt", np.less_equal: "le", np.greater: "gt",
    np.greater_equal: "ge", np.equal: "eq", np.not_equal: "ne",
}
_UNARY = {
    np.negative: "neg", np.absolute: "abs", np.sqrt: "sqrt", np.exp: "exp", np.log: "log",
    np.sin: "sin", np.cos: "cos", np.tanh: "tanh",
}


def _dtype_of(v):
    """A step's operand for ufunc.resolve_dtypes: a dtype, or a Python
    scalar type (NEP 50: weak)."""
    if isinstance(v, Sym):
        return v.dtype
    if isinstance(v, (np.generic, np.ndarray)) and np.ndim(v) == 0:  # before float: np.float64 is one
        return v.dtype
    if isinstance(v, bool):  # not weak: the lowest type anyway
        return np.dtype(bool)
    if isinstance(v, (int, float)):
        return type(v)
    raise TypeError(f"parmap.elementwise: cannot trace an operation with {type(v).__name__} {v!r}")


class Sym:
    """The traced argument of an @parmap.elementwise function (and every
    value computed from it): a register of the program being recorded."""

    __slots__ = ("_b", "_id", "dtype")
    __array_priority__ = 1000

    def __init__(self, builder, ident, dtype):
        self._b = builder
        self._id = ident
        self.dtype = np.dtype(dtype)

    # ---- what cannot be traced
    def __bool__(self):
        raise TypeError(_BRANCH)

    def __float__(self):
        raise TypeError(_NUMBER)

    __int__ = __index__ = __complex__ = __float__

    def __array__(self, *args, **kwargs):
        raise TypeError(_NUMBER)

    def __iter__(self):
        raise TypeError("parmap.elementwise: a traced value is one number; it cannot be iterated")

    def __len__(self):
        raise TypeError("parmap.elementwise: a traced value is one number; it has no len()")

    __hash__ = None

    def __repr__(self):
        return f"<traced {self.dtype} {self._b.text(self._id)}>"

    # ---- arithmetic
    def __add__(self, o): return _binary(np.add, self, o)
    def __radd__(self, o): return _binary(np.add, o, self)
    def __sub__(self, o): return _binary(np.subtract, self, o)
    def __rsub__(self, o): return _binary(np.subtract, o, self)
    def __mul__(self, o): return _binary(np.multiply, self, o)
    def __rmul__(self, o): return _binary(np.multiply, o, self)
    def __truediv__(self, o): return _binary(np.true_divide, self, o)
    def __rtruediv__(self, o): return _binary(np.true_divide, o, self)
    def __floordiv__(self, o): return _binary(np.floor_divide, self, o)
    def __rfloordiv__(self, o): return _binary(np.floor_divide, o, self)
    def __mod__(self, o): return _binary(np.remainder, self, o)
    def __rmod__(self, o): return _binary(np.remainder, o, self)
    def __pow__(self, o): return _power(self, o)
    def __rpow__(self, o): return _power(o, self)
    def __neg__(self): return _unary(np.negative, self)
    def __pos__(self): return self
    def __abs__(self): return _unary(np.absolute, self)
    def __lt__(self, o): return _binary(np.less, self, o)
    def __le__(self, o): return _binary(np.less_equal, self, o)
    def __gt__(self, o): return _binary(np.greater, self, o)
    def __ge__(self, o): return _binary(np.greater_equal, self, o)
    def __eq__(self, o): return _binary(np.equal, self, o)
    def __ne__(self, o): return _binary(np.not_equal, self, o)

    # ---- NumPy's functions on the traced value
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise TypeError(f"parmap.elementwise: np.{ufunc.__name__}.{method} with {sorted(kwargs)} cannot be traced")
        if ufunc in _BINARY and len(inputs) == 2:
            return _binary(ufunc, *inputs)
        if ufunc in _UNARY and len(inputs) == 1:
            return _unary(ufunc, inputs[0])
        if ufunc is np.square:
            return _square(inputs[0])
        if ufunc is np.power:
            return _power(*inputs)
        if ufunc is np.positive:
            return inputs[0]
        supported = sorted({u.__name__ for u in (*_BINARY, *_UNARY, np.square, np.power, np.positive)})
        raise TypeError(
            f"parmap.elementwise: np.{ufunc.__name__} is not supported in a traced function; "
            f"supported: {', '.join(supported)} (and parmap.ops)"
        )

    def __array_function__(self, func, types_, args, kwargs):
        if func is np.where and len(args) == 3 and not kwargs:
            return where(*args)
        raise TypeError(f"parmap.elementwise: np.{func.__name__} cannot be traced (np.where can)")

    def _apply(self, op):
        """parmap.ops.<op>(this value)."""
        return Sym(self._b, self._b.apply(op, self._id), self.dtype)


def _builder(*values):
    for v in values:
        if isinstance(v, Sym):
            return v._b
    raise AssertionError("no traced operand")


def _lift(b, v, dtype, unsafe=False):
    """v as a register of `dtype`: a traced value converted, a constant cast
    as NumPy's ufuncs cast it (a Python int out of range raises
    OverflowError, as NumPy 2 does), or with `unsafe`, as np.where does (it
    wraps)."""
    if isinstance(v, Sym):
        if v._b is not b:
            raise TypeError("parmap.elementwise: a traced value from another trace (kept from an earlier call?)")
        return b.convert(v._id, dtype.name)
    weak = isinstance(v, (bool, int, float)) and not isinstance(v, np.generic)
    c = np.array(v, dtype=dtype) if weak and not unsafe else np.asarray(v).astype(dtype)
    return b.constant(dtype.name, c.item())


def _loop(ufunc, *operands):
    try:
        return ufunc.resolve_dtypes((*(_dtype_of(v) for v in operands), None))
    except (TypeError, np.exceptions.DTypePromotionError) as e:
        raise TypeError(f"parmap.elementwise: np.{ufunc.__name__} on {', '.join(str(_dtype_of(v)) for v in operands)}: {e}") from None


def _binary(ufunc, a, b):
    if not isinstance(a, Sym) and not isinstance(b, Sym):
        return ufunc(a, b)
    in1, in2, out = _loop(ufunc, a, b)
    if in1 != in2:
        raise TypeError(f"parmap.elementwise: np.{ufunc.__name__} of {in1} and {in2} is not supported")
    bld = _builder(a, b)
    r = bld.binary(_BINARY[ufunc], _lift(bld, a, in1), _lift(bld, b, in2))
    return Sym(bld, r, out)


def _unary(ufunc, a):
    if not isinstance(a, Sym):
        return ufunc(a)
    t, out = _loop(ufunc, a)
    if t == np.bool_ and ufunc is np.absolute:
        return a
    r = a._b.unary(_UNARY[ufunc], _lift(a._b, a, t))
    return Sym(a._b, r, out)


def _square(a):
    """np.square: a * a in square's loop dtype (int8 for bool, which programs lack)."""
    if not isinstance(a, Sym):
        return np.square(a)
    t, out = _loop(np.square, a)
    x = _lift(a._b, a, t)
    return Sym(a._b, a._b.binary("mul", x, x), out)


def _power(a, k):
    """a ** k: a constant exponent (as NumPy's array ** scalar: 2 squares,
    0.5 is sqrt for floats); a traced exponent only on floats."""
    if not isinstance(a, Sym) and not isinstance(k, Sym):
        return a**k
    if isinstance(a, Sym) and not isinstance(k, Sym) and k == 2:
        return _square(a)  # NumPy's array ** 2 is np.square, in square's own dtypes
    t, t2, out = _loop(np.power, a, k)
    bld = _builder(a, k)
    if isinstance(a, Sym) and not isinstance(k, Sym):
        if t.kind == "f":
            if k == 0.5:
                return _unary(np.sqrt, a)
            if k == 1:
                return Sym(bld, _lift(bld, a, t), out)
        elif t.kind in "iu":
            e = int(np.asarray(k).astype(t))
            if e < 0:
                raise ValueError("Integers to negative integer powers are not allowed.")
            return _integer_power(Sym(bld, _lift(bld, a, t), t), e)
    if t.kind != "f" or t != t2:
        raise TypeError(f"parmap.elementwise: ** on {t} with a traced exponent is not supported (floats only)")
    return Sym(bld, bld.binary("pow", _lift(bld, a, t), _lift(bld, k, t)), out)


def _integer_power(x, e):
    """x ** e for a constant e >= 0 by squaring: wrapping multiplications,
    so the result is NumPy's (multiplication modulo 2^bits is associative)."""
    b = x._b
    r = b.constant(x.dtype.name, 1)
    base = x._id
    while e:
        if e & 1:
            r = b.binary("mul", r, base)
        e >>= 1
        if e:
            base = b.binary("mul", base, base)
    return Sym(b, r, x.dtype)


def where(c, a, b):
    """`a` where c is true, else `b`, element by element (np.where's rules:
    the result dtype is NumPy's for a and b). On plain values and arrays it
    is np.where; in an @parmap.elementwise function it is traced."""
    if not any(isinstance(v, Sym) for v in (c, a, b)):
        return np.where(c, a, b)
    t = np.result_type(*(v.dtype if isinstance(v, Sym) else v for v in (a, b)))
    if t not in _VALUE_DTYPES:
        raise TypeError(f"parmap.elementwise: dtype {t} is not supported in a traced function (where's result)")
    bld = _builder(c, a, b)
    if not isinstance(c, Sym):
        return Sym(bld, _lift(bld, a if c else b, t, unsafe=True), t)
    cond = bld.convert(c._id, "bool")
    return Sym(bld, bld.where(cond, _lift(bld, a, t, unsafe=True), _lift(bld, b, t, unsafe=True)), t)


def _min(*args, **kwargs):
    if len(args) == 2 and not kwargs and any(isinstance(v, Sym) for v in args):
        a, b = args
        return where(b < a, b, a)  # Python's min: b only when b < a
    return builtins.min(*args, **kwargs)


def _max(*args, **kwargs):
    if len(args) == 2 and not kwargs and any(isinstance(v, Sym) for v in args):
        a, b = args
        return where(b > a, b, a)
    return builtins.max(*args, **kwargs)


def _traceable(fn):
    """fn, seeing min and max that also take traced values (a copy of its
    globals whose builtins have them)."""
    code = getattr(fn, "__code__", None)
    if code is None or not ({"min", "max"} & set(code.co_names)):
        return fn
    g = dict(fn.__globals__)
    b = dict(vars(builtins))
    b["min"], b["max"] = _min, _max
    g["__builtins__"] = b
    f = types.FunctionType(code, g, fn.__name__, fn.__defaults__, fn.__closure__)
    f.__kwdefaults__ = getattr(fn, "__kwdefaults__", None)
    return f


def _library(x):
    return type(x).__module__.split(".")[0]


class Elementwise:
    """A function made by @parmap.elementwise. Called on an array, it maps
    the array through its traced program (see parmap.elementwise); on a
    scalar it is the function itself."""

    def __init__(self, fn):
        if isinstance(fn, Elementwise):
            fn = fn.__wrapped__
        if not callable(fn):
            raise TypeError(f"parmap.elementwise: {fn!r} is not callable")
        functools.update_wrapper(self, fn)
        self._programs = {}
        self._lock = threading.Lock()

    def program(self, dtype):
        """The traced program for input dtype `dtype` (traced on first use)."""
        dtype = np.dtype(dtype)
        p = self._programs.get(dtype)
        if p is None:
            with self._lock:
                p = self._programs.get(dtype)
                if p is None:
                    p = self._programs[dtype] = self._trace(dtype)
        return p

    def _trace(self, dtype):
        if dtype not in _INPUT_DTYPES:
            raise TypeError(
                f"parmap.elementwise: the input has dtype {dtype}; traced functions run on float32, "
                "float64, int32 and int64 arrays"
            )
        b = _core.ProgramBuilder(dtype.name)
        r = _traceable(self.__wrapped__)(Sym(b, 0, dtype))
        if not isinstance(r, Sym):
            raise TypeError(
                f"parmap.elementwise: {self.__name__} returned {type(r).__name__}, not a value computed "
                "from its argument"
            )
        return b.finish(r._id, r.dtype.name)

    def __call__(self, x, *args, **kwargs):
        if type(x) is np.ndarray and not args and not kwargs:  # the fast path: one dict lookup
            p = self._programs.get(x.dtype)
            return _core._map_program(p if p is not None else self.program(x.dtype), x, None, "auto", -1, False, None)
        if args or kwargs or isinstance(x, (Sym, bool, int, float, complex, np.generic)):
            return self.__wrapped__(x, *args, **kwargs)
        return self._map(x, None, "auto", -1, False, None, None)

    def _map(self, x, out, backend, n_jobs, progress, report, stream):
        if type(x) is np.ndarray:  # strided: copied by _map_program
            p = self._programs.get(x.dtype)
            return _core._map_program(p if p is not None else self.program(x.dtype), x, out, backend, n_jobs,
                                      progress, report)
        if hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray):
            from . import _arrays

            if x.__dlpack_device__()[0] in (_arrays._KDL_CUDA, _arrays._KDL_CUDA_MANAGED):
                _arrays._sync_producer(x, stream)
            if not _arrays._is_contiguous(x):
                x = _arrays._contiguous(x)
            p = self.program(np.dtype(str(x.dtype).replace("torch.", "")))
            if out is None:
                out = _empty_like(x, p.out_dtype)
            _arrays._check_writable(out)
            _arrays.call_dlpack(_core._map_program_dlpack, p, x, out, backend, n_jobs, progress, report)
            return out
        as_list = isinstance(x, (list, tuple))
        a = np.ascontiguousarray(x)
        if a.dtype == object:
            raise TypeError("parmap.elementwise: the input has dtype object; traced functions run on numeric arrays")
        if out is not None and not isinstance(out, np.ndarray):
            raise ValueError("out must be a NumPy array for a NumPy input")
        y = _core._map_program(self.program(a.dtype), a, out, backend, n_jobs, progress, report)
        return y.tolist() if as_list and out is None else y

    def __reduce__(self):
        # By reference when the module's attribute is this object (pickle
        # finds it there); else the function itself (cloudpickle, as used by
        # joblib's loky and dask, pickles lambdas and local functions).
        mod = sys.modules.get(getattr(self, "__module__", None) or "")
        obj = mod
        for part in getattr(self, "__qualname__", "").split("."):
            obj = getattr(obj, part, None)
        if obj is self:
            return self.__qualname__
        return (Elementwise, (self.__wrapped__,))

    def __repr__(self):
        return f"<parmap.elementwise {getattr(self, '__qualname__', self.__wrapped__)!s}>"


def _empty_like(x, dtype):
    lib = _library(x)
    if lib == "cupy":
        import cupy

        return cupy.empty(x.shape, dtype=dtype)
    if lib == "torch":
        import torch

        return torch.empty(x.shape, dtype=getattr(torch, dtype), device=x.device)
    return np.empty(x.shape, dtype=dtype)


def elementwise(fn):
    """Decorator (or plain function): traces fn, a function of one number,
    into a program that parmap runs on whole arrays in C++.

        @parmap.elementwise
        def f(a):
            return a * a + 2 * a + 1

        y = f(x)                  # or parmap.map(f, x, out=y, backend=..., n_jobs=...)

    fn may use + - * / // % ** (constant exponent), comparisons,
    parmap.where / np.where, abs / min / max, NumPy ufuncs and parmap.ops.
    The result has the dtype NumPy gives the same function (NEP 50), and
    NumPy's values. Raises TypeError at the first call with an array when fn
    cannot be traced (a Python if on the value: use parmap.where).
    """
    return Elementwise(fn)
