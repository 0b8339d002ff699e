#!/usr/bin/env bash
# Writes deploy/startup-order.txt: the functions each release executable runs to start, answer its
# health checks and stop, as callgrind sees them. The link (Package.swift, `lean`) lays these out
# together, so an idle service pages in a few hundred kilobytes of code instead of most of its
# executable. Run it after changes that move much of the start-up path; a stale list only costs
# memory, never correctness. Takes a few minutes (each service runs under valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "startup-order: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
swift build -c release --static-swift-stdlib >/dev/null
dir=$(mktemp -d /tmp/cloudgreet-startup-order.XXXXXX)
trap 'pkill -INT -f "$dir/" 2>/dev/null || true; rm -rf "$dir"' EXIT
services=(gateway identity crm voice-agent messaging analytics)
port=18780  # clear of the benchmarks' ports (18080-18490)
for service in "${services[@]}"; do
  # valgrind cannot read the release build's debug information; the symbol table is all it needs.
  strip -g -o "$dir/$service" ".build/release/cloudgreet-$service"
  env CLOUDGREET_DATA_DIR="$dir" LOG_LEVEL=warning PORT=$port DATABASE_URL="sqlite://$dir/$service.sqlite" \
    valgrind --tool=callgrind --callgrind-out-file="$dir/$service.callgrind" "$dir/$service" >"$dir/$service.log" 2>&1 &
  for _ in $(seq 1 240); do curl -fs "http://127.0.0.1:$port/livez" >/dev/null 2>&1 && break; sleep 0.5; done
  for path in /livez /readyz /health /health; do curl -s "http://127.0.0.1:$port$path" >/dev/null || true; done
  sleep 2
  pkill -INT -f "callgrind.*$dir/$service\$" || true
  wait %% 2>/dev/null || true
  port=$((port + 1))
done
python3 - "$dir" "${services[@]}" >"$dir/order.txt" <<'EOF'
import re, sys
# callgrind's output names each object (ob=, cob=) and function (fn=, cfn=) once, then by number.
names = set()
directory, services = sys.argv[1], sys.argv[2:]
for service in services:
    objects, functions, owner = {}, {}, {}
    current = called = None
    for line in open(f"{directory}/{service}.callgrind", errors="replace"):
        m = re.match(r"^(c?)ob=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3): objects[m.group(2)] = m.group(3).strip()
            if m.group(1): called = objects.get(m.group(2))
            else: current, called = objects.get(m.group(2)), None
            continue
        m = re.match(r"^(c?)fn=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3): functions[m.group(2)] = m.group(3).strip()
            if m.group(1): owner.setdefault(m.group(2), called or current)
            else: owner[m.group(2)], called = current, None
    executable = f"{directory}/{service}"
    names |= {functions[i] for i, o in owner.items()
              if o == executable and i in functions and not functions[i].startswith("0x") and " " not in functions[i]}
print("\n".join(sorted(names)))
EOF
mv "$dir/order.txt" deploy/startup-order.txt
# SwiftPM does not see the list as an input of the link: removing the executables makes the next
# release build link them again, with the new order.
rm -f .build/release/cloudgreet "${services[@]/#/.build/release/cloudgreet-}"
echo "deploy/startup-order.txt: $(wc -l <deploy/startup-order.txt) functions"
