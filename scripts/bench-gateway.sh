#!/usr/bin/env bash
# What the gateway costs, side by side in one run on a release build: the same authenticated read
# (`GET /businesses/{id}` on identity) straight to the service with a pre-minted internal credential,
# through nginx adding that credential (keep-alive to the upstream), and through the gateway (JWT,
# rate limit, credential, proxy). wrk on loopback, 32 connections and 1; DURATION seconds per run.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk nginx; do
  command -v $tool >/dev/null || { sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq $tool >/dev/null; }
done
swift build -c release --product cloudgreet >/dev/null
dir=$(mktemp -d /tmp/cloudgreet-bench-gateway.XXXXXX)
port=${BENCH_PORT:-18280}
identity=$((port + 1))
proxy=$((port + 10))
duration=${DURATION:-10}
source scripts/bench-stack.sh
trap 'kill $stack 2>/dev/null; [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null; wait $stack 2>/dev/null; rm -rf "$dir"' EXIT
start_bench_stack
# The credential the gateway would mint (HS256 with the development INTERNAL_SECRET), valid for the run.
credential=$(python3 - "$user" "$business" <<'PY'
import base64, hashlib, hmac, json, sys, time
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
now = int(time.time())
claims = {"iss": "gateway", "aud": "cloudgreet-internal", "kind": "user", "sub": sys.argv[1], "business_id": sys.argv[2],
          "role": "admin", "rid": "req_bench", "iat": now, "exp": now + 3600}
signing = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
secret = b"dev-only-internal-secret-change-me-0123456789"
print(signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest()))
PY
)
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx.error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  upstream identity { server 127.0.0.1:$identity; keepalive 64; }
  server {
    listen 127.0.0.1:$proxy;
    location /api/ {
      proxy_pass http://identity/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Internal-Token "$credential";
    }
  }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir"
path="/businesses/$business"
run() {  # name, connections, url, header
  wrk -t$([ "$2" -gt 1 ] && echo 2 || echo 1) -c"$2" -d"${duration}s" --latency -H "$4" "$3" \
    | awk -v name="$1" -v c="$2" '/Requests\/sec/ {rps=$2} / 50%/ {p50=$2} / 99%/ {p99=$2} END {printf "%-8s c=%-3s %10s req/s  p50 %9s  p99 %9s\n", name, c, rps, p50, p99}'
}
# Each way must really read the business (a refusal would be fast and prove nothing).
curl -fs "http://127.0.0.1:$identity$path" -H "X-Internal-Token: $credential" | grep -q "\"success\":true"
curl -fs "http://127.0.0.1:$proxy/api$path" | grep -q "\"success\":true"
curl -fs "http://127.0.0.1:$port/api$path" -H "Authorization: Bearer $token" | grep -q "\"success\":true"
echo "== GET $path (identity reads one business), release build, wrk on loopback"
for connections in 32 1; do
  run direct $connections "http://127.0.0.1:$identity$path" "X-Internal-Token: $credential"
  run nginx $connections "http://127.0.0.1:$proxy/api$path" "X-Bench: nginx"
  run gateway $connections "http://127.0.0.1:$port/api$path" "Authorization: Bearer $token"
done
