#!/usr/bin/env bash
# VAR against MVAR on the shipped Fashion-MNIST tokenizer (issue #13; bench/RESULTS.md, "VAR against MVAR at equal
# training compute"): after models/fashion-mnist/train.sh has trained VAR (RUNS/var) and the shipped MVAR (RUNS/mvar,
# fine-tuned from VAR with VAR's mask in the small-scale group), trains the other MVAR runs of the study:
#   mvar-scratch  MVAR from scratch with VAR's steps (config.json: 1,874 steps)
#   mvar-eqc      MVAR from scratch with VAR's training compute (bench/study/mvar-equal-compute.json: 4,921 steps)
#   mvar-ft       MVAR fine-tuned from VAR with its own mask (1,874 steps)
#   mvar-ft-s1, mvar-ft-varmask-s1   both fine-tunings again with training seed 1 (bench/study/seed1.json)
# then scores every MVAR against VAR with `mvar compare` (10,000 samples per model) and draws the learning curves of
# all runs (`mvar curve`, 2,000 samples per snapshot). Run folders go under RUNS (default runs/fashion-mnist), the
# reports under OUT (default runs/study). A stopped training resumes when the script is run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
m=models/fashion-mnist
runs="${RUNS:-runs/fashion-mnist}" out="${OUT:-runs/study}"
[[ -f "$runs/var/model.pth" ]] || { echo "study: $runs/var/model.pth missing: run models/fashion-mnist/train.sh first" >&2; exit 1; }
train() {  # train OUT ARGS...: a fresh run, or the continuation of an interrupted one
  local dir=$1; shift
  if [[ -f "$dir/checkpoint.pth" ]]; then ./mvar train transformer --resume "$dir" --snapshot-every 200
  else ./mvar train transformer --out "$dir" --arch mvar --vae $m/tokenizer.safetensors --data fashion-mnist \
         --cache "$runs/tokens.cache" --snapshot-every 200 "$@"; fi
}
train "$runs/mvar-scratch" --config $m/config.json
train "$runs/mvar-eqc" --config bench/study/mvar-equal-compute.json
train "$runs/mvar-ft" --config $m/config.json --init-from "$runs/var/model.pth"
train "$runs/mvar-ft-s1" --config bench/study/seed1.json --init-from "$runs/var/model.pth"
train "$runs/mvar-ft-varmask-s1" --config bench/study/seed1.json --init-from "$runs/var/model.pth" --var-mask-in-small-group
mkdir -p "$out"
for r in mvar mvar-scratch mvar-eqc mvar-ft mvar-ft-s1 mvar-ft-varmask-s1; do
  ./mvar compare --config $m/config.json --vae $m/tokenizer.safetensors --var "$runs/var/model.pth" --mvar "$runs/$r/model.pth" \
    --data fashion-mnist:t10k --per-class 1000 --seed 0 --out "$out/compare-$r"
done
./mvar curve --run VAR="$runs/var" --run MVAR-1874-steps="$runs/mvar-scratch" --run MVAR-4921-steps="$runs/mvar-eqc" \
  --run MVAR-from-VAR="$runs/mvar-ft" --run MVAR-from-VAR-varmask="$runs/mvar" \
  --vae $m/tokenizer.safetensors --count 2000 --out "$out/curve"
