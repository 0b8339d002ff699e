# Sourced by the benchmarks: how they build, run wrk, record what they measured, and make what a direct call
# to a service needs (a lead, an internal credential).
#
# bench_result SECTION FIGURE VALUE UNIT [PEER PEER_VALUE RATIO GOAL] appends one figure to the file
# named by $BENCH_RESULTS (nothing when it is unset), one line of eight tab-separated fields that
# scripts/bench-report.py turns into the results table of docs/BENCHMARKS.md:
#   section     the table the figure belongs to ("Gateway and nginx: GET /api/leads/{id}")
#   figure      what was measured ("gateway, 32 connections")
#   value unit  the figure, a plain number ("3241.5", "0.94") and its unit ("req/s", "ms")
#   peer        what it is compared with ("nginx, 32 connections"), and that figure (same unit)
#   ratio       how they compare, as written: "0.51x" (a quotient) or "+0.59 ms" (a difference)
#   goal        the issue's goal when it gives one. Written like a ratio (">= 0.8x", or a signed
#               difference: "<= +0.2 ms") it applies to the ratio, else ("<= 20 ms") to the value
# Empty fields stay empty; values are numbers without thousands separators.
bench_result() {
  [ -n "${BENCH_RESULTS:-}" ] || return 0
  local fields=("$@")
  while [ ${#fields[@]} -lt 8 ]; do fields+=(""); done
  (IFS=$'\t'; echo "${fields[*]}") >>"$BENCH_RESULTS"
}

# release_build [ARGS...]: the release build the benchmarks measure, as the image is built (the
# Swift libraries linked in; Package.swift's `lean` adds the rest). Quiet.
release_build() {
  swift build -c release --static-swift-stdlib "$@" >/dev/null
}

# wrk_run ARGS...: runs `wrk --latency ARGS...` and sets $rps (requests per second) and $p50, $p90,
# $p99 (milliseconds), and $failed (non-2xx answers plus socket errors, which a benchmark must not
# count as served reads: a warning names them).
wrk_run() {
  local out
  out=$(wrk --latency "$@")
  read -r rps p50 p90 p99 failed < <(echo "$out" | awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000; return v
    }
    /Requests\/sec/ {rps = $2} / 50%/ {p50 = ms($2)} / 90%/ {p90 = ms($2)} / 99%/ {p99 = ms($2)}
    /Non-2xx/ {failed += $NF} /Socket errors/ {gsub(/,/, ""); failed += $4 + $6 + $8 + $10}
    END {printf "%s %.3f %.3f %.3f %d\n", rps, p50, p90, p99, failed}')
  [ "$failed" -eq 0 ] || echo "warning: $failed failed requests in: wrk $*" >&2
}

# wrk_line LABEL: one line for the last wrk_run
wrk_line() { printf "%-52s %8.0f req/s  p50 %7.2f  p90 %7.2f  p99 %7.2f ms\n" "$1" "$rps" "$p50" "$p90" "$p99"; }

# ratio A B: A/B as "0.51x"; difference A B: A-B as "+0.59 ms"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", (b > 0 ? a / b : 0)}'; }
difference() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.2f ms", a - b}'; }

# bench_lead GATEWAY_URL TOKEN: creates one lead and prints its id.
bench_lead() {
  curl -fs -X POST "$1/api/leads" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
    -d '{"name":"Bench Lead","phone":"+15555550100","email":"lead@example.com"}' \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["id"])'
}

# bench_credential USER BUSINESS: the internal credential the gateway would mint for that admin (HS256
# with the development INTERNAL_SECRET), valid for an hour, for calling a service directly.
bench_credential() {
  python3 - "$1" "$2" <<'PY'
import base64, hashlib, hmac, json, sys, time
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
now = int(time.time())
claims = {"iss": "gateway", "aud": "cloudgreet-internal", "kind": "user", "sub": sys.argv[1], "business_id": sys.argv[2],
          "role": "admin", "rid": "req_bench", "iat": now, "exp": now + 3600}
signing = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
secret = b"dev-only-internal-secret-change-me-0123456789"
print(signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest()))
PY
}

# bench_nginx_conf DIR IDENTITY_PORT CRM_PORT LISTEN_PORT CREDENTIAL [TOP...]: writes DIR/nginx.conf,
# nginx in front of identity and crm as the gateway would be (keep-alive upstreams, the credential
# added), with TOP lines first ("daemon off;" to run it in the foreground).
bench_nginx_conf() {
  local dir=$1 identity=$2 crm=$3 listen=$4 credential=$5
  shift 5
  {
    printf '%s\n' "$@"
    cat <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx.error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  upstream identity { server 127.0.0.1:$identity; keepalive 64; }
  upstream crm { server 127.0.0.1:$crm; keepalive 64; }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header X-Internal-Token "$credential";
  server {
    listen 127.0.0.1:$listen;
    location /api/businesses/ { proxy_pass http://identity/businesses/; }
    location /api/leads/ { proxy_pass http://crm/leads/; }
  }
}
CONF
  } >"$dir/nginx.conf"
}
