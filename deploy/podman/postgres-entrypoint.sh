#!/bin/sh
# Stands in for the official postgres image's entrypoint on machines that cannot pull it: the same
# variables (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB) and /docker-entrypoint-initdb.d scripts,
# run once on an empty data directory while the server listens on its socket only.
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
data=/var/lib/postgresql/data
mkdir -p "$data" /run/postgresql
chown -R postgres:postgres "$data" /run/postgresql
if [ ! -s "$data/PG_VERSION" ]; then
  echo "$POSTGRES_PASSWORD" > /tmp/pw
  chown postgres /tmp/pw
  su postgres -c "$bin/initdb -D $data -U $POSTGRES_USER --auth-local=trust --auth-host=scram-sha-256 --pwfile=/tmp/pw" >/dev/null
  rm -f /tmp/pw
  echo "host all all all scram-sha-256" >> "$data/pg_hba.conf"
  su postgres -c "$bin/pg_ctl -D $data -o \"-c listen_addresses=''\" -w start" >/dev/null
  database=${POSTGRES_DB:-$POSTGRES_USER}
  if [ "$database" != postgres ]; then
    su postgres -c "psql -U $POSTGRES_USER -d postgres -c 'CREATE DATABASE \"$database\"'" >/dev/null
  fi
  for script in /docker-entrypoint-initdb.d/*.sql; do
    if [ -e "$script" ]; then
      su postgres -c "psql -v ON_ERROR_STOP=1 -U $POSTGRES_USER -d $database -f $script" >/dev/null
    fi
  done
  su postgres -c "$bin/pg_ctl -D $data -m fast -w stop" >/dev/null
fi
exec su postgres -c "$bin/postgres -D $data -c listen_addresses='*'"
