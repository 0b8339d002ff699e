#!/usr/bin/env bash
# Runs the Python SDK's tests against a live development stack (scripts/with-stack.sh): makes a
# fresh Telnyx Ed25519 key pair and Retell key for the stack's webhook checks, a small
# authenticated rate limit (40 per 2 s) so the retry test can hit a 429, and hands the keys to
# the tests. Needs python3 with `cryptography` (pip install "cloudgreet-api[webhooks]").
# Extra arguments go to unittest (e.g. -v, -k test_pages). The stack binary: CLOUDGREET_BIN, else
# scripts/with-stack.sh's default (.build/debug/cloudgreet).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}

read -r private public retell < <("$python" - <<'PY'
import base64, secrets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
key = ed25519.Ed25519PrivateKey.generate()
seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
print(base64.b64encode(seed).decode(), base64.b64encode(public).decode(), "key_" + secrets.token_hex(24))
PY
)

export CLOUDGREET_TEST_TELNYX_PRIVATE_KEY=$private TELNYX_PUBLIC_KEY=$public RETELL_API_KEY=$retell
export RATE_LIMIT_AUTHENTICATED=40 RATE_LIMIT_WINDOW_SECONDS=2
export STACK_PORT=${STACK_PORT:-18620}
cd "$repo"
exec scripts/with-stack.sh "$python" -m unittest discover -s clients/python/tests -t clients/python "$@"
