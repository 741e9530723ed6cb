#!/usr/bin/env bash
# Counts how many of the fuzz suite's cases (tests/Mvar.Tests/Fuzz) held on another revision of Mvar (default: main):
# builds bench/fuzz against that revision's library in a temporary folder and runs every format's cases, restarting
# after a case that crashes the process (stack overflow, abort) or does not answer within 5 s (both count as not held).
# Usage: bench/fuzz-before.sh [REV] [CASES]   -> one line per format: "FORMAT: N cases, H held"; details in $out/FORMAT.log
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rev="${1:-main}" cases="${2:-300}"
work="$(mktemp -d)" out="${OUT:-$work/logs}"
mkdir -p "$out"
git -C "$here" archive "$rev" src/Mvar build Directory.Build.props Directory.Build.targets | tar -x -C "$work"
mkdir -p "$work/bench/fuzz" "$work/tests/Mvar.Tests/Fuzz"
cp "$here"/bench/fuzz/{Fuzz.csproj,Program.cs} "$work/bench/fuzz/"
cp "$here"/tests/Mvar.Tests/Fuzz/{FuzzCases.cs,FuzzRunner.cs} "$work/tests/Mvar.Tests/Fuzz/"
nice -n 19 dotnet build "$work/bench/fuzz/Fuzz.csproj" -c Release -nologo -v q >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
dll="$work/bench/fuzz/bin/Release/net10.0/Fuzz.dll"
export DOTNET_GCHeapHardLimit=0x100000000   # 4 GiB of managed heap: a runaway reader fails instead of taking the machine
for f in pickle zip safetensors npy image config; do
  log="$out/$f.log"; : >"$log"; next=0
  while (( next < cases )); do
    nice -n 19 dotnet "$dll" "$f" "$next" "$cases" >>"$log" 2>"$out/$f.stderr" || true
    last=$(grep -aoE '^case [0-9]+' "$log" | tail -1 | awk '{print $2}')
    last=${last:--1}
    if (( last + 1 < next )); then last=$((next - 1)); fi   # it died on its first case
    if (( last + 1 >= cases )); then break; fi
    if grep -aqE "^case $last FAILED: no answer" "$log"; then next=$((last + 1)); continue; fi
    echo "case $((last + 1)) FAILED: the process died ($(grep -a -m1 -oE 'Stack overflow|terminate called|Out of memory|OutOfMemory|Unhandled exception[^.]*' "$out/$f.stderr" || echo "exit without output"))" >>"$log"
    next=$((last + 2))
  done
  echo "$f: $(grep -ac '^case' "$log") cases, $(grep -ac '^case [0-9]* held' "$log") held"
done
echo "logs: $out"
