#!/usr/bin/env bash
# Outbound SMS end to end: POST /api/sms through the gateway to messaging, which sends each text to a
# local stand-in for Telnyx's `POST /v2/messages` over libcurl and records it. wrk drives 32
# connections for DURATION seconds (default 10) against a release build on SQLite. Meanwhile a second
# client asks messaging's own /livez once every 10 ms: its latency is the event loops' lag, which
# stays low only if no libcurl transfer ever runs on a loop. Figures also go to $BENCH_RESULTS
# (scripts/bench-results.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product cloudgreet >/dev/null
dir=$(mktemp -d /tmp/cloudgreet-bench-sms.XXXXXX)
port=${BENCH_PORT:-18380}
telnyx=$((port + 20))
duration=${DURATION:-10}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

# Telnyx's answer to a sent message, as its documentation shows it (keep-alive, so libcurl reuses
# connections as it would with Telnyx).
python3 - "$telnyx" >"$dir/telnyx.log" 2>&1 <<'PY' &
import json, socket, sys, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Telnyx(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"data": {"id": str(uuid.uuid4()), "record_type": "message",
                                    "to": [{"phone_number": "+15552010000", "status": "queued"}]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Telnyx).serve_forever()
PY
pids+=($!)
source scripts/bench-stack.sh
source scripts/bench-results.sh
start_bench_stack TELNYX_API_KEY=bench-key TELNYX_API_BASE="http://127.0.0.1:$telnyx/v2"
pids+=("$stack")
# One text first, so that a broken path fails here rather than as a fast stream of errors.
curl -fs -X POST "http://127.0.0.1:$port/api/sms" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"phone":"+15552010000","message":"Your appointment is confirmed"}' | grep -q '"status":"queued"\|"status":"sent"'
cat >"$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"phone":"+15552010000","message":"Your appointment is confirmed"}'
wrk.headers["Content-Type"] = "application/json"
LUA
messaging="http://127.0.0.1:$((port + 4))/livez"
python3 - "$messaging" "$duration" >"$dir/lag.txt" <<'PY' &
import sys, time, urllib.request
url, duration = sys.argv[1], float(sys.argv[2])
samples, end = [], time.time() + duration
while time.time() < end:
    start = time.perf_counter()
    urllib.request.urlopen(url).read()
    samples.append((time.perf_counter() - start) * 1000)
    time.sleep(0.01)
samples.sort()
print(len(samples), f"{samples[len(samples) // 2]:.3f}", f"{samples[int(len(samples) * 0.99)]:.3f}", f"{samples[-1]:.3f}")
PY
lag=$!
echo "== POST /api/sms, 32 connections, ${duration}s: gateway, messaging, libcurl to a local Telnyx"
wrk_run -t2 -c32 -d"${duration}s" -s "$dir/post.lua" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/sms"
wrk_line "POST /api/sms"
wait $lag
read -r samples lag50 lag99 lagmax <"$dir/lag.txt"
echo "messaging /livez during the load: $samples samples, p50 $lag50 ms, p99 $lag99 ms, max $lagmax ms"
sent=$(curl -fs "http://127.0.0.1:$port/api/sms?limit=1" -H "Authorization: Bearer $token" \
  | python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["pagination"]["total"])')
echo "texts recorded: $sent"
section="Outbound texts: POST /api/sms, 32 connections, to a local Telnyx"
bench_result "$section" "texts sent end to end" "$rps" texts/s "" "" "" ">= 500 texts/s"
bench_result "$section" "POST /api/sms, p50" "$p50" ms
bench_result "$section" "POST /api/sms, p99" "$p99" ms
bench_result "$section" "messaging /livez during the load, p50" "$lag50" ms
bench_result "$section" "messaging /livez during the load, p99" "$lag99" ms
bench_result "$section" "messaging /livez during the load, max" "$lagmax" ms
