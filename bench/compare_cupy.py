#!/usr/bin/env python3
"""parmap's GPU square (data in GPU memory) against CuPy's cp.square(x, out=y),
same GPU, same sizes, one run. Needs CuPy and a GPU.

Runs parmap-bench (gpu-device path, f32 square): its end-to-end time per
parmap::map call and its transform alone (CUDA events), and times CuPy with
CUDA events (median). Prints both and the ratio CuPy time / parmap time.

    python3 bench/compare_cupy.py build/bench/parmap-bench [--max-size 2^28]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import cupy as cp
except ImportError:
    print("compare_cupy.py: CuPy is not installed (pip install cupy-cuda13x); nothing to compare")
    sys.exit(0)


def cupy_median(f, reps):
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    f()
    cp.cuda.Device().synchronize()
    t = []
    for _ in range(reps):
        start.record()
        f()
        stop.record()
        stop.synchronize()
        t.append(cp.cuda.get_elapsed_time(start, stop) * 1e-3)
    t.sort()
    return t[len(t) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench")
    ap.add_argument("--min-size", default="2^16")
    ap.add_argument("--max-size", default="2^28")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--json")
    args = ap.parse_args()
    if cp.cuda.runtime.getDeviceCount() == 0:
        print("compare_cupy.py: no GPU; nothing to compare")
        return
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "p.json")
        subprocess.run([args.bench, "--min-size", args.min_size, "--max-size", args.max_size, "--reps",
                        str(args.reps), "--ops", "square", "--types", "f32", "--paths", "gpu-device",
                        "--json", out], check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            doc = json.load(f)
    rows_p = {r["n"]: r for r in doc["results"] if r["path"] == "gpu-device"}
    d2d = {r["n"]: r["median_s"] for r in doc["results"] if r["path"] == "gpu-d2d"}
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(f"parmap gpu (data on GPU) vs CuPy {cp.__version__}, square f32, {name}")
    print(f"{'n':>11} {'parmap map ms':>14} {'parmap kernel ms':>17} {'cp.square ms':>13} "
          f"{'d2d copy ms':>12} {'cupy/parmap':>12} {'cupy/kernel':>12}")
    rows = []
    for n in sorted(rows_p):
        x = cp.linspace(0.5, 1.5, n, dtype=cp.float32)
        y = cp.zeros_like(x)
        t = cupy_median(lambda: cp.square(x, out=y), args.reps)
        p = rows_p[n]
        rows.append(dict(n=n, parmap_s=p["median_s"], parmap_kernel_s=p["kernel_s"], cupy_s=t, d2d_s=d2d[n]))
        print(f"{n:>11} {p['median_s'] * 1e3:>14.4f} {p['kernel_s'] * 1e3:>17.4f} {t * 1e3:>13.4f} "
              f"{d2d[n] * 1e3:>12.4f} {t / p['median_s']:>12.2f} {t / p['kernel_s']:>12.2f}")
        del x, y
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=doc["machine"], cupy=cp.__version__, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
