#!/usr/bin/env python3
"""The seed notebook's code with parmap: the same cells, the backend renamed.

The notebook maps a slow `slow_square` (prints, sleeps 1 s, returns a*a) over
np.linspace(0, 10, 4) with joblib's "loky" backend. With parmap installed
(pip install .), the cell runs unchanged except for the backend's name, and
the four one-second calls overlap on parmap's threads: about 1.0 s, on any
number of cores. parmap.map does the same without joblib.

    python3 examples/seed_notebook.py
"""
import time

import numpy as np
from joblib import Parallel, delayed, parallel_backend

import parmap
import parmap.joblib  # noqa: F401 - registers the joblib backend "parmap"


def slow_square(a):
    print(f"squaring {a:g}...")
    time.sleep(1)
    squared_a = a ** 2
    print(f"{a:g} squared! result: {squared_a:g}")
    return squared_a


def main():
    t0 = time.perf_counter()
    with parallel_backend("parmap", n_jobs=-1):
        futures = [delayed(slow_square)(a) for a in np.linspace(0, 10, 4)]
        print(futures)
        result = Parallel()(futures)
    t_joblib = time.perf_counter() - t0
    print(result)
    print(f"joblib Parallel with the parmap backend: {t_joblib:.3f} s")

    t0 = time.perf_counter()
    report = parmap.Report()
    result2 = parmap.map(slow_square, np.linspace(0, 10, 4), report=report)
    t_map = time.perf_counter() - t0
    print(result2)
    print(f"parmap.map(slow_square, ...): {t_map:.3f} s ({report.reason})")

    expected = [0.0, 11.111111111111112, 44.44444444444445, 100.0]
    if result != expected or result2 != expected:
        raise SystemExit("seed_notebook.py: wrong results")


if __name__ == "__main__":
    main()
