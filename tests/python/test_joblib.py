"""The joblib backend "parmap": the seed notebook's cell, n_jobs, errors, aborts, nesting."""
import os
import subprocess
import sys
import threading
import time
import traceback

import numpy as np
import pytest

joblib = pytest.importorskip("joblib")
import parmap.joblib  # noqa: E402,F401 - registers the backend
from joblib import Parallel, delayed, effective_n_jobs, parallel_backend, parallel_config  # noqa: E402

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
    assert b.effective_n_jobs(-1) == parmap._core.all_cores()
    assert b.effective_n_jobs(None) == b.effective_n_jobs(-1)  # None: the default, -1
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


def test_all_cores_honours_omp_num_threads():
    code = "import parmap.joblib; print(parmap.joblib.ParmapBackend().effective_n_jobs(-1))"
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, OMP_NUM_THREADS="3"),
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "3"


def test_effective_n_jobs_is_what_runs():
    with parallel_config(backend="parmap"):
        told = effective_n_jobs(None)
        f = InFlight()
        Parallel()(delayed(f)(i) for i in range(4 * told))
    assert told == parmap._core.all_cores()
    assert f.peak >= min(told, 2)  # the workers it said, at least two of them at once


def test_a_job_that_comes_to_one_worker_runs_sequentially():
    seen = set()
    Parallel(backend="parmap", n_jobs=-parmap._core.all_cores())(
        delayed(lambda: seen.add(threading.get_ident()))() for _ in range(6))
    assert seen == {threading.get_ident()}  # cores + 1 - cores = 1 worker: no threads, as joblib


def test_read_ahead_follows_the_workers_that_start():
    consumed = []

    def tasks():
        for i in range(400):
            consumed.append(i)
            yield delayed(time.sleep)(0.005)

    out = Parallel(backend="parmap", n_jobs=2, return_as="generator")(tasks())
    next(out)
    assert len(consumed) <= 16, len(consumed)  # joblib's 2 * n_jobs ahead, not the growth cap's
    assert len(list(out)) == 399


def test_sleeping_jobs_grow_the_pool_inside_a_with_block_too():
    with Parallel(backend="parmap", n_jobs=-1) as p:
        t0 = time.perf_counter()
        assert len(p(delayed(time.sleep)(0.3) for _ in range(16))) == 16
        elapsed = time.perf_counter() - t0
    assert elapsed < 1.5, elapsed  # 16 x 0.3 s: 4.8 s on one worker, 2.4 s on two


def test_an_error_returns_without_waiting_for_running_jobs():
    release = threading.Event()

    def job(i):
        if i == 0:
            time.sleep(0.1)
            raise ValueError("boom")
        release.wait(30)  # waits for something only the caller would give
        return i

    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="boom"):
        Parallel(backend="parmap", n_jobs=2)(delayed(job)(i) for i in range(2))
    elapsed = time.perf_counter() - t0
    release.set()
    assert elapsed < 5, elapsed  # threading: 0.2 s; waiting for the other job would hang


def test_a_timeout_returns_without_waiting_for_running_jobs():
    t0 = time.perf_counter()
    with pytest.raises(Exception) as e:
        Parallel(backend="parmap", n_jobs=2, timeout=0.2)(delayed(time.sleep)(3) for _ in range(4))
    elapsed = time.perf_counter() - t0
    assert "Timeout" in type(e.value).__name__
    assert elapsed < 2, elapsed


def test_the_jobs_traceback_reaches_the_caller():
    def inner_frame(i):
        if i == 5:
            raise KeyError(i)
        return i

    def outer_frame(i):
        return inner_frame(i)

    with pytest.raises(KeyError) as e:
        Parallel(backend="parmap", n_jobs=2)(delayed(outer_frame)(i) for i in range(10))
    report = "".join(traceback.format_exception(e.type, e.value, e.tb))
    assert "outer_frame" in report and "inner_frame" in report, report


def test_batch_size_is_honoured_as_threading_honours_it(monkeypatch):
    from joblib._parallel_backends import ThreadingBackend

    batches = {}
    for name, cls in (("parmap", parmap.joblib.ParmapBackend), ("threading", ThreadingBackend)):
        def counted(self, func, callback=None, _submit=cls.submit, _name=name):
            batches[_name] = batches.get(_name, 0) + 1
            return _submit(self, func, callback)

        monkeypatch.setattr(cls, "submit", counted)
        out = Parallel(backend=name, n_jobs=2, batch_size=4)(delayed(abs)(-i) for i in range(64))
        assert out == list(range(64))
    assert batches["parmap"] == batches["threading"] <= 64 // 3, batches  # batches of 4 (smaller at the edges)


def test_a_gpu_forced_by_the_environment_leaves_the_backend_alone(monkeypatch):
    monkeypatch.setenv("PARMAP_BACKEND", "gpu")
    parmap.reload_environment()
    try:
        assert Parallel(backend="parmap", n_jobs=-1)(delayed(abs)(-i) for i in range(8)) == list(range(8))
    finally:
        monkeypatch.delenv("PARMAP_BACKEND")
        parmap.reload_environment()


def test_nothing_starts_after_terminate():
    b = parmap.joblib.ParmapBackend()
    b.configure(n_jobs=2)
    assert b.submit(lambda: 1).result(timeout=5) == 1
    b.terminate()
    before = threading.active_count()
    late = b.submit(lambda: 2)  # e.g. a completion callback dispatching after an abort
    assert late.cancelled()
    assert threading.active_count() <= before
    b.configure(n_jobs=2)  # configured again: usable again
    assert b.submit(lambda: 3).result(timeout=5) == 3
    b.terminate()
