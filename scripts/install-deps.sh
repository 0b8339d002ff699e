#!/usr/bin/env bash
# Installs what is missing: `run` (the default) what building and running need; `test` also what the
# tests need (an SMTP server for tests, PostgreSQL, and kubernetes-validate in .build/tools).
# Debian/Ubuntu with apt (as root or with sudo); elsewhere it says what to install and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}

if [ "$(uname)" = Darwin ]; then
  # macOS: Foundation and SQLite come with the system; libcurl and PostgreSQL from Homebrew.
  for formula in curl $([ "$purpose" = test ] && echo postgresql@16); do
    brew list "$formula" >/dev/null 2>&1 || { echo "Missing: $formula. Install it with: brew install $formula" >&2; exit 1; }
  done
  exit 0
fi

packages=(libcurl4-openssl-dev libsqlite3-dev pkg-config)
[ "$purpose" = test ] && packages+=(python3-aiosmtpd postgresql python3-venv)
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

if [ "$purpose" = test ] && [ ! -x .build/tools/bin/kubernetes-validate ]; then
  # The schema check of deploy/kubernetes.yaml, from PyPI, in its own virtual environment.
  python3 -m venv .build/tools >/dev/null
  .build/tools/bin/pip install -q kubernetes-validate
fi
