"""parmap.blocking and parmap.delayed: the C++ API's markers and deferred calls."""
import functools

__all__ = ["blocking", "delayed"]


class _Blocking:
    """A callable marked as blocking (see parmap.blocking)."""

    __parmap_blocking__ = True

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"parmap.blocking needs a callable, got {fn!r}")
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return f"parmap.blocking({self.fn!r})"


def blocking(fn):
    """Marks fn as waiting more than it computes (sleep, I/O, a remote call).

    Its maps start with as many calls in flight as n_jobs allows (up to
    PARMAP_MAX_BLOCKING, 64, for n_jobs=-1) instead of one per core and
    growing. Works as a decorator too.
    """
    return _Blocking(fn)


class _Delayed:
    """One deferred call f(*args, **kwargs), as joblib's delayed makes."""

    __slots__ = ("fn", "args", "kwargs", "__parmap_blocking__")

    def __init__(self, fn, args, kwargs):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.__parmap_blocking__ = bool(getattr(fn, "__parmap_blocking__", False))

    def __call__(self):
        return self.fn(*self.args, **self.kwargs)

    def __repr__(self):
        return f"parmap.delayed({self.fn!r}, *{self.args!r}, **{self.kwargs!r})"


def delayed(fn, *args, **kwargs):
    """Defers fn(*args, **kwargs) for parmap.parallel (the arguments are kept, not copied).

        tasks = [parmap.delayed(slow_square, a) for a in xs]
        results = parmap.parallel(tasks)
    """
    if not callable(fn):
        raise TypeError(f"parmap.delayed needs a callable, got {fn!r}")
    return _Delayed(fn, args, kwargs)
