#!/usr/bin/env bash
# Builds the TypeScript SDK and runs its tests against a live development stack.
#
#   clients/typescript/run-tests.sh            # from anywhere; installs nothing
#
# Needs: node >= 18 and tsc (Debian: apt-get install -y node-typescript), and a built stack
# (`swift build --product cloudgreet`, or CLOUDGREET_BIN naming the binary). The stack is started by
# scripts/with-stack.sh on STACK_PORT (default here 18640, and the five ports after it) with a fresh
# Ed25519 key for Telnyx webhooks, a random Retell key, and a small rate limit (40 per 2 s) so that
# the suite can see a 429 and its retry.
set -euo pipefail
sdk="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$sdk/../.." && pwd)"

command -v node >/dev/null || { echo "run-tests: node is missing (Node >= 18 is needed)" >&2; exit 1; }
if ! command -v tsc >/dev/null; then
  echo "run-tests: tsc is missing; install TypeScript (Debian: apt-get install -y node-typescript)" >&2
  exit 1
fi
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
  { echo "run-tests: Node >= 18 is needed, found $(node --version)" >&2; exit 1; }

echo "run-tests: tsc $(tsc --version | sed 's/^Version //') -p $sdk"
rm -rf "$sdk/dist"
tsc -p "$sdk"
echo "run-tests: type-checking a consumer of dist/*.d.ts (test-support/consumer.ts)"
tsc -p "$sdk/test-support"

# A fresh Ed25519 key pair: the stack gets the public key, the tests the private one to sign with.
keys="$(node --input-type=module -e '
import { generateKeyPairSync } from "node:crypto";
const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
process.stdout.write(raw.toString("base64") + "\n" + Buffer.from(privateKey.export({ format: "pem", type: "pkcs8" })).toString("base64"));
')"
TELNYX_PUBLIC_KEY="$(sed -n 1p <<<"$keys")"
CLOUDGREET_TEST_TELNYX_PRIVATE_KEY="$(sed -n 2p <<<"$keys" | base64 -d)"
RETELL_API_KEY="key_test_$(node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("hex"))')"
export TELNYX_PUBLIC_KEY CLOUDGREET_TEST_TELNYX_PRIVATE_KEY RETELL_API_KEY
export RATE_LIMIT_AUTHENTICATED=40 RATE_LIMIT_WINDOW_SECONDS=2
# Retell "configured" but pointed at a closed local port: starting an agent fails fast with a 502
# (the SDK's ExternalServiceError) and nothing ever leaves this machine.
export RETELL_API_BASE="${RETELL_API_BASE:-http://127.0.0.1:9}"
export STACK_PORT="${STACK_PORT:-18640}"

# Arguments (test files or folders, relative to where the script was started) go to `node --test`.
targets=()
for target in "$@"; do targets+=("$(realpath "$target")"); done
[ ${#targets[@]} -gt 0 ] || targets=("$sdk/test/")
cd "$repo"
exec scripts/with-stack.sh node --test "${targets[@]}"
