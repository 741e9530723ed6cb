#!/usr/bin/env bash
# Runs the sampling benchmarks of bench/RESULTS.md, each after waiting for a quiet machine (bench/wait-quiet.sh).
# Usage: bench/run.sh [extra args for every run, e.g. --threads 2]   Results: bench/results/*.json, logs beside them.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$here/.."
out="$here/results"; mkdir -p "$out"
run() {   # name, args...
  local name=$1; shift
  "$here/wait-quiet.sh" 15 1200 || echo "running $name on a busy machine" >&2
  echo "== $name: mvar bench sample $* $EXTRA" >&2
  "$root/mvar" bench sample "$@" $EXTRA --json "$out/$name.json" > "$out/$name.txt" 2> "$out/$name.log"
  tail -n 40 "$out/$name.txt" >&2
}
EXTRA="$*"
run mvar-d16-b1  --preset mvar-d16 --batch 1  --repeats 3
run var-d16-b1   --preset var-d16  --batch 1  --repeats 3
run mvar-d16-b16 --preset mvar-d16 --batch 16 --repeats 1 --warmup 0 --decode-chunk 4
run var-d16-b16  --preset var-d16  --batch 16 --repeats 1 --warmup 0 --decode-chunk 4
run mvar-d16-b1-bf16 --preset mvar-d16 --batch 1 --repeats 3 --dtype bf16
