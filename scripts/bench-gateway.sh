#!/usr/bin/env bash
# What the gateway costs, side by side in one run on a release build, for two authenticated reads:
# one business from identity (`GET /api/businesses/{id}`) and one lead from crm (`GET /api/leads/{id}`,
# a lead created first). Each read three ways: straight to the service with a pre-minted internal
# credential, through nginx adding that credential (one worker, keep-alive to the upstreams), and
# through the gateway (JWT, rate limit, credential, proxy). wrk on loopback with 32 connections and
# with 1; DURATION seconds per run (default 10). Prints req/s, p50 and p99 of each, then the issue's
# two ratios: gateway/nginx throughput at 32 connections (goal >= 0.8x) and gateway p50 minus direct
# p50 at 1 connection (goal <= +0.2 ms). Figures also go to $BENCH_RESULTS (scripts/bench-results.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk nginx; do
  command -v $tool >/dev/null || { sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq $tool >/dev/null; }
done
source scripts/bench-results.sh
release_build --product cloudgreet
dir=$(mktemp -d /tmp/cloudgreet-bench-gateway.XXXXXX)
port=${BENCH_PORT:-18280}
identity=$((port + 1))
crm=$((port + 2))
proxy=$((port + 10))
duration=${DURATION:-10}
source scripts/bench-stack.sh
stack=""
cleanup() {
  if [ -f "$dir/nginx.pid" ]; then
    kill "$(cat "$dir/nginx.pid")" 2>/dev/null
    for _ in $(seq 1 50); do [ -f "$dir/nginx.pid" ] || break; sleep 0.1; done
  fi
  [ -n "$stack" ] && kill "$stack" 2>/dev/null && wait "$stack" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
start_bench_stack
lead=$(bench_lead "http://127.0.0.1:$port" "$token")
credential=$(bench_credential "$user" "$business")
bench_nginx_conf "$dir" "$identity" "$crm" "$proxy" "$credential"
nginx -c "$dir/nginx.conf" -p "$dir"

measure() {  # read name, service name, its port, path without /api
  local read=$1 service=$2 service_port=$3 path=$4 connections way threads
  local section="Gateway and nginx: $read"
  declare -A url header
  url[direct]="http://127.0.0.1:$service_port$path" header[direct]="X-Internal-Token: $credential"
  url[nginx]="http://127.0.0.1:$proxy/api$path" header[nginx]="X-Bench: nginx"
  url[gateway]="http://127.0.0.1:$port/api$path" header[gateway]="Authorization: Bearer $token"
  # Each way must really read it (a refusal would be fast and prove nothing).
  for way in direct nginx gateway; do
    curl -fs "${url[$way]}" -H "${header[$way]}" | grep -q '"success":true' || { echo "$way: $read does not answer" >&2; exit 1; }
  done
  echo "== $read ($service), release build, wrk on loopback, ${duration}s per run"
  declare -A r50 r99 rs
  for connections in 32 1; do
    threads=$([ "$connections" -gt 1 ] && echo 2 || echo 1)
    for way in direct nginx gateway; do
      wrk_run -t"$threads" -c"$connections" -d"${duration}s" -H "${header[$way]}" "${url[$way]}"
      printf "%-8s c=%-3s %10.0f req/s  p50 %7.2f ms  p99 %7.2f ms\n" "$way" "$connections" "$rps" "$p50" "$p99"
      rs[$way$connections]=$rps r50[$way$connections]=$p50 r99[$way$connections]=$p99
    done
  done
  local throughput added
  throughput=$(ratio "${rs[gateway32]}" "${rs[nginx32]}")
  added=$(difference "${r50[gateway1]}" "${r50[direct1]}")
  echo "gateway/nginx throughput, 32 connections: $throughput (goal >= 0.8x)"
  echo "gateway p50 - direct p50, 1 connection: $added (goal <= +0.2 ms)"
  bench_result "$section" "direct to $service, 32 connections" "${rs[direct32]}" req/s
  bench_result "$section" "nginx, 32 connections" "${rs[nginx32]}" req/s "direct" "${rs[direct32]}" \
    "$(ratio "${rs[nginx32]}" "${rs[direct32]}")"
  bench_result "$section" "gateway, 32 connections" "${rs[gateway32]}" req/s "nginx" "${rs[nginx32]}" "$throughput" ">= 0.8x"
  for way in direct nginx gateway; do
    local peer=""
    [ $way = nginx ] && peer=direct
    [ $way = gateway ] && peer=nginx
    bench_result "$section" "$way, 32 connections, p99" "${r99[${way}32]}" ms "$peer" "${r99[${peer}32]:-}" \
      "$([ -n "$peer" ] && ratio "${r99[${way}32]}" "${r99[${peer}32]}")"
  done
  bench_result "$section" "direct to $service, 1 connection, p50" "${r50[direct1]}" ms
  bench_result "$section" "nginx, 1 connection, p50" "${r50[nginx1]}" ms "direct" "${r50[direct1]}" \
    "$(difference "${r50[nginx1]}" "${r50[direct1]}")"
  bench_result "$section" "gateway, 1 connection, p50" "${r50[gateway1]}" ms "direct" "${r50[direct1]}" "$added" "<= +0.2 ms"
  for way in direct nginx gateway; do
    local peer=""
    [ $way != direct ] && peer=direct
    bench_result "$section" "$way, 1 connection, p99" "${r99[${way}1]}" ms "$peer" "${r99[${peer}1]:-}" \
      "$([ -n "$peer" ] && difference "${r99[${way}1]}" "${r99[${peer}1]}")"
  done
}
measure "GET /api/businesses/{id}" identity "$identity" "/businesses/$business"
measure "GET /api/leads/{id}" crm "$crm" "/leads/$lead"
