#!/usr/bin/env bash
# Data-parallel training speed (bench/RESULTS.md, "Data-parallel training"): MVAR on Fashion-MNIST with the shipped
# config (batch 64), one process with 1 and with 2 torch threads, and 2 MPI ranks with 1 thread each; then the time
# of a bare all-reduce of the model's gradient size. Usage: bench/mpi.sh [steps, default 60]
# Results: bench/results/mpi-*.txt. Uses models/fashion-mnist/tokenizer.safetensors when it exists, else a
# one-step tokenizer (the token values do not change the speed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$here/.."
steps=${1:-60}
cfg="$root/models/fashion-mnist/config.json"
tmp="${TMPDIR:-/tmp}/mvar-bench-mpi"; rm -rf "$tmp"; mkdir -p "$tmp"
out="$here/results"; mkdir -p "$out"
"$root/mvar" --help > /dev/null            # builds the CLI when needed
dll="$root/src/Mvar.Cli/bin/Release/net10.0/Mvar.Cli.dll"
vae="${VAE:-$root/models/fashion-mnist/tokenizer.safetensors}"
if [[ ! -f "$vae" ]]; then
  dotnet "$dll" train tokenizer --config "$cfg" --data fashion-mnist --limit 64 --stop-after 1 --out "$tmp/tok" > /dev/null
  vae="$tmp/tok/model.pth"
fi
args=(train transformer --config "$cfg" --vae "$vae" --data fashion-mnist --limit 8192 --cache "$tmp/tokens.cache")
dotnet "$dll" "${args[@]}" --stop-after 0 --out "$tmp/cache" > /dev/null      # the token cache, once
run() {   # name, command...
  local name=$1; shift
  "$here/wait-quiet.sh" 15 "${WAIT:-600}" || echo "running $name on a busy machine" >&2
  echo "== $name: $*" | tee "$out/mpi-$name.txt" >&2
  local t0=$SECONDS
  "$@" --stop-after "$steps" --out "$tmp/$name" 2>&1 | tr -d '\r' | sed 's/\x1b\[?1h\x1b=//g' >> "$out/mpi-$name.txt"
  echo "wall $((SECONDS - t0)) s; load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/mpi-$name.txt"
  tail -n 4 "$out/mpi-$name.txt" >&2
}
run 1rank-1thread env OMP_NUM_THREADS=1 dotnet "$dll" "${args[@]}"
run 1rank-2threads env OMP_NUM_THREADS=2 dotnet "$dll" "${args[@]}"
run 2ranks-1thread mpirun --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1 dotnet "$dll" "${args[@]}"
"$here/wait-quiet.sh" 15 "${WAIT:-600}" || true
echo "== allreduce: mpirun -np 2 mvar mpi check --megabytes 4" | tee "$out/mpi-allreduce.txt" >&2
for i in 1 2 3; do mpirun --allow-run-as-root -np 2 dotnet "$dll" mpi check --megabytes 4 2>&1 | tr -d '\r' | sed 's/\x1b\[?1h\x1b=//g' >> "$out/mpi-allreduce.txt"; done
cat "$out/mpi-allreduce.txt" >&2
