#!/usr/bin/env bash
# Throughput through the gateway on a release build of the stack with SQLite, measured with wrk
# from a second process on loopback: identity reads, and crm lists over 100,000 leads in one
# business. Bounded: each run lasts DURATION seconds (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk sqlite3; do
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

echo "== 100,000 leads in one business"
sqlite3 "$dir/crm.sqlite" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO leads (id, business_id, name, phone, email, source, status, created_at, updated_at)
SELECT printf('lead_%026d', i), '$business', 'Lead ' || i, printf('+1555%07d', i), 'lead' || i || '@example.com',
       CASE i % 4 WHEN 0 THEN 'call' WHEN 1 THEN 'sms' WHEN 2 THEN 'email' ELSE 'web' END,
       CASE i % 5 WHEN 0 THEN 'qualified' WHEN 1 THEN 'unqualified' WHEN 2 THEN 'converted' ELSE 'new' END,
       1700000000000 + i, 1700000000000 + i
FROM n;
SQL
for query in "limit=20" "status=qualified&limit=20" "source=call&page=100&limit=50" "search=lead%2099999"; do
  echo "-- GET /api/leads?$query"
  wrk -t2 -c16 -d"${duration}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/leads?$query" \
    | grep -E "Requests/sec|50%|99%"
done
