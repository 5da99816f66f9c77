"""A joblib parallel backend named "parmap"; importing this module registers it.

    import parmap.joblib
    from joblib import Parallel, delayed, parallel_backend
    with parallel_backend("parmap", n_jobs=-1):
        Parallel()(delayed(slow_square)(a) for a in np.linspace(0, 10, 4))   # ~1.0 s

Jobs run on parmap's worker threads in this process (no pickling, shared
memory, like joblib's "threading" backend), with parmap's rule for calls that
wait: n_jobs >= 1 runs exactly that many workers; n_jobs = -1 (or -2, ...)
starts one worker per core (all but one, ...) and adds workers while the busy
ones sit waiting (sleep, I/O) and jobs are queued, up to PARMAP_MAX_BLOCKING
(64). Workers waiting for the GIL do not count as waiting, so CPU-bound
Python jobs never grow the pool. Nested Parallel calls inside a job run
sequentially, as parmap's nested maps do. Errors are raised by Parallel as
for joblib's own backends: the job's original exception, with the remaining
jobs cancelled.
"""
import os
from concurrent.futures import Future

from joblib import register_parallel_backend
from joblib._parallel_backends import ParallelBackendBase, SequentialBackend

from . import _core

__all__ = ["ParmapBackend", "register"]


class ParmapBackend(ParallelBackendBase):
    """joblib backend running jobs on a parmap._core.Pool."""

    supports_retrieve_callback = True
    supports_return_generator = True
    supports_timeout = True
    uses_threads = True
    supports_sharedmem = True
    default_n_jobs = -1

    def __init__(self, nesting_level=None, inner_max_num_threads=None, **kwargs):
        super().__init__(
            nesting_level=nesting_level, inner_max_num_threads=inner_max_num_threads, **kwargs
        )
        self._pool = None
        self._futures = set()
        self.parallel = None

    def effective_n_jobs(self, n_jobs):
        """Workers running at once at the start: n_jobs, or cores + 1 + n_jobs for n_jobs < 0."""
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        if n_jobs is None:
            return 1
        if not isinstance(n_jobs, int):
            raise ValueError(f"n_jobs must be an integer, got {n_jobs!r}")
        if n_jobs < 0:
            return max(os.cpu_count() + 1 + n_jobs, 1)
        return n_jobs

    def _limits(self, n_jobs):
        start = self.effective_n_jobs(n_jobs)
        if n_jobs is not None and n_jobs < 0:
            return start, max(start, _core.worker_limits(-1)[1])
        return start, start

    def configure(self, n_jobs=1, parallel=None, **backend_kwargs):
        """Returns the most jobs joblib should keep queued: the pool's cap, so
        that workers added for waiting jobs find work."""
        start, cap = self._limits(n_jobs)
        if cap == 1:
            raise _fallback(self.nesting_level)
        self.parallel = parallel
        self._start, self._cap = start, cap
        return cap

    def _get_pool(self):
        if self._pool is None:
            self._pool = _core.Pool(self._start, self._cap)
        return self._pool

    def submit(self, func, callback=None):
        future = Future()
        self._futures.add(future)

        def job():
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = func()
            except BaseException as e:  # noqa: B036 - reported through the future
                future.set_exception(e)
            else:
                future.set_result(result)

        if callback is not None:
            future.add_done_callback(callback)
        future.add_done_callback(self._futures.discard)
        self._get_pool().submit(job)
        return future

    def retrieve_result_callback(self, future):
        return future.result()

    def retrieve_result(self, out, timeout=None):
        return out.result(timeout=timeout)

    def get_nested_backend(self):
        nesting_level = (self.nesting_level or 0) + 1
        return SequentialBackend(nesting_level=nesting_level), None

    def terminate(self):
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()

    def abort_everything(self, ensure_ready=True):
        pool, self._pool = self._pool, None
        for f in list(self._futures):
            f.cancel()
        if pool is not None:
            pool.cancel_pending()
            pool.shutdown()
        if ensure_ready and self.parallel is not None:
            self.configure(n_jobs=self.parallel.n_jobs, parallel=self.parallel)


def _fallback(nesting_level):
    from joblib._parallel_backends import FallbackToBackend

    return FallbackToBackend(SequentialBackend(nesting_level=nesting_level))


def register():
    """Registers the backend under the name "parmap" (done on import)."""
    register_parallel_backend("parmap", ParmapBackend)


register()
