#!/usr/bin/env bash
# Retrains Mvar's shipped Fashion-MNIST models from scratch with Mvar's own trainer, exactly as they were made:
# the tokenizer, then the VAR and MVAR transformers on its token maps (same config, same steps). Each stage's run
# folder (checkpoints, metrics.csv, TensorBoard events, loss curve, reconstructions) goes under $RUNS
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

train() {  # train KIND OUT ARGS...: a fresh run, or the continuation of an interrupted one
  local kind=$1 out=$2; shift 2
  if [[ -f "$out/checkpoint.pth" ]]; then ./mvar train "$kind" --resume "$out"; else ./mvar train "$kind" --out "$out" "$@"; fi
}

train tokenizer "$runs/tokenizer" --config $m/config.json --data fashion-mnist
./mvar convert "$runs/tokenizer/model.pth" $m/tokenizer.safetensors
for arch in var mvar; do
  train transformer "$runs/$arch" --config $m/config.json --arch $arch --vae $m/tokenizer.safetensors \
    --data fashion-mnist --cache "$runs/tokens.cache"
  ./mvar convert "$runs/$arch/model.pth" $m/$arch.safetensors
done
