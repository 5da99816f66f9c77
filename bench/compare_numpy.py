#!/usr/bin/env python3
"""parmap's CPU square against numpy on the same machine, same sizes, one run.

Runs parmap-bench (cpu path, f32 square) and times numpy's in-place
np.square(x, out=y) and the allocating x * x at the same sizes (buffers made
and touched before timing; median of repetitions). Prints the figures side by
side with the ratio numpy time / parmap time (> 1: parmap is faster).

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", help="path to parmap-bench")
    ap.add_argument("--min-size", default="2^10")
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
    parmap = {r["n"]: r["median_s"] for r in doc["results"] if r["path"] == "cpu"}
    rows = []
    print(f"parmap cpu vs numpy {np.__version__}, square f32, {doc['machine']['cpu']}, "
          f"{doc['machine']['omp_threads']} threads")
    print(f"{'n':>11} {'parmap ms':>10} {'np.square(out) ms':>18} {'x*x ms':>9} {'numpy/parmap':>13}")
    for n in sorted(parmap):
        x = np.linspace(0.5, 1.5, n, dtype=np.float32)
        y = np.empty_like(x)
        y.fill(0)
        t_sq = median_time(lambda: np.square(x, out=y), args.reps)
        t_mul = median_time(lambda: x * x, args.reps)
        rows.append(dict(n=n, parmap_s=parmap[n], numpy_square_out_s=t_sq, numpy_mul_s=t_mul))
        print(f"{n:>11} {parmap[n] * 1e3:>10.4f} {t_sq * 1e3:>18.4f} {t_mul * 1e3:>9.4f} {t_sq / parmap[n]:>13.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=doc["machine"], numpy=np.__version__, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
