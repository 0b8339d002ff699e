# Sourced by the benchmarks: starts the release stack (`cloudgreet`) on $port with SQLite in $dir,
# rate limits out of the way, waits for it, and registers one owner: sets $stack (its pid),
# $token, $user and $business. Extra VAR=value settings for the stack go as arguments.
start_bench_stack() {
  env CLOUDGREET_DATA_DIR="$dir" PORT="$port" LOG_LEVEL=warning BCRYPT_COST=10 RATE_LIMIT_AUTHENTICATED=100000000 \
    RATE_LIMIT_ANONYMOUS=100000000 "$@" .build/release/cloudgreet >"$dir/stack.log" 2>&1 &
  stack=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  local reply
  reply=$(curl -fs -X POST "http://127.0.0.1:$port/api/auth/register" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"password123","business_name":"Bench"}')
  read -r token user business < <(echo "$reply" | python3 -c '
import sys, json; d = json.load(sys.stdin)["data"]; print(d["token"], d["user"]["id"], d["business"]["id"])')
}
