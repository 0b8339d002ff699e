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
CLOUDGREET_DATA_DIR="$dir" PORT=$port LOG_LEVEL=warning BCRYPT_COST=10 RATE_LIMIT_AUTHENTICATED=100000000 \
  RATE_LIMIT_ANONYMOUS=100000000 .build/release/cloudgreet >"$dir/stack.log" 2>&1 &
stack=$!
trap 'kill $stack 2>/dev/null; wait $stack 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
body='{"email":"bench@example.com","password":"password123","business_name":"Bench"}'
reply=$(curl -fs -X POST "http://127.0.0.1:$port/api/auth/register" -H 'Content-Type: application/json' -d "$body")
token=$(echo "$reply" | python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["token"])')
business=$(echo "$reply" | python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["business"]["id"])')
echo "== GET /api/businesses/{id} (JWT check, rate limit, proxy to identity, SQLite read)"
wrk -t2 -c32 -d"${duration}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/businesses/$business"
echo "== GET /health on the gateway itself (no upstream)"
wrk -t2 -c32 -d"${duration}s" --latency "http://127.0.0.1:$port/health"
