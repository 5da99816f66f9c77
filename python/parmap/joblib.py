"""A joblib parallel backend named "parmap"; importing this module registers it.

    import parmap.joblib
    from joblib import Parallel, delayed, parallel_backend
    with parallel_backend("parmap", n_jobs=-1):
        Parallel()(delayed(slow_square)(a) for a in np.linspace(0, 10, 4))   # ~1.0 s

Jobs run on parmap's worker threads in this process (no pickling, shared memory, like
joblib's "threading" backend), with parmap's rule for calls that wait:

- n_jobs >= 2 runs exactly that many workers; n_jobs = -1 (or -2, ...) starts one worker per
  core (all but one, ...; "all cores" honours OMP_NUM_THREADS, as parmap's C++ does) and adds
  workers while the busy ones sit waiting (sleep, I/O), up to PARMAP_MAX_BLOCKING (64),
  pulling more jobs from Parallel's input for them. Workers waiting for the GIL do not count
  as waiting, so CPU-bound Python jobs never grow the pool.
- n_jobs = None means the backend's default, -1; n_jobs that comes to one worker (1, or -2 on
  two cores) runs sequentially, as joblib does. effective_n_jobs() says how many start.
- Nested Parallel calls inside a job run sequentially, as parmap's nested maps do (joblib's
  own backends give the first nesting level threads).
- A job's error is raised by Parallel with the job's traceback attached (as __cause__, as
  joblib's backends do). An error, a timeout, Ctrl-C or a dropped generator returns at once:
  the jobs still running finish in the background and their results are dropped.
"""
import traceback
from concurrent.futures import Future

from joblib import register_parallel_backend
from joblib._parallel_backends import FallbackToBackend, ParallelBackendBase, SequentialBackend

from . import _core
from ._pool import Pool

__all__ = ["ParmapBackend", "register"]


class _JobTraceback(Exception):
    """The traceback of a job's exception, as text, attached as that exception's __cause__."""

    def __str__(self):
        return self.args[0]


def _keep_traceback(e):
    """Attaches e's traceback as text: joblib drops the traceback object itself (it holds
    references to the call)."""
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    e.__cause__ = _JobTraceback(f'\n"""\n{text}"""')


class ParmapBackend(ParallelBackendBase):
    """joblib backend running jobs on a parmap worker pool (parmap._pool.Pool)."""

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
        self._start = self._cap = 1
        self._terminated = False
        self.parallel = None

    def effective_n_jobs(self, n_jobs):
        """Workers running at once at the start: n_jobs, or cores + 1 + n_jobs for n_jobs < 0
        (None: the default, -1)."""
        if n_jobs is None:
            n_jobs = self.default_n_jobs
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        if not isinstance(n_jobs, int):
            raise ValueError(f"n_jobs must be an integer, got {n_jobs!r}")
        if n_jobs < 0:
            return max(_core.all_cores() + 1 + n_jobs, 1)
        return n_jobs

    def configure(self, n_jobs=1, parallel=None, **backend_kwargs):
        """Returns the workers that start (joblib sizes its batches and read-ahead by it)."""
        start = self.effective_n_jobs(n_jobs)
        if start == 1:
            raise FallbackToBackend(SequentialBackend(nesting_level=self.nesting_level))
        grows = n_jobs is None or n_jobs < 0
        self.parallel = parallel
        self._terminated = False
        self._start = start
        self._cap = max(start, _core.max_blocking()) if grows else start
        return start

    def _get_pool(self):
        if self._pool is None:
            self._pool = Pool(self._start, self._cap, feed=self._feed)
        return self._pool

    def _feed(self, k):
        """More jobs for workers the pool added: up to k batches more from Parallel's input,
        as joblib's own completion callbacks dispatch them (called by the pool's monitor)."""
        parallel = self.parallel
        for _ in range(k):
            if parallel is None or getattr(parallel, "_original_iterator", None) is None:
                return
            parallel.dispatch_next()

    def submit(self, func, callback=None):
        future = Future()
        if callback is not None:
            future.add_done_callback(callback)
        if self._terminated:  # a completion callback dispatching after an abort: nothing runs
            future.cancel()
            return future
        pool = self._get_pool()

        def job():
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = func()
            except BaseException as e:  # noqa: B036 - reported through the future
                _keep_traceback(e)
                outcome = future.set_exception, e
            else:
                outcome = future.set_result, result
            if not pool.stopped:  # after an abort, nobody wants it
                outcome[0](outcome[1])

        pool.submit(job)
        return future

    def retrieve_result_callback(self, future):
        return future.result()

    def retrieve_result(self, out, timeout=None):
        return out.result(timeout=timeout)

    def get_nested_backend(self):
        nesting_level = (self.nesting_level or 0) + 1
        return SequentialBackend(nesting_level=nesting_level), None

    def terminate(self):
        """Stops the workers without waiting for jobs still running (their results are dropped)."""
        pool, self._pool = self._pool, None
        self._terminated = True
        if pool is not None:
            pool.shutdown()

    def abort_everything(self, ensure_ready=True):
        self.terminate()
        if ensure_ready and self.parallel is not None:
            self.configure(n_jobs=self.parallel.n_jobs, parallel=self.parallel)


def register():
    """Registers the backend under the name "parmap" (done on import)."""
    register_parallel_backend("parmap", ParmapBackend)


register()
