#!/usr/bin/env bash
# Instructions per request, counted with callgrind: unlike wall-clock figures they hardly move with
# the machine's load (about 1 % between runs), so one run is enough and small changes show. The same
# two reads as bench-gateway.sh (`GET /api/businesses/{id}` on identity, `GET /api/leads/{id}` on
# crm), each the same three ways: straight to the service with a pre-minted internal credential,
# through nginx adding that credential (keep-alive upstream), and through the gateway. The release
# executables cloudgreet-gateway, cloudgreet-identity and cloudgreet-crm and one nginx process
# (`master_process off`) each run under `valgrind --tool=callgrind` at once, on SQLite. For each read
# and way: WARMUP sequential keep-alive requests (default 200), the counters of the processes on the
# path zeroed, REQUESTS more (default 1000), the counters dumped, and what the process does idle in
# that time (its timers, counted beforehand for IDLE seconds, default 5) taken off. A path's
# instructions per request are the service's plus those of nginx or the gateway. Debian's valgrind
# cannot read the DWARF 5 that Swift writes, so the executables are counted on copies without debug
# information (`objcopy --strip-debug`). Figures also go to $BENCH_RESULTS (scripts/bench-results.sh).
# About two minutes on two cores once built.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in valgrind nginx objcopy; do
  package=$tool
  [ $tool = objcopy ] && package=binutils
  command -v $tool >/dev/null || { sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq $package >/dev/null; }
