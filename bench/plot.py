#!/usr/bin/env python3
"""Turns a parmap-bench JSON file into a PNG: for each op and element type, time
and GB/s against n (log scales) for cpu, gpu-device, gpu-host and automatic,
the same run's ceilings as dashed lines, and the crossover marked.

    python3 bench/plot.py results.json -o results.png
"""
import argparse
import json
import math
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PATHS = [  # (path, label, style)
    ("cpu", "parmap cpu (OpenMP)", dict(color="tab:blue", marker="o")),
    ("gpu-device", "parmap gpu, data on GPU", dict(color="tab:green", marker="s")),
    ("gpu-host", "parmap gpu, host data (copies)", dict(color="tab:orange", marker="^")),
    ("auto", "parmap automatic, host data", dict(color="black", marker="x", linestyle=":")),
    ("gpu-host-registered", "parmap gpu, host data registered", dict(color="tab:brown", marker="v")),
    ("split", "parmap cpu + gpu split, host data", dict(color="tab:purple", marker="D")),
]
CEILINGS = [
    ("cpu-copy", "ceiling: CPU parallel memcpy", dict(color="tab:blue", linestyle="--")),
    ("cpu-hand", "ceiling: hand-written omp simd loop", dict(color="tab:cyan", linestyle="--")),
    ("gpu-d2d", "ceiling: GPU D2D copy", dict(color="tab:green", linestyle="--")),
    ("pcie", "ceiling: pinned H2D then D2H", dict(color="tab:orange", linestyle="--")),
    ("duplex", "ceiling: pinned H2D and D2H at once", dict(color="tab:red", linestyle="--")),
    ("copy-under-dma", "ceiling: CPU memcpy while H2D and D2H run", dict(color="tab:gray", linestyle="--")),
]


def crossover(series, gpu_path):
    """Smallest n from which gpu_path stays faster than cpu up to the largest n."""
    cpu, gpu = series.get("cpu", {}), series.get(gpu_path, {})
    found = None
    for n in sorted(gpu, reverse=True):
        if n in cpu and gpu[n] < cpu[n]:
            found = n
        else:
            break
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("-o", "--output", help="PNG to write (default: next to the JSON)")
    args = ap.parse_args()
    with open(args.json) as f:
        doc = json.load(f)
    out = args.output or args.json.rsplit(".", 1)[0] + ".png"

    # (op, type) -> path -> n -> median seconds, and bytes per n
    times = defaultdict(lambda: defaultdict(dict))
    nbytes = {}
    for r in doc["results"]:
        times[(r["op"], r["type"])][r["path"]][r["n"]] = r["median_s"]
        nbytes[(r["op"], r["type"], r["n"])] = r["bytes"]
    combos = sorted(times)
    fig, axes = plt.subplots(len(combos), 2, figsize=(13, 4.2 * len(combos)), squeeze=False)
    m = doc["machine"]
    fig.suptitle(f"parmap-bench  {m['date'][:10]}  commit {m['commit']}\nCPU: {m['cpu']} "
                 f"({m['omp_threads']} threads"
                 + (f", {m['cpu_isa']} loops" if m.get("cpu_isa") else "")
                 + (f" ({m['cpu_vector_bits']}-bit)" if m.get("cpu_vector_bits") else "")
                 + f")   GPU: {m['gpu']}", fontsize=10)
    for row, (op, typ) in enumerate(combos):
        series = times[(op, typ)]
        ax_t, ax_b = axes[row]
        for path, label, style in PATHS + CEILINGS:
            if path not in series:
                continue
            ns = sorted(series[path])
            t = [series[path][n] for n in ns]
            bw = [nbytes[(op, typ, n)] / s / 1e9 for n, s in zip(ns, t)]
            kw = dict(style)
            kw.setdefault("linestyle", "-")
            if path in dict((c[0], 1) for c in CEILINGS):
                kw["linewidth"] = 1.2
                kw.pop("marker", None)
            ax_t.plot(ns, t, label=label, markersize=4, **kw)
            ax_b.plot(ns, bw, label=label, markersize=4, **kw)
        for gpu_path, color in (("gpu-device", "tab:green"), ("gpu-host", "tab:orange")):
            n = crossover(series, gpu_path)
            if n is not None:
                for ax in (ax_t, ax_b):
                    ax.axvline(n, color=color, alpha=0.35, linewidth=6)
                ax_t.annotate(f"{gpu_path} beats cpu\nfrom n = 2^{int(math.log2(n))}", (n, ax_t.get_ylim()[1]),
                              fontsize=8, va="top", color=color)
        ax_t.set(xscale="log", yscale="log", xlabel="n (elements)", ylabel="time per map (s, median)",
                 title=f"{op} {typ}: time")
        ax_b.set(xscale="log", yscale="log", xlabel="n (elements)",
                 ylabel="GB/s (bytes read + written / time)", title=f"{op} {typ}: bandwidth")
        for ax in (ax_t, ax_b):
            ax.set_xscale("log", base=2)
            ax.grid(True, which="both", alpha=0.3)
        ax_b.legend(fontsize=7, loc="lower right")
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(out, dpi=110)
    print(f"plot.py: wrote {out}")


if __name__ == "__main__":
    main()
