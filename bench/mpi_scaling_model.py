#!/usr/bin/env python3
"""Weak-scaling estimate for parmap::mpi from measured single-node figures.

Inputs (measure them with examples/mpi_square, see docs/scaling.md):
  --block        elements per rank (weak scaling: constant per rank)
  --t-local-ms   time of one rank's local map of one block
  --coll-us      cost of mpi::map's collectives (mpi::map on a tiny block, 2 ranks)
  --link-gbs     bandwidth of the root's link for the other ranks' blocks (mpi_square's
                 "from the other ranks" MPI_Gatherv figure)
Model (P ranks, s bytes per element, m = block):
  mpi::map on distributed data:  T(P) = t_local + coll * ceil(log2 P)
      (MPI_Exscan + MPI_Allreduce: tree algorithms, log2 P rounds; one round measured at P = 2)
  scatter_map_gather from one root:
      T(P) = 2 * (P - 1) * m * s / B + t_local + coll * ceil(log2 P)
      (the root's link carries every other rank's block out and back)
  Weak-scaling efficiency E(P) = T(1) / T(P).
The model's figures are estimates, not measurements; its inputs are measured.
"""
import argparse
import math


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--block", type=float, required=True)
    ap.add_argument("--elem-bytes", type=int, default=4)
    ap.add_argument("--t-local-ms", type=float, required=True)
    ap.add_argument("--coll-us", type=float, required=True)
    ap.add_argument("--link-gbs", type=float, required=True)
    ap.add_argument("--max-ranks", type=int, default=1024)
    a = ap.parse_args()

    block_bytes = a.block * a.elem_bytes
    t_local = a.t_local_ms * 1e-3
    coll = a.coll_us * 1e-6
    bw = a.link_gbs * 1e9

    def t_map(p: int) -> float:
        return t_local + coll * math.ceil(math.log2(p)) if p > 1 else t_local

    def t_smg(p: int) -> float:
        return 2 * (p - 1) * block_bytes / bw + t_map(p)

    print(f"block {a.block:.3g} elements x {a.elem_bytes} B = {block_bytes / 1e6:.1f} MB per rank; "
          f"t_local {a.t_local_ms} ms, collectives {a.coll_us} us per round, root link {a.link_gbs} GB/s")
    print(f"| ranks | mpi::map ms | efficiency | scatter_map_gather ms | efficiency | data on the root GB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    p = 1
    while p <= a.max_ranks:
        print(f"| {p} | {t_map(p) * 1e3:.3f} | {t_map(1) / t_map(p):.4f} | {t_smg(p) * 1e3:.1f} | "
              f"{t_smg(1) / t_smg(p):.4f} | {p * block_bytes / 1e9:.1f} |")
        p *= 2


if __name__ == "__main__":
    main()
