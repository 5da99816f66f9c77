#!/usr/bin/env python3
"""The seed notebook's joblib code against parmap's C++ seed demo, same machine,
one run, side by side.

Runs the notebook's cell exactly (slow_square over np.linspace(0, 10, 4) with
`with parallel_backend("loky", n_jobs=-1): Parallel()(delayed(slow_square)(a) ...)`),
timed from the `with` to the result, then examples/seed_slow_square, and prints
both wall times and the ratio parmap / joblib (goal: <= 0.35).

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


def joblib_seconds():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        t0 = time.perf_counter()
        with parallel_backend("loky", n_jobs=-1):
            futures = [delayed(slow_square)(a) for a in np.linspace(0, 10, 4)]
            result = Parallel()(futures)
        t = time.perf_counter() - t0
    return t, [float(x) for x in result]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("demo", help="path to seed_slow_square")
    ap.add_argument("--json")
    args = ap.parse_args()
    t_joblib, result = joblib_seconds()
    demo = subprocess.run([args.demo], check=True, capture_output=True, text=True).stdout
    m = re.search(r"seed: blocking ([0-9.]+) s .*unmarked tasks ([0-9.]+) s", demo)
    if not m:
        raise SystemExit("compare_joblib.py: could not read the demo's times")
    t_blocking, t_tasks = float(m.group(1)), float(m.group(2))
    print(f"joblib loky (n_jobs=-1)                 : {t_joblib:6.3f} s  result {result}")
    print(f"parmap map(blocking(slow_square))       : {t_blocking:6.3f} s  ratio parmap/joblib {t_blocking / t_joblib:.2f}")
    print(f"parmap delayed/parallel, unmarked       : {t_tasks:6.3f} s  ratio parmap/joblib {t_tasks / t_joblib:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(joblib_s=t_joblib, parmap_blocking_s=t_blocking, parmap_tasks_s=t_tasks,
                           joblib_result=result), f, indent=1)


if __name__ == "__main__":
    main()
