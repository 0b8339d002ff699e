#!/usr/bin/env bash
# Reads over one business with 100,000 leads, 20,000 appointments, 20,000 calls and 50,000
# messages: lead lists (filters, deep pages, search) at 16 connections, and
# GET /api/analytics/overview on a cache miss (ANALYTICS_CACHE_SECONDS=0). The six release
# executables as separate processes on SQLite (default) or PostgreSQL (ENGINE=postgres, inside
# with-postgres.sh), driven by wrk on loopback. Bounded: each run lasts DURATION seconds (default 10).
# Also each executable's start (launch to its first /livez) and resident memory, idle and after the
# load. Figures also go to $BENCH_RESULTS (scripts/bench-results.sh); on PostgreSQL each list and
# analytics figure is set against SQLite's from the same file when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk sqlite3; do
  command -v $tool >/dev/null || { sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq $tool >/dev/null; }
done
engine=${ENGINE:-sqlite}
source scripts/bench-results.sh
declare -A engine_name=([sqlite]=SQLite [postgres]=PostgreSQL)
duration=${DURATION:-10}
release_build
dir=$(mktemp -d /tmp/cloudgreet-bench-data.XXXXXX)
base=${BENCH_PORT:-18180}
services=(gateway identity crm voice-agent messaging analytics)
declare -A port url pid started up
for i in "${!services[@]}"; do port[${services[$i]}]=$((base + i)); done
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

