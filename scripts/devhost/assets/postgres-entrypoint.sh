#!/bin/bash
# Entrypoint of the dev tier's PostgreSQL image (Debian's postgresql-18), with the contract the compose
# file relies on from the official image: for the `postgres` command, POSTGRES_USER/POSTGRES_PASSWORD
# create the superuser on an empty data directory, /docker-entrypoint-initdb.d/*.sql run once, then the
# server runs as postgres. Any other command (pgBackRest's backups and restores) runs as it is.
set -euo pipefail

export PGDATA="${PGDATA:-/var/lib/postgresql/18/docker}"

[[ "${1:-}" == postgres ]] || exec "$@"

if [[ "$(id -u)" -eq 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  : "${POSTGRES_USER:?POSTGRES_USER must be set}" "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  # Other containers connect over the network; Debian's default listens on localhost only.
  printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
  pg_ctl --wait --silent -o "-c listen_addresses=''" start
  for script in /docker-entrypoint-initdb.d/*.sql; do
    [[ -e "$script" ]] && psql --quiet -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$script"
  done
  pg_ctl --wait --silent -m fast stop
fi

exec "$@"
