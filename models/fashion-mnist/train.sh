#!/usr/bin/env bash
# Retrains Mvar's shipped Fashion-MNIST models from scratch with Mvar's own trainer, exactly as they were made:
# the tokenizer (three stages), then VAR on its token maps and MVAR fine-tuned from VAR (same model and settings). Each
# stage's run folder (checkpoints, metrics.csv, TensorBoard events, loss curve, reconstructions) goes under $RUNS
# (default runs/fashion-mnist); the weights are converted to safetensors into models/fashion-mnist/.
# A stopped stage continues where it stopped: run the script again (it resumes a run folder that exists).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
m=models/fashion-mnist
runs="${RUNS:-runs/fashion-mnist}"
if [[ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "installing dataset-fashion-mnist (Debian package)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist
fi

train() {  # train KIND OUT ARGS...: a fresh run, or the continuation of an interrupted one (keeping --snapshot-every)
  local kind=$1 out=$2; shift 2
  local args=("$@") keep=() i
  for i in "${!args[@]}"; do [[ ${args[$i]} == --snapshot-every ]] && keep=(--snapshot-every "${args[$((i + 1))]}"); done
  if [[ -f "$out/checkpoint.pth" ]]; then ./mvar train "$kind" --resume "$out" "${keep[@]}"; else ./mvar train "$kind" --out "$out" "$@"; fi
}

# the tokenizer in three stages (bench/RESULTS.md, "The shipped tokenizer"): L1 with a late discriminator, then 400 steps
# with a new discriminator and a short weight average, then 900 steps of the decoder alone (the tokens stay stage 2's)
train tokenizer "$runs/tokenizer-stage1" --config $m/config.json --data fashion-mnist
train tokenizer "$runs/tokenizer" --config $m/tokenizer-finetune.json --data fashion-mnist \
  --init-from "$runs/tokenizer-stage1/model.pth"
train tokenizer "$runs/tokenizer-decoder" --config $m/tokenizer-decoder.json --data fashion-mnist \
  --init-from "$runs/tokenizer/model.pth"
./mvar convert "$runs/tokenizer-decoder/model.pth" $m/tokenizer.safetensors
# the transformers keep their weights every 200 steps (snapshots/, for learning curves): VAR from scratch (1,874 steps),
# then MVAR fine-tuned from it for 1,874 steps with VAR's mask in the small-scale group, as the official
# --finetune_from_var does (the best of the MVAR runs of bench/study.sh; bench/RESULTS.md)
train transformer "$runs/var" --config $m/config.json --arch var --vae $m/tokenizer.safetensors \
  --data fashion-mnist --cache "$runs/tokens.cache" --snapshot-every 200
./mvar convert "$runs/var/model.pth" $m/var.safetensors
train transformer "$runs/mvar" --config $m/config.json --arch mvar --vae $m/tokenizer.safetensors \
  --data fashion-mnist --cache "$runs/tokens.cache" --snapshot-every 200 --init-from "$runs/var/model.pth" --var-mask-in-small-group
./mvar convert "$runs/mvar/model.pth" $m/mvar.safetensors
