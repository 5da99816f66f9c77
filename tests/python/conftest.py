"""Shared fixtures of parmap's pytest suite (run after `pip install .`)."""
import threading
import time

import numpy as np
import pytest

import parmap

DTYPES = [np.float32, np.float64, np.int32, np.int64]


@pytest.fixture(params=DTYPES, ids=lambda t: np.dtype(t).name)
def dtype(request):
    return request.param


no_gpu = pytest.mark.skipif(parmap.gpu_available(), reason="needs a machine without a usable GPU")


class InFlight:
    """A callable that sleeps 20 ms and records the most calls in flight at once (.peak)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._live = 0
        self.peak = 0

    def __call__(self, i):
        with self._lock:
            self._live += 1
            self.peak = max(self.peak, self._live)
        time.sleep(0.02)
        with self._lock:
            self._live -= 1
        return i


class BusyThreads:
    """A CPU-bound callable (5 ms busy loop) recording the threads that ran it (.seen)."""

    def __init__(self):
        self.seen = set()

    def __call__(self, i):
        self.seen.add(threading.get_ident())
        t = time.perf_counter()
        while time.perf_counter() - t < 0.005:
            pass
        return i
