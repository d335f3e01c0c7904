#!/usr/bin/env bash
# Build-time set-up of the legacy host fixture: an Odoo install the way people did it by hand
# (source tree in /opt/odoo, the odoo user's home there, no data_dir, a superuser database role,
# trust on the local socket and md5 over TCP) with two databases that hold attachments.
# Every value the integration test asserts is fixed here.
set -euo pipefail
export ODOO_VERSION=16.0

# Addons: Odoo's own (base in odoo/addons, web/sale/stock in addons) and two custom paths.
manifest() {  # <dir> <name> <version>
  mkdir -p "$1"
  : >"$1/__init__.py"
  printf "{'name': '%s', 'version': '%s', 'license': 'LGPL-3'}\n" "$2" "$3" >"$1/__manifest__.py"
}
manifest /opt/odoo/odoo/addons/base "Base" "16.0.1.3"
for m in web sale stock; do manifest "/opt/odoo/addons/${m}" "${m}" "16.0.1.0"; done
manifest "/opt/odoo/custom addons/lgx_fleet" "Logistics fleet" "16.0.2.1.0"
manifest "/opt/odoo/custom addons/lgx_customs" "Customs declarations" "16.0.1.0.4"
manifest /opt/odoo/oca/web/web_responsive "Web Responsive" "16.0.1.1.2"
mkdir -p /opt/odoo/oca/web/setup  # not a module: no manifest

# PostgreSQL 15 "as found": md5 passwords, trust on the socket, the Odoo role a superuser.
conf=/etc/postgresql/15/main
sed -i "s/^#\?password_encryption.*/password_encryption = md5/" "${conf}/postgresql.conf"
cat >"${conf}/pg_hba.conf" <<'HBA'
# Left as the previous admin set it up.
local   all             postgres                                peer
local   all             all                                     trust
host    all             all             127.0.0.1/32            md5
host    all             all             ::1/128                 md5
HBA
pg_ctlcluster 15 main start
runuser -u postgres -- psql -qX -c "CREATE ROLE odoo LOGIN SUPERUSER PASSWORD '0d00%legacy'"

as_odoo() { su odoo -s /bin/bash -c "export ODOO_VERSION=${ODOO_VERSION}; cd /opt/odoo && $1"; }
for db in erp_main shop_legacy; do
  as_odoo "python3 /opt/odoo/odoo-bin -c /etc/odoo/odoo.conf -d ${db} -i base --stop-after-init"
done
# Attachments through the stand-in's ir.attachment write (filestore under ~odoo/.local/share/Odoo).
as_odoo "python3 - <<'PY'
import sys
sys.path.insert(0, '/opt/odoo-standin')
from standin import config, db
cfg = config.load(['-c', '/etc/odoo/odoo.conf'])
files = {
    'erp_main': [('cmr-0001.pdf', b'CMR 0001\n' * 100), ('pod-0002.pdf', b'POD 0002\n' * 200),
                 ('invoice-0003.pdf', b'INV 0003\n' * 300)],
    'shop_legacy': [('logo.png', b'LOGO\n' * 50), ('terms.pdf', b'TERMS\n' * 70)],
}
for name, items in files.items():
    for fname, data in items:
        db.create_attachment(cfg, name, fname, data, res_model='res.partner', res_id=1)
PY"
psql_odoo() { runuser -u postgres -- psql -qX -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
# Installed modules: custom ones, and one whose code is no longer on the host (lgx_ghost).
psql_odoo erp_main "INSERT INTO ir_module_module (name, state, latest_version) VALUES
  ('lgx_fleet', 'installed', '16.0.2.1.0'), ('web_responsive', 'installed', '16.0.1.1.2'),
  ('lgx_ghost', 'installed', '16.0.1.0.0'), ('sale', 'uninstalled', NULL);
  INSERT INTO res_users (login, active, share) VALUES ('dispatch1', true, false), ('dispatch2', true, false),
  ('accounting', true, false), ('portal.customer', true, true), ('left.company', false, false);"
psql_odoo shop_legacy "INSERT INTO ir_module_module (name, state, latest_version) VALUES
  ('lgx_customs', 'installed', '16.0.1.0.4');"
pg_ctlcluster 15 main stop