done
services=(gateway identity crm)
source scripts/bench-results.sh
for service in "${services[@]}"; do release_build --product "cloudgreet-$service"; done
dir=$(mktemp -d /tmp/cloudgreet-bench-instructions.XXXXXX)
base=${BENCH_PORT:-18480}
warmup=${WARMUP:-200}
requests=${REQUESTS:-1000}
declare -A port=([gateway]=$base [identity]=$((base + 1)) [crm]=$((base + 2)) [nginx]=$((base + 10)))
declare -A pid dumps
cleanup() {
  for name in "${!pid[@]}"; do kill "${pid[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

common=(CLOUDGREET_DATA_DIR="$dir" LOG_LEVEL=warning BCRYPT_COST=4 RATE_LIMIT_AUTHENTICATED=100000000
  RATE_LIMIT_ANONYMOUS=100000000)
offset=0
for service in gateway identity crm voice-agent messaging analytics; do  # the last three are not started
  var=$(echo "${service//-/_}_URL" | tr a-z A-Z)
  common+=("$var=http://127.0.0.1:$((base + offset))")
  offset=$((offset + 1))
done
callgrind() {  # name, VAR=value..., command...: runs it under callgrind, its dumps in $dir/<name>.cg.<n>
  local name=$1 settings=()
  shift
  while [[ "$1" == *=* ]]; do settings+=("$1"); shift; done
  env "${settings[@]}" valgrind --tool=callgrind --callgrind-out-file="$dir/$name.cg" "$@" >"$dir/$name.log" 2>&1 &
  pid[$name]=$!
  dumps[$name]=0
}
for service in "${services[@]}"; do
  objcopy --strip-debug ".build/release/cloudgreet-$service" "$dir/cloudgreet-$service"
  callgrind "$service" "${common[@]}" PORT="${port[$service]}" "$dir/cloudgreet-$service"
done
ready() {  # name, url: waits for a 200 from url while the process lives (valgrind starts slowly)
  for _ in $(seq 1 600); do
    curl -fs "$2" >/dev/null 2>&1 && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || break
    sleep 0.2
  done
  echo "$1 did not start under valgrind:" >&2
  tail -n 40 "$dir/$1.log" >&2
  exit 1
}
for service in "${services[@]}"; do ready "$service" "http://127.0.0.1:${port[$service]}/health"; done
reply=$(curl -fs -X POST "http://127.0.0.1:${port[gateway]}/api/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"password123","business_name":"Bench"}')
read -r token user business < <(echo "$reply" | python3 -c '
import sys, json; d = json.load(sys.stdin)["data"]; print(d["token"], d["user"]["id"], d["business"]["id"])')
lead=$(bench_lead "http://127.0.0.1:${port[gateway]}" "$token")
credential=$(bench_credential "$user" "$business")
bench_nginx_conf "$dir" "${port[identity]}" "${port[crm]}" "${port[nginx]}" "$credential" "daemon off;" "master_process off;"
callgrind nginx nginx -c "$dir/nginx.conf" -p "$dir"
ready nginx "http://127.0.0.1:${port[nginx]}/api/businesses/$business"

# Sequential GETs on one keep-alive connection; every answer must be a 200.
cat >"$dir/load.py" <<'PY'
import http.client, sys
port, path, header, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
name, value = header.split(": ", 1)
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
for _ in range(count):
    connection.request("GET", path, headers={name: value})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"GET {path}: {response.status} {body[:200]!r}")
PY
now_ms() { echo $(($(date +%s%N) / 1000000)); }
declare -A zeroed idle
zero() {  # names: their counters to zero
  for name in "$@"; do
    callgrind_control -z "${pid[$name]}" >/dev/null 2>&1
    zeroed[$name]=$(now_ms)
  done
}
dump() {  # name: sets $counted to its instructions since it was zeroed and $window to the milliseconds since
  local name=$1 file
  window=$(($(now_ms) - ${zeroed[$name]}))
  callgrind_control -d "${pid[$name]}" >/dev/null 2>&1
  dumps[$name]=$((${dumps[$name]} + 1))
  file="$dir/$name.cg.${dumps[$name]}"
  for _ in $(seq 1 100); do grep -q '^totals:' "$file" 2>/dev/null && break; sleep 0.1; done
  counted=$(awk '/^summary:/ {print $2; exit}' "$file")
}
# Timers run whether requests come or not (each service's event-loop lag tick every 25 ms, for one).
# Natively they are a rounding error per request, but under callgrind a thousand requests take tens
# of seconds: what each process does idle is counted first, per second, and taken off its counts.
zero gateway identity crm nginx
sleep "${IDLE:-5}"
for name in gateway identity crm nginx; do
  dump $name
  idle[$name]=$((counted * 1000 / window))
done
count() {  # service, way, port, path, header: sets $service_count and $front_count (per request)
  local service=$1 way=$2 front=$2
  [ "$way" = direct ] && front=""
  python3 "$dir/load.py" "$3" "$4" "$5" "$warmup"
  zero $service $front
  python3 "$dir/load.py" "$3" "$4" "$5" "$requests"
  dump "$service"
  service_count=$(((counted - ${idle[$service]} * window / 1000) / requests))
  front_count=0
  if [ -n "$front" ]; then
    dump "$front"
    front_count=$(((counted - ${idle[$front]} * window / 1000) / requests))
  fi
}
echo "== instructions per request (callgrind; $requests sequential keep-alive requests after $warmup; ready in ${SECONDS}s)"
echo "idle, per second, taken off: gateway ${idle[gateway]}, identity ${idle[identity]}, crm ${idle[crm]}, nginx ${idle[nginx]}"
measure() {  # read name, service, path without /api
  local read=$1 service=$2 path=$3 section="Instructions per request: $1"
  declare -A total own serving
  count "$service" direct "${port[$service]}" "$path" "X-Internal-Token: $credential"
  serving[direct]=$service_count total[direct]=$service_count
  count "$service" nginx "${port[nginx]}" "/api$path" "X-Bench: nginx"
  serving[nginx]=$service_count own[nginx]=$front_count total[nginx]=$((service_count + front_count))
  count "$service" gateway "${port[gateway]}" "/api$path" "Authorization: Bearer $token"
  serving[gateway]=$service_count own[gateway]=$front_count total[gateway]=$((service_count + front_count))
  echo "-- $read"
  printf "direct   %10d  (%s)\n" "${total[direct]}" "$service"
  printf "nginx    %10d  (%s %d + nginx %d), %s direct\n" "${total[nginx]}" "$service" "${serving[nginx]}" "${own[nginx]}" \
    "$(ratio "${total[nginx]}" "${total[direct]}")"
  printf "gateway  %10d  (%s %d + gateway %d), %s the nginx path\n" "${total[gateway]}" "$service" "${serving[gateway]}" \
    "${own[gateway]}" "$(ratio "${total[gateway]}" "${total[nginx]}")"
  bench_result "$section" "direct to $service" "${total[direct]}" instructions
  bench_result "$section" "through nginx ($service + nginx)" "${total[nginx]}" instructions direct "${total[direct]}" \
    "$(ratio "${total[nginx]}" "${total[direct]}")"
  bench_result "$section" "through the gateway ($service + gateway)" "${total[gateway]}" instructions "through nginx" \
    "${total[nginx]}" "$(ratio "${total[gateway]}" "${total[nginx]}")"
  bench_result "$section" "gateway process alone" "${own[gateway]}" instructions "nginx process alone" "${own[nginx]}" \
    "$(ratio "${own[gateway]}" "${own[nginx]}")"
  bench_result "$section" "$service behind the gateway" "${serving[gateway]}" instructions "$service behind nginx" \
    "${serving[nginx]}" "$(ratio "${serving[gateway]}" "${serving[nginx]}")"
}
measure "GET /api/businesses/{id}" identity "/businesses/$business"
measure "GET /api/leads/{id}" crm "/leads/$lead"
echo "counted in ${SECONDS}s"
