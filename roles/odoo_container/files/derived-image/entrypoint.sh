#!/usr/bin/env bash
# Entrypoint of the derived Odoo image (built by the odoo_container role, tasks/image.yml).
# Unlike the official entrypoint it never puts a secret on the command line (no --db_password, no
# --db_* at all): database options come from odoo.conf (ODOO_RC), and the secrets from files:
#   ODOO_DB_PASSWORD_FILE             -> PGPASSWORD, which libpq uses when odoo.conf has no db_password
#   ODOO_SESSION_REDIS_PASSWORD_FILE  -> ODOO_SESSION_REDIS_URL redis[s]://[user]:password@host:port/0
#                                        (ODOO_SESSION_REDIS_USER/_HOST/_PORT/_SSL), read by session_redis
# Exported variables live in the process environment only: `docker inspect` and `ps` never show them.
set -euo pipefail
: "${ODOO_RC:=/etc/odoo/odoo.conf}"
export ODOO_RC

if [ -n "${ODOO_DB_PASSWORD_FILE:-}" ]; then
  # $(<file) drops the trailing newline(s) a secret file usually ends with.
  PGPASSWORD="$(<"${ODOO_DB_PASSWORD_FILE}")"
  export PGPASSWORD
fi

if [ -n "${ODOO_SESSION_REDIS_PASSWORD_FILE:-}" ]; then
  # Python reads the file itself (program on stdin), so the password is never an argument of any process.
  ODOO_SESSION_REDIS_URL="$(python3 - <<'PY'
import os
from urllib.parse import quote

env = os.environ
with open(env["ODOO_SESSION_REDIS_PASSWORD_FILE"], encoding="utf-8") as secret:
    password = secret.read().rstrip("\r\n")
scheme = "rediss" if env.get("ODOO_SESSION_REDIS_SSL", "").lower() in ("1", "true", "yes", "on") else "redis"
user = quote(env.get("ODOO_SESSION_REDIS_USER", ""), safe="")
host = env.get("ODOO_SESSION_REDIS_HOST", "localhost")
if ":" in host and not host.startswith("["):
    host = f"[{host}]"
port = env.get("ODOO_SESSION_REDIS_PORT", "6379")
print(f"{scheme}://{user}:{quote(password, safe='')}@{host}:{port}/0")
PY
)"
  export ODOO_SESSION_REDIS_URL
fi

wait_for_postgresql() {
  # The official wait-for-psql.py wants every --db_* option (the password too) on its command line; this wait
  # takes odoo.conf's values, then libpq's PG* variables (PGPASSWORD above), and passes nothing on argv.
  python3 - <<'PY'
import configparser
import os
import sys
import time

import psycopg2

rc = configparser.RawConfigParser()
rc.read(os.environ["ODOO_RC"])
options = dict(rc.items("options")) if rc.has_section("options") else {}
keys = {"host": "db_host", "port": "db_port", "user": "db_user", "password": "db_password", "sslmode": "db_sslmode"}
params = {key: options[name] for key, name in keys.items() if options.get(name) not in (None, "", "False", "false")}
deadline, error = time.monotonic() + int(os.environ.get("ODOO_DB_WAIT_TIMEOUT", "30")), None
while time.monotonic() < deadline:
    try:
        psycopg2.connect(dbname="postgres", connect_timeout=5, **params).close()
        sys.exit(0)
    except psycopg2.OperationalError as exc:
        error = exc
    time.sleep(1)
print(f"Database connection failure: {error}", file=sys.stderr)
sys.exit(1)
PY
}

if [ "${1:-odoo}" = odoo ] || [ "${1:0:1}" = - ]; then
  [ "${1:-}" = odoo ] && shift
  wait_for_postgresql
  exec odoo -c "${ODOO_RC}" "$@"
fi
exec "$@"
