#!/usr/bin/env python3
"""The AVX-512 loops in 256-bit against 512-bit vectors, on this machine.

Runs parmap-bench's CPU square (every type) once per width in turn
(PARMAP_CPU_ISA=avx512, PARMAP_CPU_VECTOR_BITS=256, then 512; --runs rounds),
at the in-cache sizes and at 2^24, and prints, per type and n, each run's
ratio to the all-core copy of the same run (the ceilings are built at the
same width): cpu = parmap's loops, hand = the hand-written loop. Ends with
parmap-bench's own output, so the figures can be traced. Needs a CPU with
AVX-512 and a GCC build (the two widths).

    python3 bench/compare_vector_bits.py build/bench/parmap-bench [--runs 3]
"""
import argparse
import collections
import os
import subprocess


def run(bench, bits, args):
    env = dict(os.environ, PARMAP_CPU_ISA="avx512", PARMAP_CPU_VECTOR_BITS=str(bits))
    out = subprocess.run([bench, "--paths", "cpu", "--types", "f32,f64,i32,i64", *args],
                         env=env, capture_output=True, text=True, check=True).stdout
    ratios = {}
    for line in out.splitlines():
        f = line.split()
        # square  f32  4096  cpu  0.72 us  0.54 us  45.7  2.383  cpu-copy
        if len(f) >= 10 and f[0] == "square" and f[3] in ("cpu", "cpu-hand"):
            ratios[(f[1], int(f[2]), f[3])] = float(f[9])
    return out, ratios


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    sweeps = [["--min-size", "2^12", "--max-size", "2^18", "--reps", "11"],
              ["--min-size", "2^24", "--max-size", "2^24", "--reps", "7"]]
    got = collections.defaultdict(list)  # (type, n, path, bits) -> ratios, one per run
    raw = []
    for sweep in sweeps:
        for r in range(a.runs):
            for bits in (256, 512):
                out, ratios = run(a.bench, bits, sweep)
                raw.append(f"== PARMAP_CPU_VECTOR_BITS={bits}, run {r + 1}: parmap-bench {' '.join(sweep)}\n{out}")
                for (t, n, p), v in ratios.items():
                    got[(t, n, p, bits)].append(v)
    print("# square, ratio to the all-core copy of the same run, one figure per run")
    print(f"# {'type':4} {'n':5} | {'cpu, 256-bit':^20} | {'cpu, 512-bit':^20} || {'hand, 256':^20} | {'hand, 512':^20}")
    for t, n in sorted({(k[0], k[1]) for k in got}):
        cols = [" ".join(f"{v:.3f}" for v in got[(t, n, p, b)])
                for p, b in (("cpu", 256), ("cpu", 512), ("cpu-hand", 256), ("cpu-hand", 512))]
        print(f"  {t:4} 2^{n.bit_length() - 1:<3} | {cols[0]:20} | {cols[1]:20} || {cols[2]:20} | {cols[3]:20}")
    print()
    print("\n".join(raw))


if __name__ == "__main__":
    main()
