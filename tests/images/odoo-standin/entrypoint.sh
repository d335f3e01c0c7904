#!/usr/bin/env bash
# Same contract as the official odoo image's /entrypoint.sh: HOST/PORT/USER/PASSWORD (or the
# linked-container and POSTGRES_* variables, or PASSWORD_FILE) become --db_* arguments unless
# odoo.conf sets them or the matching PG* variable is set; then wait for PostgreSQL and exec odoo.
set -e

if [ -v PASSWORD_FILE ]; then
  PASSWORD="$(<"${PASSWORD_FILE}")"
fi
: "${HOST:=${DB_PORT_5432_TCP_ADDR:=db}}"
: "${PORT:=${DB_PORT_5432_TCP_PORT:=5432}}"
: "${USER:=${DB_ENV_POSTGRES_USER:=${POSTGRES_USER:=odoo}}}"
: "${PASSWORD:=${DB_ENV_POSTGRES_PASSWORD:=${POSTGRES_PASSWORD:=odoo}}}"

DB_ARGS=()
add_db_arg() {
  local option="$1" value="$2" pg_var="$3"
  if [[ -v "${pg_var}" ]]; then
    return
  fi
  if ! grep -qE "^\s*\b${option}\b\s*=" "${ODOO_RC}"; then
    DB_ARGS+=("--${option}" "${value}")
  fi
}
add_db_arg db_host "${HOST}" PGHOST
add_db_arg db_port "${PORT}" PGPORT
add_db_arg db_user "${USER}" PGUSER
add_db_arg db_password "${PASSWORD}" PGPASSWORD

case "$1" in
  -- | odoo)
    shift
    wait-for-psql.py "${DB_ARGS[@]}" --timeout=30
    exec odoo "$@" "${DB_ARGS[@]}"
    ;;
  -*)
    wait-for-psql.py "${DB_ARGS[@]}" --timeout=30
    exec odoo "$@" "${DB_ARGS[@]}"
    ;;
  *)
    exec "$@"
    ;;
esac
