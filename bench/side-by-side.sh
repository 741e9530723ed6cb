#!/usr/bin/env bash
# Mvar against the OFFICIAL PyTorch code, alternated in one run on this machine (official, Mvar, official, Mvar, ...),
# so that the ratio of the two means something on a shared machine whose speed drifts. Random weights, 256 px, d16:
# sampling at B=1 (cfg 1.5, top-k 900, top-p 0.96, 1 warm-up + 3 measured runs, median) and training steps at B=2.
#
# usage: [MVAR_SAMPLE_ARGS="--gemm onednn"] bench/side-by-side.sh [OUTDIR] [KINDS] [ROUNDS]
#   OUTDIR  default bench/results/side-by-side; KINDS a comma list of mvar_sample, var_sample, mvar_train, var_train
#   (default mvar_sample,var_sample); ROUNDS default 2. MVAR_SAMPLE_ARGS: more options of Mvar's sampling kinds (e.g.
#   its GEMM kernel), written into the table.
# The official side is the harness in $OFFICIAL_BENCH (default ../shared/official-bench next to the project: its
# README says how to set it up: Debian's python3-torch, git mirrors of FoundationVision/VAR and CVL-UESTC/MVAR in
# VAR_GIT / MVAR_GIT). Without it, Mvar runs alone and the table says so.
# Output: OUTDIR/{official,mvar}-KIND-rN.{json,log} and OUTDIR/table.md (bench/side_by_side.py makes it).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$here/.."
out=${1:-$here/results/side-by-side}; kinds=${2:-mvar_sample,var_sample}; rounds=${3:-2}
official=${OFFICIAL_BENCH:-$root/../shared/official-bench}
mkdir -p "$out"
have_official=1
if [[ ! -f $official/bench_ref.py ]]; then
  echo "side-by-side: no official harness at $official (set OFFICIAL_BENCH): Mvar alone" >&2; have_official=0
elif ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "side-by-side: /usr/bin/python3 has no torch (apt-get install python3-torch python3-pil): Mvar alone" >&2; have_official=0
elif [[ ! -d /tmp/ref_var || ! -d /tmp/ref_mvar ]]; then
  if [[ -n ${VAR_GIT:-} && -n ${MVAR_GIT:-} ]]; then bash "$official/setup.sh" >&2 || have_official=0
  else echo "side-by-side: the official code is not extracted (set VAR_GIT and MVAR_GIT to git mirrors): Mvar alone" >&2; have_official=0; fi
fi
"$root/mvar" --help >/dev/null 2>&1 || { echo "side-by-side: mvar does not build" >&2; exit 1; }
lscpu > "$out/lscpu.txt"
echo "${MVAR_SAMPLE_ARGS:-}" > "$out/mvar-sample-args.txt"
official_kinds() { case $1 in mvar_train) echo mvar_train_g0,mvar_train_g1,mvar_train_g2 ;; *) echo "$1" ;; esac; }
mvar_args() {
  case $1 in
    mvar_sample|var_sample) echo "bench sample --preset ${1%_sample}-d16 --batch 1 --warmup 1 --repeats 3 --threads 2 ${MVAR_SAMPLE_ARGS:-}" ;;
    mvar_train|var_train) echo "bench train --preset ${1%_train}-d16 --batch 2 --warmup 1 --steps 1 --threads 2" ;;
  esac
}
for r in $(seq 1 "$rounds"); do
  for kind in ${kinds//,/ }; do
    [[ -n $(mvar_args "$kind") ]] || { echo "side-by-side: unknown kind $kind" >&2; exit 2; }
    if (( have_official )); then
      "$here/wait-quiet.sh" 15 600 || echo "side-by-side: official $kind round $r on a busy machine" >&2
      reps=$([[ $kind == *_train ]] && echo "--train-repeats 1" || echo "--repeats 3")
      /usr/bin/python3 "$official/bench_ref.py" --modes dnnl --only "$(official_kinds "$kind")" $reps \
        --out "$out/official-$kind-r$r.json" > "$out/official-$kind-r$r.log" 2>&1 \
        || echo "side-by-side: the official $kind failed (see $out/official-$kind-r$r.log)" >&2
    fi
    "$here/wait-quiet.sh" 15 600 || echo "side-by-side: Mvar $kind round $r on a busy machine" >&2
    # shellcheck disable=SC2046
    "$root/mvar" $(mvar_args "$kind") --json "$out/mvar-$kind-r$r.json" > "$out/mvar-$kind-r$r.log" 2>&1 \
      || echo "side-by-side: mvar $kind failed (see $out/mvar-$kind-r$r.log)" >&2
    echo "side-by-side: round $r $kind done $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  done
done
python3 "$here/side_by_side.py" "$out" | tee "$out/table.md"
