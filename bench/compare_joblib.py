#!/usr/bin/env python3
"""The seed notebook's joblib code against parmap's C++ seed demo, same machine,
one run, side by side.

Runs the notebook's cell exactly (slow_square over np.linspace(0, 10, 4) with
`with parallel_backend("loky", n_jobs=-1): Parallel()(delayed(slow_square)(a) ...)`),
timed from the `with` to the result; the same cell with joblib's "threading"
backend and, when the Python package is installed (pip install .), with the
"parmap" backend and as parmap.map(slow_square, ...); then the C++ demo
examples/seed_slow_square. Prints the wall times and the ratios to loky.

    python3 bench/compare_joblib.py build/examples/seed_slow_square [--json out.json]
"""
import argparse
import contextlib
import io
import json
import re
import subprocess
import time

import numpy as np
from joblib import Parallel, delayed, parallel_backend


def slow_square(a):
    print(f"squaring {a:g}...")
    time.sleep(1)
    squared_a = a ** 2
    print(f"{a:g} squared! result: {squared_a:g}")
    return squared_a


def joblib_seconds(backend="loky"):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        t0 = time.perf_counter()
        with parallel_backend(backend, n_jobs=-1):
            futures = [delayed(slow_square)(a) for a in np.linspace(0, 10, 4)]
            result = Parallel()(futures)
        t = time.perf_counter() - t0
    return t, [float(x) for x in result]


def parmap_map_seconds(pm):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        t0 = time.perf_counter()
        result = pm.map(slow_square, np.linspace(0, 10, 4))
        t = time.perf_counter() - t0
    return t, [float(x) for x in result]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("demo", help="path to seed_slow_square")
    ap.add_argument("--json")
    args = ap.parse_args()
    t_joblib, result = joblib_seconds()
    t_threading, r_threading = joblib_seconds("threading")
    try:
        import parmap as pm
        import parmap.joblib  # noqa: F401 - registers the backend
    except ImportError:
        pm = None
    demo = subprocess.run([args.demo], check=True, capture_output=True, text=True).stdout
    m = re.search(r"seed: blocking ([0-9.]+) s .*unmarked tasks ([0-9.]+) s", demo)
    if not m:
        raise SystemExit("compare_joblib.py: could not read the demo's times")
    t_blocking, t_tasks = float(m.group(1)), float(m.group(2))
    doc = dict(joblib_s=t_joblib, joblib_threading_s=t_threading, parmap_blocking_s=t_blocking,
               parmap_tasks_s=t_tasks, joblib_result=result)
    print(f"joblib loky (n_jobs=-1)                 : {t_joblib:6.3f} s  result {result}")
    print(f"joblib threading (n_jobs=-1)            : {t_threading:6.3f} s  ratio to loky {t_threading / t_joblib:.2f}")
    if pm is not None:
        t_backend, r_backend = joblib_seconds("parmap")
        t_map, r_map = parmap_map_seconds(pm)
        if r_backend != result or r_map != result:
            raise SystemExit("compare_joblib.py: parmap gave other results than joblib")
        doc.update(python_joblib_parmap_s=t_backend, python_parmap_map_s=t_map)
        print(f"joblib, backend \"parmap\" (Python)       : {t_backend:6.3f} s  ratio to loky {t_backend / t_joblib:.2f}")
        print(f"parmap.map(slow_square, ...) (Python)   : {t_map:6.3f} s  ratio to loky {t_map / t_joblib:.2f}")
    else:
        print("(the Python package is not installed: pip install . to time it)")
    print(f"C++ parmap map(blocking(slow_square))   : {t_blocking:6.3f} s  ratio to loky {t_blocking / t_joblib:.2f}")
    print(f"C++ parmap delayed/parallel, unmarked   : {t_tasks:6.3f} s  ratio to loky {t_tasks / t_joblib:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
