#!/usr/bin/env bash
# parmap's main job: the default GPU-vs-CPU sweep of parmap-bench, written as
# table.txt, <name>.json, <name>.csv and <name>.png into a results folder
# (default results/<machine>-<date>/), the comparison with numpy, and the seed
# notebook's demo (4 one-second slow_square calls) beside joblib.
#   bash bench/main-job.sh [results-folder] [parmap-bench options...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
bench="$build/bench/parmap-bench"
[ -x "$bench" ] || { echo "main-job: $bench not found; build first (cmake --build --preset default)"; exit 1; }
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  machine=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' | tr 'A-Z' 'a-z')
else
  machine="cpu-$(nproc)core"
fi
name="${machine%-}-$(date -u +%Y-%m-%d)"
out=${1:-results/$name}
[ $# -gt 0 ] && shift
mkdir -p "$out"
echo "main-job: writing $out/"
"$bench" --json "$out/$name.json" --csv "$out/$name.csv" --commit "${PARMAP_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}" "$@" \
  | tee "$out/table.txt"
python3 bench/check_results.py "$out/$name.json" "$out/$name.csv"
python3 bench/plot.py "$out/$name.json" -o "$out/$name.png"
echo "=== numpy on the same machine"
python3 bench/compare_numpy.py "$bench" --json "$out/numpy.json" | tee "$out/numpy.txt"
echo "=== the seed notebook: slow_square with parmap, beside joblib"
"$build/examples/seed_slow_square" --check-tasks | tee "$out/seed.txt"
if python3 -c "import joblib" 2>/dev/null; then
  python3 bench/compare_joblib.py "$build/examples/seed_slow_square" --json "$out/joblib.json" | tee "$out/joblib.txt"
fi
echo "main-job: table, JSON, CSV, plot and seed demo in $out/"
