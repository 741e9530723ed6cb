#!/usr/bin/env bash
# Times one training step (issue #3) of VAR-d16 and MVAR-d16 at batch 2, one after the other (each needs 5-8 GB),
# each after waiting for a quiet machine (bench/wait-quiet.sh, at most ${QUIET_WAIT:-1200} s).
# Usage: bench/train-step.sh [extra args for both runs, e.g. --steps 3]   Results: bench/results/train-*.{json,txt,log}
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$here/.."
out="$here/results"; mkdir -p "$out"
run() {   # name, args...
  local name=$1; shift
  "$here/wait-quiet.sh" 15 "${QUIET_WAIT:-1200}" || echo "running $name on a busy machine" >&2
  echo "== $name: mvar bench train $* $EXTRA" >&2
  "$root/mvar" bench train "$@" $EXTRA --json "$out/$name.json" > "$out/$name.txt" 2> "$out/$name.log"
  tail -n 30 "$out/$name.txt" >&2
}
EXTRA="$*"
run train-var-d16-b2  --preset var-d16  --batch 2 --warmup 1 --steps 1
run train-mvar-d16-b2 --preset mvar-d16 --batch 2 --warmup 1 --steps 1
