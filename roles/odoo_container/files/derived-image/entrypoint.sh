#!/bin/bash
# Entrypoint of the derived Odoo image. Unlike the official one, it never appends --db_password (or any
# other --db_* option) to the command line: the odoo_container role writes every db_* option to odoo.conf
# (ODOO_RC), so the password stays out of `ps` and `docker inspect`.
set -euo pipefail
: "${ODOO_RC:=/etc/odoo/odoo.conf}"
if [ "${1:-odoo}" = odoo ] || [ "${1:0:1}" = - ]; then
  [ "${1:-}" = odoo ] && shift
  # Wait for PostgreSQL with the values of odoo.conf only (the official image's wait-for-psql.py reads them too).
  wait-for-psql.py --timeout=30
  exec odoo -c "${ODOO_RC}" "$@"
fi
exec "$@"