database() {  # the DATABASE_URL of a service
  local name=${1//-/_}
  if [ "$engine" = postgres ]; then
    psql -q "$CLOUDGREET_TEST_POSTGRES_URL" -c "CREATE DATABASE bench_$name" >/dev/null
    echo "${CLOUDGREET_TEST_POSTGRES_URL%/*}/bench_$name"
  else
    echo "sqlite://$dir/$1.sqlite"
  fi
}
sql() {  # runs SQL in a service's database
  if [ "$engine" = postgres ]; then psql -q -v ON_ERROR_STOP=1 "${url[$1]}" >/dev/null; else sqlite3 "$dir/$1.sqlite"; fi
}
pad() { if [ "$engine" = postgres ]; then echo "lpad(($1)::text, 26, '0')"; else echo "printf('%026d', $1)"; fi; }

common=(CLOUDGREET_DATA_DIR="$dir" LOG_LEVEL=warning BCRYPT_COST=10 ANALYTICS_CACHE_SECONDS=0
  RATE_LIMIT_AUTHENTICATED=100000000 RATE_LIMIT_ANONYMOUS=100000000)
for service in "${services[@]}"; do
  var=$(echo "${service//-/_}_URL" | tr a-z A-Z)
  common+=("$var=http://127.0.0.1:${port[$service]}")
done
for service in "${services[@]}"; do
  extra=()
  if [ "$service" != analytics ] && [ "$service" != gateway ]; then
    url[$service]=$(database "$service")
    extra=(DATABASE_URL="${url[$service]}")
  fi
  started[$service]=$(date +%s%N)
  env "${common[@]}" "${extra[@]}" PORT="${port[$service]}" ".build/release/cloudgreet-$service" >"$dir/$service.log" 2>&1 &
  pids+=($!)
  pid[$service]=$!
done
# Footprint: how soon each executable answers /livez, and its resident memory (all of it, and the
# part that is its own: file-backed pages of the one image are shared by every service).
for service in "${services[@]}"; do
  for _ in $(seq 1 1000); do curl -fs "http://127.0.0.1:${port[$service]}/livez" >/dev/null 2>&1 && break; sleep 0.005; done
  up[$service]=$((($(date +%s%N) - started[$service]) / 1000000))
done
for service in "${services[@]}"; do
  for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:${port[$service]}/health" >/dev/null && break; sleep 0.1; done
done
memory() {  # sets $rss and $own (MB) of a service
  read -r rss own < <(awk '/^VmRSS/ {rss = $2} /^RssAnon/ {anon = $2} END {printf "%.1f %.1f\n", rss / 1024, anon / 1024}' \
    "/proc/${pid[$1]}/status")
}
footprint="Start and memory: ${engine_name[$engine]}, six executables"
sleep 1
echo "== $engine: start (to /livez) and idle memory"
for service in "${services[@]}"; do
  memory "$service"
  echo "$service: up in ${up[$service]} ms, $rss MB ($own MB own)"
  bench_result "$footprint" "$service: up" "${up[$service]}" ms "" "" "" "<= 1000 ms"
  bench_result "$footprint" "$service: resident, idle" "$rss" MB "its own (RssAnon)" "$own" "" "<= 30 MB"
done
gateway="http://127.0.0.1:${port[gateway]}"
body='{"email":"bench@example.com","password":"password123","business_name":"Bench"}'
reply=$(curl -fs -X POST "$gateway/api/auth/register" -H 'Content-Type: application/json' -d "$body")
token=$(echo "$reply" | python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["token"])')
business=$(echo "$reply" | python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["business"]["id"])')

echo "== $engine: 100,000 leads, 20,000 appointments, 20,000 calls, 50,000 messages"
series() { echo "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $1)"; }
now=$(($(date +%s) * 1000))
sql crm <<SQL
$(series 100000)
INSERT INTO leads (id, business_id, name, phone, email, source, status, qualification_score, created_at, updated_at)
SELECT 'lead_' || $(pad i), '$business', 'Lead ' || i, '+1555' || $(pad i), 'lead' || i || '@example.com',
       CASE i % 4 WHEN 0 THEN 'call' WHEN 1 THEN 'sms' WHEN 2 THEN 'email' ELSE 'web' END,
       CASE i % 5 WHEN 0 THEN 'qualified' WHEN 1 THEN 'unqualified' WHEN 2 THEN 'converted' ELSE 'new' END,
       CASE WHEN i % 3 = 0 THEN i % 101 END, $now - i * 60000, $now - i * 60000
FROM n;
$(series 20000)
INSERT INTO appointments (id, business_id, lead_id, scheduled_at, ends_at, duration, status, value_cents, created_at, updated_at)
SELECT 'appointment_' || $(pad i), '$business', 'lead_' || $(pad i), $now - i * 3600000, $now - i * 3600000 + 1800000, 30,
       CASE i % 4 WHEN 0 THEN 'completed' WHEN 1 THEN 'cancelled' WHEN 2 THEN 'scheduled' ELSE 'confirmed' END,
       CASE WHEN i % 4 = 0 THEN 10000 + i END, $now - i * 3600000, $now - i * 3600000
FROM n;
SQL
sql voice-agent <<SQL
$(series 20000)
INSERT INTO calls (id, business_id, phone, direction, status, stage, call_control_id, duration, created_at, updated_at)
SELECT 'call_' || $(pad i), '$business', '+1555' || $(pad i), 'inbound',
       CASE i % 3 WHEN 0 THEN 'missed' ELSE 'completed' END, 'ended', 'v3:' || i, 30 + i % 300, $now - i * 60000, $now - i * 60000
FROM n;
SQL
sql messaging <<SQL
$(series 40000)
INSERT INTO sms (id, business_id, phone, message, direction, status, created_at, updated_at)
SELECT 'sms_' || $(pad i), '$business', '+1555' || $(pad i), 'Hello', CASE i % 2 WHEN 0 THEN 'inbound' ELSE 'outbound' END, 'sent',
       $now - i * 60000, $now - i * 60000
FROM n;
$(series 10000)
INSERT INTO emails (id, business_id, to_address, subject, content, status, created_at, updated_at)
SELECT 'email_' || $(pad i), '$business', 'lead' || i || '@example.com', 'Hi', 'Hello', 'sent', $now - i * 60000, $now - i * 60000
FROM n;
SQL
# As autovacuum would soon after a bulk load: statistics, and the visibility map index-only scans need.
[ "$engine" = postgres ] && for service in crm voice-agent messaging; do echo "VACUUM ANALYZE;" | sql $service; done
curl -fs -H "Authorization: Bearer $token" "$gateway/api/analytics/overview" | python3 -c 'import sys, json; print(json.dumps(json.load(sys.stdin)["data"]["leads"]))'
section="Lists and analytics, 100,000 leads: ${engine_name[$engine]}"
record() {  # figure, value, unit, goal: against SQLite's same figure on PostgreSQL
  local peer="" peer_value="" quotient=""
  if [ "$engine" = postgres ] && [ -n "${BENCH_RESULTS:-}" ] && [ -f "$BENCH_RESULTS" ]; then
    peer_value=$(awk -F'\t' -v s="Lists and analytics, 100,000 leads: SQLite" -v f="$1" '$1 == s && $2 == f {v = $3} END {print v}' \
      "$BENCH_RESULTS")
    [ -n "$peer_value" ] && peer=SQLite quotient=$(ratio "$2" "$peer_value")
  fi
  bench_result "$section" "$1" "$2" "$3" "$peer" "$peer_value" "$quotient" "${4:-}"
}
echo "== $engine: wrk, ${duration}s per run; analytics without its cache"
for connections in "1 connection" "4 connections"; do
  wrk_run -t1 -c"${connections% *}" -d"${duration}s" -H "Authorization: Bearer $token" "$gateway/api/analytics/overview"
  wrk_line "analytics/overview, $connections"
  record "GET /api/analytics/overview, $connections" "$rps" req/s
  record "GET /api/analytics/overview, $connections, p99" "$p99" ms
done
wrk_run -t1 -c1 -d"${duration}s" -H "Authorization: Bearer $token" "$gateway/api/analytics/leads/scored"
wrk_line "analytics/leads/scored, 1 connection"
record "GET /api/analytics/leads/scored, 1 connection" "$rps" req/s
record "GET /api/analytics/leads/scored, 1 connection, p99" "$p99" ms
# Lists: the total is exact (kept counts, or the search's own matches), deep pages included: the
# last page, and the middle one, the deepest since pages past the middle are read from the far end.
# The goals: p99 within 20 ms for a list, within 50 ms for a search.
for query in "limit=20" "status=qualified&limit=20" "source=call&page=100&limit=50" "page=5000&limit=20" \
  "page=2500&limit=20" "search=lead%2099999" "search=9999"; do
  wrk_run -t2 -c16 -d"${duration}s" -H "Authorization: Bearer $token" "$gateway/api/leads?$query"
  wrk_line "leads?$query, 16 connections"
  goal="<= 20 ms"
  [[ "$query" == search=* ]] && goal="<= 50 ms"
  record "GET /api/leads?${query//%20/ }, 16 connections" "$rps" req/s
  record "GET /api/leads?${query//%20/ }, 16 connections, p99" "$p99" ms "$goal"
done
echo "== $engine: memory after the load above"
for service in "${services[@]}"; do
  memory "$service"
  echo "$service: $rss MB ($own MB own)"
  # Reported, not judged: the goal is for an idle service; this is what the load left resident.
  bench_result "$footprint" "$service: resident, after the load" "$rss" MB "its own (RssAnon)" "$own"
done
