#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: a temporary directory, a free port on
# 127.0.0.1, trust authentication. The cluster is stopped and removed when the command ends.
# The command sees CLOUDGREET_TEST_POSTGRES_URL (an admin URL; tests create their own databases).
set -euo pipefail
# Debian keeps the server binaries out of PATH; Homebrew (macOS) puts them on it.
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -x "$bindir/initdb" ] || bindir=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
[ -x "$bindir/initdb" ] || { echo "PostgreSQL server binaries not found: install postgresql (apt) or postgresql@16 (brew)" >&2; exit 1; }
dir=$(mktemp -d /tmp/cloudgreet-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir"
  as_owner=(runuser -u postgres --)
fi
cleanup() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
export CLOUDGREET_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "PostgreSQL for tests at 127.0.0.1:$port"
"$@"
