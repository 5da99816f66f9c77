#!/usr/bin/env python3
"""@parmap.elementwise on a CuPy array against CuPy's ElementwiseKernel for
the same expression, a*a + 2*a + 1 on float32 (default n = 2^28), in one run.
Target: parmap at least as fast (ratio cupy time / parmap time >= 1).

    python3 bench/gpu_elementwise.py [--n 2^28]
"""
import argparse

try:  # before parmap: see gpu_python.py
    import cupy
except ImportError:
    cupy = None

from gpu_python import median_time  # bench/ is the script's directory

import parmap


@parmap.elementwise
def poly(a):
    return a * a + 2 * a + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="2^28")
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    n = 2 ** int(args.n[2:]) if args.n.startswith("2^") else int(args.n)
    if cupy is None:
        print("gpu_elementwise: CuPy is not installed; nothing measured")
        return
    x = cupy.linspace(-3, 3, n, dtype=cupy.float32)
    y = cupy.empty_like(x)
    kernel = cupy.ElementwiseKernel("float32 a", "float32 y", "y = a * a + 2 * a + 1", "poly")
    sync = cupy.cuda.Device().synchronize
    t_cupy = median_time(lambda: kernel(x, y), sync, args.reps)
    ref = y.copy()
    r = parmap.Report()
    parmap.map(poly, x, out=y, report=r)
    assert bool((y == ref).all()), "parmap's result differs from CuPy's"
    t_parmap = median_time(lambda: parmap.map(poly, x, out=y), sync, args.reps)
    gbs = 2 * 4 * n / 1e9
    print(f"elementwise a*a+2*a+1 f32 n={n}: cupy ElementwiseKernel {t_cupy * 1e3:.3f} ms ({gbs / t_cupy:.0f} GB/s), "
          f"parmap {t_parmap * 1e3:.3f} ms ({gbs / t_parmap:.0f} GB/s, {r.used}): {t_cupy / t_parmap:.3f} x cupy (target >= 1)")


if __name__ == "__main__":
    main()
