#!/usr/bin/env python3
"""parmap's CPU square against numpy on the same machine, same sizes, one run.

Runs parmap-bench (cpu path, f32 square; its copy ceiling too) and times
numpy's in-place np.square(x, out=y), the allocating x * x and, when the
Python package is installed (pip install .), parmap.map(parmap.ops.square, x,
out=y) from Python, interleaved with np.square on the same buffers (buffers
made and touched before timing; median of repetitions). Prints the figures
side by side with the ratios numpy time / parmap time (> 1: parmap is faster).

    python3 bench/compare_numpy.py build/bench/parmap-bench [--max-size 2^26]
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np


def median_time(f, reps, min_sample=1e-3):
    f()
    t0 = time.perf_counter()
    f()
    once = max(time.perf_counter() - t0, 1e-9)
    inner = max(1, min(100000, int(min_sample / once)))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        samples.append((time.perf_counter() - t0) / inner)
    samples.sort()
    return samples[len(samples) // 2]


def interleaved(fa, fb, reps, min_sample=1e-3):
    """Medians of fa and fb, timed alternately so that both see the same machine."""
    fa(), fb()
    t0 = time.perf_counter()
    fa()
    once = max(time.perf_counter() - t0, 1e-9)
    inner = max(1, min(100000, int(min_sample / once)))
    a, b = [], []
    for _ in range(reps):
        for f, acc in ((fa, a), (fb, b)):
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            acc.append((time.perf_counter() - t0) / inner)
    a.sort()
    b.sort()
    return a[len(a) // 2], b[len(b) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", help="path to parmap-bench")
    ap.add_argument("--min-size", default="2^4")
    ap.add_argument("--max-size", default="2^26")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--json", help="also write the comparison here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "p.json")
        subprocess.run([args.bench, "--min-size", args.min_size, "--max-size", args.max_size, "--reps",
                        str(args.reps), "--ops", "square", "--types", "f32", "--paths", "cpu", "--json", out],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            doc = json.load(f)
    cpp = {r["n"]: r["median_s"] for r in doc["results"] if r["path"] == "cpu"}
    copy = {r["n"]: r["median_s"] for r in doc["results"] if r["path"] == "cpu-copy"}
    try:
        import parmap as pm
    except ImportError:
        pm = None
        print("(the Python package is not installed: pip install . to time parmap from Python)")
    rows = []
    print(f"parmap cpu vs numpy {np.__version__}, square f32, {doc['machine']['cpu']}, "
          f"{doc['machine']['omp_threads']} threads")
    print(f"{'n':>11} {'copy ms':>9} {'C++ ms':>9} {'np.square(out) ms':>18} {'x*x ms':>9} "
          f"{'numpy/C++':>10} {'parmap.py ms':>13} {'numpy/py':>9}")
    for n in sorted(cpp):
        x = np.linspace(0.5, 1.5, n, dtype=np.float32)
        y = np.empty_like(x)
        y.fill(0)
        t_mul = median_time(lambda: x * x, args.reps)
        row = dict(n=n, parmap_s=cpp[n], copy_s=copy.get(n), numpy_mul_s=t_mul)
        if pm is not None:
            sq, m = pm.ops.square, pm.map
            t_sq, t_py = interleaved(lambda: np.square(x, out=y), lambda: m(sq, x, out=y), args.reps)
            row["parmap_python_s"] = t_py
            py = f"{t_py * 1e3:>13.4f} {t_sq / t_py:>9.2f}"
        else:
            t_sq = median_time(lambda: np.square(x, out=y), args.reps)
            py = ""
        row["numpy_square_out_s"] = t_sq
        rows.append(row)
        c = copy.get(n)
        print(f"{n:>11} {c * 1e3 if c else float('nan'):>9.4f} {cpp[n] * 1e3:>9.4f} {t_sq * 1e3:>18.4f} "
              f"{t_mul * 1e3:>9.4f} {t_sq / cpp[n]:>10.2f} {py}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=doc["machine"], numpy=np.__version__, rows=rows), f, indent=1)
    print("copy: parmap-bench's ceiling (reading x and writing y once, all threads); "
          "parmap.py: parmap.map(ops.square, x, out=y) from Python, timed alternately with np.square")


if __name__ == "__main__":
    main()
