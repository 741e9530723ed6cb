#!/usr/bin/env bash
# VAR against MVAR at 256, 512 and 1024 px (issue #16): mvar bench sample with random weights, B=1, one JSON per
# (model, resolution) in bench/results/scaling/, then one table (scaling.md there) and one plot (docs/scaling.png):
# the last scale's attention time per token and the transformer-phase memory above the weights, against its tokens.
# Each run waits for a quiet machine first (bench/wait-quiet.sh). Takes long at 1024 px (VAR-d16: 9451 tokens).
# Usage: bench/scaling.sh [extra args for every run, e.g. --threads 2]
# Environment: MODELS (default "var-d16 mvar-d16"), RESOLUTIONS (default "256 512 1024"), REPEATS (default 3; 1 at 1024 px).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$here/.."
out="$here/results/scaling"; mkdir -p "$out"
models=${MODELS:-var-d16 mvar-d16}
resolutions=${RESOLUTIONS:-256 512 1024}
results=()
for res in $resolutions; do
  for model in $models; do
    name="$model-$res"
    repeats=${REPEATS:-$([[ $res == 1024 ]] && echo 1 || echo 3)}
    "$here/wait-quiet.sh" 15 1200 || echo "running $name on a busy machine" >&2
    echo "== $name: mvar bench sample --preset $model --resolution $res --batch 1 --repeats $repeats $*" >&2
    if "$root/mvar" bench sample --preset "$model" --resolution "$res" --batch 1 --repeats "$repeats" "$@" \
         --json "$out/$name.json" > "$out/$name.txt" 2> "$out/$name.log"; then
      results+=("$out/$name.json")
      tail -n 30 "$out/$name.txt" >&2
    else
      echo "$name failed: see $out/$name.log" >&2
    fi
  done
done
(( ${#results[@]} )) || { echo "no run succeeded" >&2; exit 1; }
"$root/mvar" bench scaling "${results[@]}" --markdown "$out/scaling.md" --plot "$root/docs/scaling.png"
cat "$out/scaling.md"
