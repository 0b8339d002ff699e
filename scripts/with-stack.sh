#!/usr/bin/env bash
# Runs a command against a live stack: the development stack (`cloudgreet`, every service on
# SQLite in a fresh folder) on STACK_PORT (default 18480), with CLOUDGREET_BASE_URL set to its
# `/api` for the command. The stack is stopped when the command ends; its log is printed if the
# command fails. Settings for the stack (rate limits, webhook keys) pass through the environment.
# Expects a built stack: `swift build --product cloudgreet`, or CLOUDGREET_BIN naming the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${CLOUDGREET_BIN:-.build/debug/cloudgreet}
[ -x "$binary" ] || { echo "with-stack: $binary is missing; run swift build --product cloudgreet" >&2; exit 1; }
port=${STACK_PORT:-18480}
for offset in 0 1 2 3 4 5; do
  if (exec 3<>/dev/tcp/127.0.0.1/$((port + offset))) 2>/dev/null; then
    echo "with-stack: port $((port + offset)) is taken; set STACK_PORT" >&2
    exit 1
  fi
done
dir=$(mktemp -d /tmp/cloudgreet-stack.XXXXXX)
CLOUDGREET_DATA_DIR="$dir" PORT=$port LOG_LEVEL=${LOG_LEVEL:-warning} BCRYPT_COST=${BCRYPT_COST:-4} \
  "$binary" >"$dir/stack.log" 2>&1 &
stack=$!
stop() {
  kill "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT
base="http://127.0.0.1:$port/api"
for _ in $(seq 1 300); do
  curl -fsS "$base/health?cache=false" 2>/dev/null | grep -q '"overall":"healthy"' && break
  kill -0 "$stack" 2>/dev/null || { cat "$dir/stack.log" >&2; echo "with-stack: the stack exited" >&2; exit 1; }
  sleep 0.1
done
status=0
CLOUDGREET_BASE_URL=$base "$@" || status=$?
if [ $status -ne 0 ]; then
  echo "with-stack: '$*' failed ($status); the stack's log ends:" >&2
  tail -40 "$dir/stack.log" >&2
fi
exit $status
