#!/usr/bin/env bash
# Throughput through the gateway on a release build of the stack with SQLite, measured with wrk
# from a second process on loopback: identity reads and the gateway alone (lead lists and search
# over 100,000 leads are in bench-data.sh, on both engines). Bounded: each run lasts DURATION
# seconds (default 10). Figures also go to $BENCH_RESULTS (scripts/bench-results.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk; do
  command -v $tool >/dev/null || { sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq $tool >/dev/null; }
done
source scripts/bench-results.sh
release_build --product cloudgreet
dir=$(mktemp -d /tmp/cloudgreet-bench.XXXXXX)
port=${BENCH_PORT:-18080}
duration=${DURATION:-10}
source scripts/bench-stack.sh
trap 'if [ -n "${stack:-}" ]; then kill "$stack"; wait "$stack"; fi 2>/dev/null; rm -rf "$dir"' EXIT
start_bench_stack
section="The stack in one process, SQLite, 32 connections"
echo "== $section, ${duration}s per run"
wrk_run -t2 -c32 -d"${duration}s" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/businesses/$business"
wrk_line "GET /api/businesses/{id} (JWT, proxy, read)"
read_rps=$rps read_p99=$p99
wrk_run -t2 -c32 -d"${duration}s" "http://127.0.0.1:$port/health"
wrk_line "GET /health (the gateway alone)"
bench_result "$section" "GET /health (the gateway alone)" "$rps" req/s
bench_result "$section" "GET /health, p99" "$p99" ms
bench_result "$section" "GET /api/businesses/{id}" "$read_rps" req/s "GET /health" "$rps" "$(ratio "$read_rps" "$rps")"
bench_result "$section" "GET /api/businesses/{id}, p99" "$read_p99" ms "GET /health" "$p99" "$(ratio "$read_p99" "$p99")"
