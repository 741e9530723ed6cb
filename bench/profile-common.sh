# Sourced by bench/profile.sh and bench/profile-train.sh: the checks and set-up both profiles share.
# profile_setup NAME OUTDIR: needs perf, makes OUTDIR, builds mvar (Release), records lscpu, names the JIT code of
# .NET and oneDNN through perf maps; sets $cli (the Release Mvar.Cli.dll) and $official (the official harness).
profile_setup() {
  local name=$1
  out=$2
  official=${OFFICIAL_BENCH:-$root/../shared/official-bench}
  command -v perf >/dev/null || { echo "$name: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
  mkdir -p "$out"
  "$root/mvar" --help >/dev/null 2>&1 || { echo "$name: mvar does not build" >&2; exit 1; }
  cli="$root/src/Mvar.Cli/bin/Release/net10.0/Mvar.Cli.dll"
  lscpu > "$out/lscpu.txt"
  export DOTNET_PerfMapEnabled=1 ONEDNN_JIT_PROFILE=1 DNNL_JIT_PROFILE=1
}
