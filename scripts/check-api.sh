#!/usr/bin/env bash
# The API as clients see it, against live stacks (scripts/with-stack.sh): docs/openapi.yaml is a
# valid OpenAPI document; schemathesis finds no 5xx, no answer off its schema and no undocumented
# status (bounded by FUZZ_SECONDS, default 180); the docs page shows the operations in headless
# Chromium; and both SDKs pass their tests. Needs `make test-deps` and a built stack.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.build/tools/bin
export STACK_PORT=${STACK_PORT:-18480}

echo "== the spec validates"
$tools/openapi-spec-validator docs/openapi.yaml

echo "== schemathesis against the live stack (as an admin's API key)"
fuzz() {
  local register key
  register=$(curl -fsS -X POST "$CLOUDGREET_BASE_URL/auth/register" -H 'Content-Type: application/json' \
    -d '{"email":"fuzz@example.com","password":"password123","business_name":"Fuzz Plumbing"}')
  key=$(python3 - "$register" <<'PY'
import json, sys, urllib.request
data = json.loads(sys.argv[1])["data"]
request = urllib.request.Request(
    f"{__import__('os').environ['CLOUDGREET_BASE_URL']}/businesses/{data['business']['id']}/api-keys",
    data=json.dumps({"name": "fuzz", "role": "admin"}).encode(), method="POST",
    headers={"Authorization": f"Bearer {data['token']}", "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request))["data"]["key"])
PY
)
  # One worker: with two, Hypothesis's strategy descriptions race between threads (a KeyError
  # inside schemathesis, seen in CI), which fails the run without any fault of the API.
  $tools/schemathesis run "$CLOUDGREET_BASE_URL/openapi.json" --url "$CLOUDGREET_BASE_URL" \
    -H "X-API-Key: $key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-time "${FUZZ_SECONDS:-180}" --max-examples "${FUZZ_EXAMPLES:-25}" --seed "${FUZZ_SEED:-1}" \
    --workers 1 --request-timeout 10 --suppress-health-check all --no-color
}
export -f fuzz
export tools
RATE_LIMIT_AUTHENTICATED=1000000 RATE_LIMIT_ANONYMOUS=1000000 RATE_LIMIT_WEBHOOK=1000000 \
  scripts/with-stack.sh bash -c fuzz

echo "== the docs page renders the operations in headless Chromium"
docs_page() {
  local dom
  dom=$(chromium --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir="$(mktemp -d)" \
    --virtual-time-budget=15000 --dump-dom "${CLOUDGREET_BASE_URL}/docs" 2>/dev/null)
  # Swagger UI draws one block per operation, each with its path.
  for path in /leads /appointments/{id}/remind /agents/{id}/start /analytics/overview /retell/webhook; do
    grep -q "data-path=\"$path\"" <<<"$dom" || { echo "the docs page does not show $path" >&2; exit 1; }
  done
  echo "the docs page shows $(grep -o 'class="opblock-summary-path"' <<<"$dom" | wc -l) operations"
}
export -f docs_page
scripts/with-stack.sh bash -c docs_page

echo "== the Python SDK against the live stack"
PYTHON=$tools/python clients/python/run-tests.sh

echo "== the TypeScript SDK against the live stack"
clients/typescript/run-tests.sh
