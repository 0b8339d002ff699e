#!/usr/bin/env bash
# Throughput through the gateway on a release build of the stack with SQLite, measured with wrk
# from a second process on loopback: identity reads and the gateway alone (lead lists and search
# over 100,000 leads are in bench-data.sh, on both engines). Bounded: each run lasts DURATION
# seconds (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk; do
  command -v $tool >/dev/null || { sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq $tool >/dev/null; }
done
swift build -c release --product cloudgreet >/dev/null
dir=$(mktemp -d /tmp/cloudgreet-bench.XXXXXX)
port=${BENCH_PORT:-18080}
duration=${DURATION:-10}
source scripts/bench-stack.sh
trap 'kill $stack 2>/dev/null; wait $stack 2>/dev/null; rm -rf "$dir"' EXIT
start_bench_stack
echo "== GET /api/businesses/{id} (JWT check, rate limit, proxy to identity, SQLite read)"
wrk -t2 -c32 -d"${duration}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/businesses/$business"
echo "== GET /health on the gateway itself (no upstream)"
wrk -t2 -c32 -d"${duration}s" --latency "http://127.0.0.1:$port/health"
