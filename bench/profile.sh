#!/usr/bin/env bash
# Where the time of sampling goes, Mvar and the official code profiled the same way: Linux `perf record` (cpu-clock
# samples of the whole process, 2 threads) over 3 sampling runs at B=1 (random weights, d16, 256 px, cfg 1.5, top-k
# 900, top-p 0.96), symbols grouped into operation types by bench/perf_categories.py; then the fp32 linear layers of
# sampling timed shape by shape in both (`mvar bench gemm`, bench/official_gemm.py).
# .NET's JIT-compiled code and oneDNN's JIT kernels are named through perf maps (DOTNET_PerfMapEnabled,
# ONEDNN_JIT_PROFILE / DNNL_JIT_PROFILE).
# usage: bench/profile.sh [OUTDIR] [ARCH]   (default bench/results/profile, mvar); needs perf (Debian linux-perf) and,
# for the official side, the harness of bench/side-by-side.sh (OFFICIAL_BENCH).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$here/.."
arch=${2:-mvar}
source "$here/profile-common.sh"
profile_setup profile "${1:-$here/results/profile}"
"$here/wait-quiet.sh" 15 600 >&2
perf record -e cpu-clock -F 499 -o "$out/mvar-$arch.perf" -- \
  dotnet "$cli" bench sample --preset "$arch-d16" --batch 1 --warmup 0 --repeats 3 --threads 2 --gemm-size 0 --quiet-share 1 \
  --json "$out/mvar-$arch-sample.json" > "$out/mvar-$arch.log" 2>&1
perf report -i "$out/mvar-$arch.perf" --no-children --sort dso,sym --stdio 2>/dev/null > "$out/mvar-$arch.report.txt"
"$here/wait-quiet.sh" 15 600 >&2
dotnet "$cli" bench gemm --preset "$arch-d16" --batch 1 --threads 2 --json "$out/mvar-$arch-gemm.json" > "$out/mvar-$arch-gemm.txt" 2>&1
if [[ -f $official/bench_ref.py && -d /tmp/ref_mvar ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  so=/tmp/ref_fastblas/libsgemm_dnnl.so
  [[ -f $so ]] || (cd "$official" && /usr/bin/python3 -c 'import bench_ref; bench_ref.ensure_fastblas()')
  "$here/wait-quiet.sh" 15 600 >&2
  OMP_NUM_THREADS=2 LD_PRELOAD=$so perf record -e cpu-clock -F 499 -o "$out/official-$arch.perf" -- \
    /usr/bin/python3 "$official/bench_ref.py" --worker "${arch}_sample" --warmup 0 --repeats 3 > "$out/official-$arch.log" 2>&1
  perf report -i "$out/official-$arch.perf" --no-children --sort dso,sym --stdio 2>/dev/null > "$out/official-$arch.report.txt"
  "$here/wait-quiet.sh" 15 600 >&2
  OMP_NUM_THREADS=2 LD_PRELOAD=$so /usr/bin/python3 "$here/official_gemm.py" "$out/mvar-$arch-gemm.json" "$out/official-$arch-gemm.json" \
    > "$out/official-$arch-gemm.txt" 2>&1
else
  echo "profile: the official harness is not set up (see bench/side-by-side.sh): Mvar alone" >&2
fi
rm -f "$out"/*.perf   # large; the reports keep what is read
python3 "$here/perf_categories.py" "$out" "$arch" | tee "$out/profile-$arch.md"
