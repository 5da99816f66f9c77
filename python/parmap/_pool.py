"""The worker threads behind the joblib backend (parmap.joblib).

Pool(start, cap, feed) starts `start` daemon threads that run queued jobs (callables of no
arguments) in order of submission. While every worker is busy, a monitor looks every 10 ms
and, when the C++ task loop's growth monitor (_core.GrowthMonitor, for GIL-serialised
callables) says the workers wait (sleep, I/O) rather than compute, doubles the workers up to `cap`, first asking `feed(k)` for
k more jobs when fewer than that are queued.

shutdown() never waits for a running job: queued jobs are dropped and each worker exits when
its job returns. The threads are daemons, as joblib's "threading" backend's are, so a job that
never returns cannot hold up the caller or the interpreter's exit.
"""
import collections
import threading
import time

from . import _core

__all__ = ["Pool"]

_TICK = 0.01  # seconds between the monitor's looks at busy workers


class _Worker:
    __slots__ = ("busy", "tid")

    def __init__(self):
        self.tid = 0  # the kernel's thread id, once the thread runs
        self.busy = False


class Pool:
    """Daemon worker threads that grow while their jobs wait; see the module's docstring."""

    def __init__(self, start, cap, feed=None):
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # a job is queued, or stopping
        self._saturated = threading.Condition(self._lock)  # every worker busy, or stopping
        self._queue = collections.deque()
        self._workers = []
        self._threads = []
        self._cap = max(1, cap)
        self._feed = feed
        self._stopping = False
        with self._lock:
            self._spawn(max(1, min(start, self._cap)))
        if self._cap > len(self._workers):
            monitor = threading.Thread(target=self._watch, name="parmap-pool-monitor", daemon=True)
            monitor.start()
            self._threads.append(monitor)

    @property
    def workers(self):
        """Threads started so far."""
        with self._lock:
            return len(self._workers)

    @property
    def stopped(self):
        """Whether shutdown() was called."""
        return self._stopping

    def submit(self, job):
        """Queues a callable of no arguments; it must not raise."""
        with self._lock:
            if self._stopping:
                raise RuntimeError("parmap pool: submit after shutdown")
            self._queue.append(job)
            self._work.notify()

    def shutdown(self):
        """Drops the queued jobs and stops the workers as their running jobs return; no wait."""
        with self._lock:
            self._stopping = True
            self._queue.clear()
            self._work.notify_all()
            self._saturated.notify_all()

    def join(self, timeout=None):
        """Waits up to `timeout` seconds (None: for ever) for every thread to exit after
        shutdown(); returns whether they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in list(self._threads):
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def _spawn(self, k):  # lock held
        for _ in range(k):
            if len(self._workers) >= self._cap:
                return
            w = _Worker()
            t = threading.Thread(target=self._run, args=(w,), daemon=True,
                                 name=f"parmap-pool-{len(self._workers)}")
            try:
                t.start()
            except RuntimeError:  # out of threads: carry on with those there are
                return
            self._workers.append(w)
            self._threads.append(t)

    def _run(self, w):
        w.tid = threading.get_native_id()
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._work.wait()
                if not self._queue:
                    return
                job = self._queue.popleft()
                w.busy = True
                if self._may_grow():
                    self._saturated.notify()
            try:
                job()
            finally:
                w.busy = False

    def _watch(self):
        monitor = _core.GrowthMonitor()  # the C++ task loop's, for GIL-serialised workers
        while True:
            with self._lock:
                while not self._stopping and not self._may_grow():
                    self._saturated.wait()
                if self._stopping:
                    return
            monitor.restart()
            time.sleep(_TICK)
            period = monitor.end_period()
            with self._lock:
                if self._stopping:
                    return
                if not self._may_grow():
                    continue
                tids = [w.tid for w in self._workers]
            asleep = _core.threads_waiting(tids)  # with the GIL released a moment, not under our lock
            with self._lock:
                if self._stopping or not self._may_grow() or len(self._workers) != len(tids):
                    continue
                if not monitor.waiting(period, len(tids), asleep):
                    continue
                want = min(len(self._workers), self._cap - len(self._workers))
                missing = want - len(self._queue)
            if missing > 0 and self._feed is not None:
                self._feed(missing)  # takes the caller's locks: never under ours
            with self._lock:
                if not self._stopping:
                    self._spawn(min(want, len(self._queue)))

    def _may_grow(self):  # lock held
        return len(self._workers) < self._cap and all(w.busy for w in self._workers)
