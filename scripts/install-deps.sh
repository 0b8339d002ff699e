#!/usr/bin/env bash
# Installs what is missing: `run` (the default) what building and running need (and Swagger UI for
# the docs page); `test` also what the tests need (an SMTP server for tests, PostgreSQL, Chromium,
# Node's TypeScript compiler, and the Python checkers in the virtual environment .build/tools).
# Debian/Ubuntu with apt (as root or with sudo); elsewhere it says what to install and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}

if [ "$(uname)" = Darwin ]; then
  # macOS: Foundation and SQLite come with the system; libcurl and PostgreSQL from Homebrew.
  for formula in curl $([ "$purpose" = test ] && echo postgresql@16); do
    brew list "$formula" >/dev/null 2>&1 || { echo "Missing: $formula. Install it with: brew install $formula" >&2; exit 1; }
  done
  exec scripts/install-api-docs.sh
fi

packages=(libcurl4-openssl-dev libsqlite3-dev pkg-config python3-venv)
[ "$purpose" = test ] && packages+=(python3-aiosmtpd postgresql chromium nodejs node-typescript)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_cmd="sudo"; else
      echo "Missing: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "Installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python tools in their own virtual environment, from PyPI.
[ -x .build/tools/bin/python ] || python3 -m venv .build/tools >/dev/null
PIP=".build/tools/bin/python -m pip" scripts/install-api-docs.sh
if [ "$purpose" = test ] && [ ! -x .build/tools/bin/schemathesis ]; then
  # The schema checks of deploy/kubernetes.yaml and docs/openapi.yaml, and the API fuzzer.
  .build/tools/bin/pip install -q kubernetes-validate openapi-spec-validator==0.9.0 schemathesis==4.32.5 cryptography
fi
