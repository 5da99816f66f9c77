#!/usr/bin/env python3
"""Checks a parmap-bench JSON file (and optionally its CSV twin) against the
schema parmap-bench/1: required keys and types, values that make sense
(positive times, min <= median, GB/s consistent with bytes and time), every
ratio against a ceiling present, the CSV holding the same rows. Exit 1 with a
message naming the first problem."""
import csv
import json
import math
import sys

PATHS = {"cpu", "cpu-lambda", "auto", "gpu-device", "gpu-host", "gpu-host-staged", "gpu-host-registered", "split",
         "cpu-copy", "cpu-hand", "cpu-hand-tu", "gpu-d2d", "pcie", "duplex", "copy-under-dma"}
ROW_KEYS = {"op": str, "type": str, "n": int, "path": str, "bytes": (int, float),
            "median_s": (int, float), "min_s": (int, float), "gbps": (int, float)}


def fail(msg):
    print(f"check_results: {msg}")
    sys.exit(1)


def main():
    if len(sys.argv) < 2:
        fail("usage: check_results.py RESULTS.json [RESULTS.csv]")
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    if doc.get("schema") != "parmap-bench/1":
        fail(f"schema is {doc.get('schema')!r}, expected 'parmap-bench/1'")
    for key in ("machine", "config", "summary", "results"):
        if key not in doc:
            fail(f"missing top-level key {key!r}")
    for key in ("cpu", "cores", "omp_threads", "gpu", "commit", "date"):
        if key not in doc["machine"]:
            fail(f"machine lacks {key!r}")
    rows = doc["results"]
    if not rows:
        fail("no results")
    seen = set()
    for i, r in enumerate(rows):
        for key, typ in ROW_KEYS.items():
            if not isinstance(r.get(key), typ):
                fail(f"row {i}: {key!r} missing or not {typ}")
        if r["path"] not in PATHS:
            fail(f"row {i}: unknown path {r['path']!r}")
        if not (0 < r["min_s"] <= r["median_s"]):
            fail(f"row {i}: need 0 < min_s <= median_s, got {r['min_s']}, {r['median_s']}")
        if r["bytes"] != 2 * r["n"] * {"f32": 4, "f64": 8, "i32": 4, "i64": 8}[r["type"]]:
            fail(f"row {i}: bytes {r['bytes']} is not n * 2 * element size")
        if not math.isclose(r["gbps"], r["bytes"] / r["median_s"] / 1e9, rel_tol=1e-3):
            fail(f"row {i}: gbps inconsistent with bytes / median_s")
        if r.get("ceiling") is not None and not (r.get("ratio") is not None and r["ratio"] > 0):
            fail(f"row {i}: ceiling {r['ceiling']!r} without a positive ratio")
        if r["path"] == "auto" and r.get("chosen") not in ("cpu", "gpu"):
            fail(f"row {i}: auto row without chosen backend")
        if r["path"] == "split" and not str(r.get("chosen", "")).startswith("split: cpu "):
            fail(f"row {i}: split row without its shares")
        seen.add((r["op"], r["type"], r["path"]))
    for op, typ, _ in list(seen):
        for needed in ("cpu-copy", "cpu-hand"):
            if (op, typ, needed) not in seen:
                fail(f"{op} {typ}: no {needed} ceiling in the same run")
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            csv_rows = list(csv.DictReader(f))
        if len(csv_rows) != len(rows):
            fail(f"CSV has {len(csv_rows)} rows, JSON {len(rows)}")
        for i, (c, j) in enumerate(zip(csv_rows, rows)):
            if (c["op"], c["type"], int(c["n"]), c["path"]) != (j["op"], j["type"], j["n"], j["path"]):
                fail(f"CSV row {i} differs from JSON")
    print(f"check_results: {len(rows)} rows OK ({sys.argv[1]})")


if __name__ == "__main__":
    main()
