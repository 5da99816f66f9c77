"""The joblib backend's worker pool (parmap._pool.Pool): growth by the task loop's rule, feeding,
and a shutdown that never waits for a running job."""
import threading
import time

from parmap._pool import Pool


def _sleeper(done, seconds=0.1):
    def job():
        time.sleep(seconds)
        done.release()
    return job


def _wait(done, k, timeout=30):
    for _ in range(k):
        assert done.acquire(timeout=timeout)


def test_jobs_that_sleep_grow_the_pool_up_to_its_cap():
    done = threading.Semaphore(0)
    pool = Pool(1, 8)
    for _ in range(32):
        pool.submit(_sleeper(done))
    _wait(done, 32)
    assert 4 <= pool.workers <= 8
    pool.shutdown()
    assert pool.join(10)


def test_jobs_that_compute_do_not_grow_it():
    done = threading.Semaphore(0)

    def busy():
        end = time.perf_counter() + 0.005
        while time.perf_counter() < end:
            pass
        done.release()

    pool = Pool(2, 16)
    for _ in range(60):
        pool.submit(busy)
    _wait(done, 60)
    assert pool.workers == 2  # the GIL serialises them: more threads would not compute more
    pool.shutdown()
    assert pool.join(10)


def test_added_workers_ask_for_more_jobs():
    done = threading.Semaphore(0)
    fed = []

    def feed(k):
        fed.append(k)
        for _ in range(k):
            pool.submit(_sleeper(done, 0.2))

    pool = Pool(1, 4, feed=feed)
    pool.submit(_sleeper(done, 0.5))  # one job, nothing queued: growth must ask for work
    _wait(done, 1)  # a first job returned
    assert fed and pool.workers > 1
    _wait(done, sum(fed))
    pool.shutdown()
    assert pool.join(10)


def test_shutdown_does_not_wait_and_drops_queued_jobs():
    release = threading.Event()
    started = threading.Event()
    ran = []

    def blocked():
        started.set()
        release.wait(30)

    pool = Pool(1, 1)
    pool.submit(blocked)
    pool.submit(lambda: ran.append(1))
    assert started.wait(10)
    t0 = time.perf_counter()
    pool.shutdown()
    assert time.perf_counter() - t0 < 0.5
    assert not pool.join(0.1)  # the running job still runs ...
    release.set()
    assert pool.join(10)  # ... and its worker exits once it returns
    assert ran == []  # the queued job never started
    assert pool.stopped
