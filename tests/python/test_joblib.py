"""The joblib backend "parmap": the seed notebook's cell, n_jobs, errors, nesting."""
import os
import threading
import time

import numpy as np
import pytest

joblib = pytest.importorskip("joblib")
import parmap.joblib  # noqa: E402,F401 - registers the backend
from joblib import Parallel, delayed, parallel_backend  # noqa: E402

from conftest import BusyThreads, InFlight  # noqa: E402


def slow_square(a):
    print(f"Calcul du carré de {a}")
    time.sleep(1)
    return a * a


def test_seed_notebook_cell():
    t0 = time.perf_counter()
    with parallel_backend("parmap", n_jobs=-1):
        results = Parallel()(delayed(slow_square)(a) for a in np.linspace(0, 10, 4))
    elapsed = time.perf_counter() - t0
    assert results == [0.0, 11.111111111111112, 44.44444444444445, 100.0]
    assert elapsed < 1.5, elapsed  # four 1 s sleeps overlap even on 2 cores (joblib's threads: 2 s)


def test_many_tasks_and_order():
    with parallel_backend("parmap", n_jobs=2):
        assert Parallel()(delayed(pow)(i, 2) for i in range(500)) == [i * i for i in range(500)]
    assert Parallel(backend="parmap", n_jobs=3)(delayed(abs)(-i) for i in range(10)) == list(range(10))


def test_generator_output():
    gen = Parallel(backend="parmap", n_jobs=2, return_as="generator")(
        delayed(pow)(i, 2) for i in range(20))
    assert list(gen) == [i * i for i in range(20)]


def test_n_jobs_semantics():
    f = InFlight()
    Parallel(backend="parmap", n_jobs=2)(delayed(f)(i) for i in range(20))
    assert f.peak <= 2
    b = parmap.joblib.ParmapBackend()
    assert b.effective_n_jobs(-1) == os.cpu_count()
    assert b.effective_n_jobs(3) == 3
    with pytest.raises(ValueError):
        b.effective_n_jobs(0)
    seen = set()
    Parallel(backend="parmap", n_jobs=1)(delayed(lambda: seen.add(threading.get_ident()))()
                                         for _ in range(3))
    assert seen == {threading.get_ident()}  # n_jobs=1: sequential, as joblib does


def test_cpu_bound_jobs_do_not_grow_the_pool():
    busy = BusyThreads()
    Parallel(backend="parmap", n_jobs=-1)(delayed(busy)(i) for i in range(100))
    assert len(busy.seen) <= os.cpu_count()


def test_errors_are_reported_as_joblib_does():
    def bad(i):
        if i == 3:
            raise ValueError("boom at 3")
        time.sleep(0.01)
        return i

    with pytest.raises(ValueError, match="boom at 3"):
        Parallel(backend="parmap", n_jobs=2)(delayed(bad)(i) for i in range(50))
    # The backend is usable again afterwards.
    assert Parallel(backend="parmap", n_jobs=2)(delayed(abs)(-1) for _ in range(3)) == [1, 1, 1]


def test_nested_parallel_runs_sequentially():
    def inner(i):
        return sum(Parallel(n_jobs=-1)(delayed(pow)(j, 2) for j in range(i)))

    r = Parallel(backend="parmap", n_jobs=2)(delayed(inner)(i) for i in range(6))
    assert r == [sum(j * j for j in range(i)) for i in range(6)]
