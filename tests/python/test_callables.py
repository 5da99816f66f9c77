"""Python callables on parmap's worker threads: order, errors, waits, the GIL, Ctrl-C."""
import os
import signal
import threading
import time
import _thread

import pytest

import parmap

from conftest import BusyThreads, InFlight


def test_results_in_input_order():
    assert parmap.map(lambda v: v * v, range(1000)) == [v * v for v in range(1000)]
    assert parmap.map(str, (1, 2, 3)) == ["1", "2", "3"]
    assert parmap.map(len, iter(["a", "bb"])) == [1, 2]
    assert parmap.map(abs, []) == []


def test_report_for_callables():
    r = parmap.Report()
    parmap.map(abs, [-1, -2, -3], report=r)
    assert r.used == "cpu" and r.n == 3 and "workers" in r.reason


def test_error_has_index_and_cause_and_stops_the_rest():
    started = []

    def f(i):
        started.append(i)
        if i == 5:
            raise KeyError("five")
        return i

    with pytest.raises(parmap.TaskError) as info:
        parmap.map(f, range(100), n_jobs=1)
    assert info.value.index == 5
    assert isinstance(info.value.__cause__, KeyError)
    assert "index 5" in str(info.value) and "KeyError" in str(info.value)
    assert sorted(started) == list(range(6))  # nothing above the failure started


def test_lowest_failing_index_is_reported():
    def f(i):
        time.sleep(0.001 * (20 - i % 20))
        if i % 7 == 3:
            raise ValueError(i)
        return i

    with pytest.raises(parmap.TaskError) as info:
        parmap.map(f, range(60))
    assert info.value.index == 3 and info.value.__cause__.args == (3,)


def test_sleeping_callables_overlap():
    # Not marked: the loop sees its workers asleep and adds more.
    t0 = time.perf_counter()
    r = parmap.map(lambda v: time.sleep(0.2) or v, range(8))
    elapsed = time.perf_counter() - t0
    assert r == list(range(8))
    assert elapsed < 0.8, elapsed  # 8 x 0.2 s serially; 0.8 s on 2 threads without growth


def test_blocking_marker_starts_all_calls_at_once():
    @parmap.blocking
    def slow_square(a):
        time.sleep(0.3)
        return a * a

    t0 = time.perf_counter()
    assert parmap.map(slow_square, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]) == [0.0, 1.0, 4.0, 9.0, 16.0, 25.0]
    assert time.perf_counter() - t0 < 0.55


def test_cpu_bound_callables_do_not_grow_the_workers():
    # Under the GIL, workers waiting for it are not blocked: no thread beyond the cores.
    busy = BusyThreads()
    assert parmap.map(busy, range(80)) == list(range(80))
    assert 1 <= len(busy.seen) <= os.cpu_count(), (len(busy.seen), os.cpu_count())


def test_n_jobs_bounds_calls_in_flight():
    f = InFlight()
    parmap.map(f, range(30), n_jobs=3)
    assert f.peak <= 3


def test_ctrl_c_cancels_promptly():
    started = []

    def f(i):
        started.append(i)
        if i == 3:  # Ctrl-C from inside the map
            _thread.interrupt_main()
        time.sleep(0.1)
        return i

    # A process started in the background by a shell inherits SIGINT ignored,
    # and Python then raises nothing for it: install Python's own handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        t0 = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            parmap.map(f, range(200), n_jobs=2)
        elapsed = time.perf_counter() - t0
    finally:
        signal.signal(signal.SIGINT, previous)
    # 200 x 0.1 s on 2 workers would take 10 s.
    assert elapsed < 1.0, (elapsed, len(started))
    assert len(started) < 200


def test_delayed_and_parallel():
    def power(a, b=2):
        return a ** b

    tasks = [parmap.delayed(power, a, b=3) for a in range(5)]
    assert parmap.parallel(tasks) == [0, 1, 8, 27, 64]
    assert parmap.parallel([], n_jobs=2) == []
    with pytest.raises(parmap.TaskError) as info:
        parmap.parallel([parmap.delayed(power, 1), parmap.delayed(power, "x")])
    assert info.value.index == 1 and isinstance(info.value.__cause__, TypeError)


def test_nested_maps_run_serially_inside_workers():
    r = parmap.map(lambda v: sum(parmap.map(lambda w: w * v, range(4))), range(6))
    assert r == [6 * v for v in range(6)]


def test_scoped_backend_applies_to_callables():
    with parmap.scoped_backend("gpu"):
        with pytest.raises(parmap.BackendUnavailable):
            parmap.map(abs, [1])
    assert parmap.map(abs, [-1]) == [1]


def test_many_python_threads_calling_at_once():
    # Several Python threads mixing numeric maps (GIL released), callables and tasks.
    import numpy as np

    errors = []

    def worker(k):
        try:
            rng = np.random.default_rng(k)
            for i in range(30):
                n = int(rng.integers(0, 70000))
                x = rng.standard_normal(n).astype(np.float32)
                np.testing.assert_array_equal(parmap.map(parmap.ops.square, x), x * x)
                assert parmap.map(lambda v: v + k, range(i)) == [v + k for v in range(i)]
                tasks = [parmap.delayed(pow, v, 2) for v in range(i % 5)]
                assert parmap.parallel(tasks, n_jobs=2) == [v * v for v in range(i % 5)]
        except BaseException as e:  # reported below, with the thread's number
            errors.append((k, e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
