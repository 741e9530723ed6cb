#!/usr/bin/env bash
# Bounded load test of `mvar serve`: starts a server on a free loopback port, sends REQUESTS POST /api/samples
# (one sample each, classes 0..9 in turn, seed = request number, default cfg/top-k/top-p, so all are batchable)
# from CLIENTS concurrent curl clients, checks that every request got a 200 PNG, prints p50/p95 latency and
# throughput, and stops the server.
# usage: bench/serve-load.sh [--max-batch N] [--requests 64] [--clients 8] [-- MODEL OPTIONS...]
#   default models: the parity-tiny MVAR fixture (tests/data/parity-tiny-mvar.json, parity/vae.pth, parity/mvar.pth)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
requests=64 clients=8 max_batch=16
models=(--config tests/data/parity-tiny-mvar.json --vae tests/data/parity/vae.pth --model tests/data/parity/mvar.pth)
while (( $# )); do
  case $1 in
    --max-batch) max_batch=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --) shift; models=("$@"); break ;;
    *) echo "serve-load: unknown argument $1" >&2; exit 2 ;;
  esac
done
./mvar --help >/dev/null   # build first, outside the measurement
log=$(mktemp) times=$(mktemp)
./mvar serve "${models[@]}" --port 0 --max-batch "$max_batch" --queue "$requests" 2>"$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log" "$times"' EXIT
for _ in $(seq 600); do grep -q 'http://' "$log" && break; kill -0 $server 2>/dev/null || { cat "$log" >&2; exit 1; }; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$log" | head -1)
[[ -n $url ]] || { echo "serve-load: the server printed no address" >&2; cat "$log" >&2; exit 1; }
curl -sf -X POST -d '{"class": 0, "seed": 0}' "$url/api/samples" -o /dev/null   # warm-up, not counted

start=$(date +%s.%N)
seq 0 $((requests - 1)) | xargs -P "$clients" -I{} sh -c \
  'curl -s -o /dev/null -w "%{http_code} %{content_type} %{time_total}\n" --max-time 300 -X POST -d "{\"class\": $(({} % 10)), \"seed\": {}}" '"$url"'/api/samples' \
  >"$times"
end=$(date +%s.%N)

ok=$(grep -c '^200 image/png ' "$times" || true)
got=$(wc -l <"$times")
batches=$(grep -c 'batch of' "$log" || true)
sort -k3 -g "$times" | awk -v n="$got" -v ok="$ok" -v want="$requests" -v wall="$(echo "$end - $start" | bc)" -v mb="$max_batch" -v c="$clients" '
  { t[NR] = $3 }
  END {
    p50 = t[int(0.50 * n + 0.999)]; p95 = t[int(0.95 * n + 0.999)];
    printf "max-batch %d: %d requests from %d clients: %d answered, %d ok (200 PNG), %d lost or failed; ", mb, want, c, n, ok, want - ok
    printf "p50 %.3f s, p95 %.3f s, max %.3f s; %.2f s wall, %.1f requests/s\n", p50, p95, t[n], wall, n / wall
  }'
grep -o 'batch of [0-9]*' "$log" | sort | uniq -c | sort -k4 -n | awk '{ printf "  %d request(s) served in a batch of %d\n", $1, $4 }'
[[ $ok -eq $requests ]]
