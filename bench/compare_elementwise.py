#!/usr/bin/env python3
"""@parmap.elementwise against NumPy and numexpr on the same machine, one run.

For f(a) = a*a + 2*a + 1 on float32 (and exp(-a*a) at one size), at each n
from --min-size to --max-size: NumPy evaluating the same function, numexpr
(evaluate, with parmap's thread count), parmap.map(f, a, out=o), and the
all-core parallel copy bound (parmap.map(parmap.ops.scale(1.0), a, out=o):
one read, one write, the library's own memory-bound loop). Buffers are made
and touched before timing; each figure is the median of --reps samples,
the contenders timed alternately. Prints one row per n with the ratios
(> 1: parmap is faster; copy: parmap's time / the copy's, <= 1.25 is
0.8 x the bound).

    python3 bench/compare_elementwise.py [--min-size 2^10] [--max-size 2^26] [--reps 7]
"""
import argparse
import os
import time

import numpy as np

import parmap


def parse_size(s):
    if "^" in s:
        b, e = s.split("^")
        return int(b) ** int(e)
    return int(s)


def timed(fs, reps, min_sample=2e-3):
    """Median seconds per call of each f, sampled alternately."""
    inner = []
    for f in fs:
        f()
        t0 = time.perf_counter()
        f()
        once = max(time.perf_counter() - t0, 1e-9)
        inner.append(max(1, min(100000, int(min_sample / once))))
    samples = [[] for _ in fs]
    for r in range(reps):
        for k in range(len(fs)):
            j = (k + r) % len(fs)
            t0 = time.perf_counter()
            for _ in range(inner[j]):
                fs[j]()
            samples[j].append((time.perf_counter() - t0) / inner[j])
    return [sorted(s)[len(s) // 2] for s in samples]


@parmap.elementwise
def poly(a):
    return a * a + 2 * a + 1


@parmap.elementwise
def gauss(a):
    return np.exp(-a * a)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-size", default="2^10")
    ap.add_argument("--max-size", default="2^26")
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    try:
        import numexpr as ne
    except ImportError:
        ne = None
    threads = os.cpu_count()
    if ne is not None:
        ne.set_num_threads(threads)
    print(f"# @parmap.elementwise a*a + 2*a + 1, float32; {threads} threads (numexpr {ne.__version__ if ne else 'absent'}, "
          f"numpy {np.__version__}, parmap {parmap.__version__})")
    print(f"# {'n':>8} {'numpy ms':>10} {'numexpr ms':>10} {'parmap ms':>10} {'copy ms':>10}"
          f" {'x numpy':>8} {'x numexpr':>9} {'x copy':>7}")
    lo, hi = parse_size(args.min_size), parse_size(args.max_size)
    a_all = np.linspace(-3, 3, hi, dtype=np.float32)
    o_all = np.zeros_like(a_all)
    n = lo
    while n <= hi:
        a, o = a_all[:n], o_all[:n]
        fs = [lambda: a * a + 2 * a + 1,
              lambda: parmap.map(poly, a, out=o),
              lambda: parmap.map(parmap.ops.scale(1.0), a, out=o)]
        if ne is not None:
            fs.append(lambda: ne.evaluate("a*a + 2*a + 1", local_dict={"a": a}, out=o))
        t = timed(fs, args.reps)
        t_np, t_pm, t_copy = t[:3]
        t_ne = t[3] if ne is not None else float("nan")
        assert np.array_equal(poly(a), a * a + 2 * a + 1)
        print(f"  2^{int(np.log2(n)):<6} {t_np * 1e3:10.3f} {t_ne * 1e3:10.3f} {t_pm * 1e3:10.3f} {t_copy * 1e3:10.3f}"
              f" {t_np / t_pm:8.2f} {t_ne / t_pm:9.2f} {t_copy / t_pm:7.2f}")
        n *= 4
    n = min(hi, 1 << 24)
    a, o = a_all[:n], o_all[:n]
    fs = [lambda: np.exp(-a * a), lambda: parmap.map(gauss, a, out=o)]
    if ne is not None:
        fs.append(lambda: ne.evaluate("exp(-a*a)", local_dict={"a": a}, out=o))
    t = timed(fs, args.reps)
    t_ne = t[2] if ne is not None else float("nan")
    print(f"# exp(-a*a) float32 n=2^{int(np.log2(n))}: numpy {t[0] * 1e3:.3f} ms, numexpr {t_ne * 1e3:.3f} ms, "
          f"parmap {t[1] * 1e3:.3f} ms: {t[0] / t[1]:.2f} x numpy, {t_ne / t[1]:.2f} x numexpr")


if __name__ == "__main__":
    main()
