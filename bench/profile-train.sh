#!/usr/bin/env bash
# Where the time of a training step goes, Mvar and the official code profiled the same way (issue #19): Linux
# `perf record` (cpu-clock samples of the whole process, 2 threads) over one warm-up and one measured step at B=2
# (random weights, d16, 256 px, AdamW, clip 2.0: the steps of bench/side-by-side.sh's *_train kinds), symbols grouped
# into operation types by bench/perf_categories.py.
# VAR-d16's step (all 680 tokens) is the one profiled: it is the one far behind the official code.
# usage: bench/profile-train.sh [OUTDIR]; needs perf (Debian linux-perf) and, for the official side, the harness of
# bench/side-by-side.sh (OFFICIAL_BENCH).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$here/.."
kind=var preset=var-d16 worker=var_train
source "$here/profile-common.sh"
profile_setup profile-train "${1:-$here/results/profile-train}"
"$here/wait-quiet.sh" 15 600 >&2
perf record -e cpu-clock -F 499 -o "$out/mvar-$kind.perf" -- \
  dotnet "$cli" bench train --preset "$preset" --batch 2 --warmup 1 --steps 1 --threads 2 \
  --json "$out/mvar-$kind-train.json" > "$out/mvar-$kind.log" 2>&1
perf report -i "$out/mvar-$kind.perf" --no-children --sort dso,sym --stdio 2>/dev/null > "$out/mvar-$kind.report.txt"
if [[ -f $official/bench_ref.py && -d /tmp/ref_var ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  so=/tmp/ref_fastblas/libsgemm_dnnl.so
  [[ -f $so ]] || (cd "$official" && /usr/bin/python3 -c 'import bench_ref; bench_ref.ensure_fastblas()')
  "$here/wait-quiet.sh" 15 600 >&2
  OMP_NUM_THREADS=2 LD_PRELOAD=$so perf record -e cpu-clock -F 499 -o "$out/official-$kind.perf" -- \
    /usr/bin/python3 "$official/bench_ref.py" --worker "$worker" --warmup 1 --repeats 1 > "$out/official-$kind.log" 2>&1
  perf report -i "$out/official-$kind.perf" --no-children --sort dso,sym --stdio 2>/dev/null > "$out/official-$kind.report.txt"
else
  echo "profile-train: the official harness is not set up (see bench/side-by-side.sh): Mvar alone" >&2
fi
rm -f "$out"/*.perf   # large; the reports keep what is read
python3 "$here/perf_categories.py" "$out" "$kind" --runs 2 --title "VAR-d16 training, B=2, one warm-up + one measured step and one model build" \
  | tee "$out/profile-$kind.md"
