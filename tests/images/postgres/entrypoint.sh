#!/bin/sh
# Initialise the cluster on first start, then run the server in the foreground.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
if [ "${1:-}" = "postgres" ] && [ ! -s "${PGDATA}/PG_VERSION" ]; then
  password="${POSTGRES_PASSWORD:-}"
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    password="$(cat "${POSTGRES_PASSWORD_FILE}")"
  fi
  if [ -z "${password}" ]; then
    echo "lab-postgres: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE for the superuser" >&2
    exit 1
  fi
  pwfile="$(mktemp)"
  printf '%s\n' "${password}" >"${pwfile}"
  # Local socket: peer (docker exec as postgres); network: scram-sha-256 only.
  initdb -D "${PGDATA}" -U "${POSTGRES_USER:-postgres}" --pwfile="${pwfile}" \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  rm -f "${pwfile}"
  echo "host all all all scram-sha-256" >>"${PGDATA}/pg_hba.conf"
  printf "listen_addresses = '*'\npassword_encryption = 'scram-sha-256'\n" >>"${PGDATA}/postgresql.conf"
  echo "lab-postgres: cluster initialised in ${PGDATA}" >&2
fi
if [ "${1:-}" = "postgres" ]; then
  shift
  exec postgres -D "${PGDATA}" "$@"
fi
exec "$@"
