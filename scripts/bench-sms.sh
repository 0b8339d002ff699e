#!/usr/bin/env bash
# Outbound SMS end to end: POST /api/sms through the gateway to messaging, which sends each text to a
# local stand-in for Telnyx's `POST /v2/messages` over libcurl and records it. wrk drives 32
# connections for DURATION seconds (default 10) against a release build on SQLite. Meanwhile a second
# client asks messaging's own /livez once every 10 ms: its latency is the event loops' lag, which
# stays low only if no libcurl transfer ever runs on a loop. Figures also go to $BENCH_RESULTS
# (scripts/bench-results.sh). A second, slow phase has the stand-in answer after 50 ms and reads the lag
# messaging measures itself (event_loop_lag_seconds on /metrics): a transfer on a loop would show there.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq wrk >/dev/null; }
source scripts/bench-results.sh
release_build --product cloudgreet
dir=$(mktemp -d /tmp/cloudgreet-bench-sms.XXXXXX)
port=${BENCH_PORT:-18380}
telnyx=$((port + 20))
duration=${DURATION:-10}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

# Telnyx's answer to a sent message, as its documentation shows it (keep-alive, so libcurl reuses
# connections as it would with Telnyx).
echo 0 >"$dir/delay"
python3 - "$telnyx" "$dir/delay" >"$dir/telnyx.log" 2>&1 <<'PY' &
import json, socket, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Telnyx(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        # The slow phase writes a delay (seconds) here: Telnyx as slow as it is over the internet.
        try:
            time.sleep(float(open(sys.argv[2]).read() or 0))
        except (OSError, ValueError):
            pass
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
read -r fast_rps fast_p50 fast_p99 <<<"$rps $p50 $p99"  # the slow phase's wrk_line sets them again
wait $lag
read -r samples lag50 lag99 lagmax <"$dir/lag.txt"
echo "messaging /livez during the load: $samples samples, p50 $lag50 ms, p99 $lag99 ms, max $lagmax ms"
sent=$(curl -fs "http://127.0.0.1:$port/api/sms?limit=1" -H "Authorization: Bearer $token" \
  | python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["pagination"]["total"])')
echo "texts recorded: $sent"

# Lag as the process itself sees it: messaging's event_loop_lag_seconds histogram (25 ms ticks on
# every loop), read before and after a phase. Prints the p99 bucket bound and the count of ticks.
lag_snapshot() { curl -fs "http://127.0.0.1:$((port + 4))/metrics" | grep '^event_loop_lag_seconds_bucket' >"$1"; }
lag_p99() {
  python3 - "$1" "$2" <<'PY'
import re, sys
def read(path):
    return {m.group(1): float(m.group(2)) for m in (re.search(r'le="([^"]+)"\} (\S+)', line) for line in open(path)) if m}
before, after = read(sys.argv[1]), read(sys.argv[2])
delta = {le: after[le] - before.get(le, 0) for le in after}
total = delta.get("+Inf", 0)
bound = next((le for le, count in sorted(((le, c) for le, c in delta.items() if le != "+Inf"), key=lambda x: float(x[0]))
              if count >= 0.99 * total), "+Inf")
print(f"{float(bound) * 1000:g}" if bound != "+Inf" else "inf", int(total))
PY
}
lag_snapshot "$dir/lag-before"
# The slow phase: Telnyx answering after 50 ms, so each transfer holds a libcurl thread that long.
# Were a transfer ever run on an event loop, the loops' ticks would be late by about as much.
echo 0.05 >"$dir/delay"
slow=$((duration / 2 > 3 ? duration / 2 : 3))
echo "== POST /api/sms, 8 connections, ${slow}s, Telnyx answering after 50 ms"
wrk_run -t1 -c8 -d"${slow}s" -s "$dir/post.lua" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/sms"
wrk_line "POST /api/sms, slow Telnyx"
slow_rps=$rps
lag_snapshot "$dir/lag-after"
read -r slow_lag99 ticks < <(lag_p99 "$dir/lag-before" "$dir/lag-after")
echo "messaging's event loops during the slow phase: $ticks ticks, 99 % of them late by at most $slow_lag99 ms"

section="Outbound texts: POST /api/sms, 32 connections, to a local Telnyx"
bench_result "$section" "texts sent end to end" "$fast_rps" texts/s "" "" "" ">= 500 texts/s"
bench_result "$section" "POST /api/sms, p50" "$fast_p50" ms
bench_result "$section" "POST /api/sms, p99" "$fast_p99" ms
bench_result "$section" "messaging /livez during the load, p50" "$lag50" ms
bench_result "$section" "messaging /livez during the load, p99" "$lag99" ms
bench_result "$section" "messaging /livez during the load, max" "$lagmax" ms
bench_result "$section" "texts sent, Telnyx answering after 50 ms (8 connections)" "$slow_rps" texts/s
bench_result "$section" "event-loop lag inside messaging with the slow Telnyx, p99 (25 ms ticks)" "$slow_lag99" ms
