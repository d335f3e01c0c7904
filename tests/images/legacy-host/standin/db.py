"""PostgreSQL side: connections (at most db_maxconn per process), database init, attachments."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import threading
import uuid

import psycopg2
from psycopg2 import sql

from . import MAJOR, SERIE

_logger = logging.getLogger("odoo.sql_db")


class PoolError(Exception):
    """Raised like Odoo's PoolError when a process already holds db_maxconn connections."""


def connection_info(cfg, dbname):
    """The psycopg2 keywords Odoo builds (odoo.sql_db.connection_info_for)."""
    info = {"dbname": dbname, "application_name": f"odoo-{os.getpid()}"}
    for key in ("host", "port", "user", "password", "sslmode"):
        value = cfg.get("db_" + key)
        if value:
            info[key] = value
    return info


class ConnectionPool:
    """A per-process pool: never more than ``maxconn`` open connections (Odoo's ConnectionPool)."""

    def __init__(self, maxconn, connect=psycopg2.connect):
        self.maxconn = max(int(maxconn), 1)
        self._connect = connect
        self._lock = threading.Lock()
        self._entries = []  # [connection, key, in use]

    def __len__(self):
        return len(self._entries)

    def borrow(self, info):
        """Reuse an idle connection to the same DSN, else open one if the pool has room."""
        key = tuple(sorted((k, str(v)) for k, v in info.items() if k != "application_name"))
        with self._lock:
            for entry in list(self._entries):
                if entry[1] == key and not entry[2]:
                    try:  # as Odoo: an idle connection is reset first, a dead one is dropped
                        entry[0].reset()
                    except psycopg2.Error:
                        with contextlib.suppress(Exception):
                            entry[0].close()
                        self._entries.remove(entry)
                        continue
                    entry[2] = True
                    return entry[0]
            if len(self._entries) >= self.maxconn:
                idle = [e for e in self._entries if not e[2]]
                if not idle:
                    raise PoolError("The Connection Pool Is Full")
                idle[0][0].close()
                self._entries.remove(idle[0])
            conn = self._connect(**info)
            self._entries.append([conn, key, True])
            return conn

    def give_back(self, conn, keep=True):
        """Return a connection; a broken one is closed and forgotten."""
        with self._lock:
            for entry in self._entries:
                if entry[0] is conn:
                    if keep and not conn.closed:
                        entry[2] = False
                    else:
                        self._entries.remove(entry)
                        with contextlib.suppress(Exception):
                            conn.close()
                    return


_POOL = None


def pool(cfg):
    """This process's pool (created after fork, so workers never share connections)."""
    global _POOL  # noqa: PLW0603 - one pool per process, as odoo.sql_db
    if _POOL is None or _POOL.pid != os.getpid():
        _POOL = ConnectionPool(cfg["db_maxconn"])
        _POOL.pid = os.getpid()
    return _POOL


@contextlib.contextmanager
def cursor(cfg, dbname, autocommit=False):
    """A cursor in a transaction committed on success; the connection goes back to the pool."""
    p = pool(cfg)
    conn = p.borrow(connection_info(cfg, dbname))
    ok = False
    try:
        conn.autocommit = autocommit
        with conn.cursor() as cr:
            yield cr
        if not autocommit:
            conn.commit()
        ok = True
    finally:
        if not ok and not conn.closed:
            with contextlib.suppress(Exception):
                conn.rollback()
        p.give_back(conn, keep=ok)


def db_filter(dbs, host, dbfilter, db_name):
    """odoo.http.db_filter: %h is the host without port and one leading ``www.``, %d its first label."""
    if dbfilter:
        host = (host or "").partition(":")[0]
        if host.startswith("www."):
            host = host[4:]
        domain = host.partition(".")[0]
        pattern = re.compile(dbfilter.replace("%h", re.escape(host)).replace("%d", re.escape(domain)))
        return [db for db in dbs if pattern.match(db)]
    if db_name:
        exposed = {db.strip() for db in str(db_name).split(",")}
        return sorted(exposed.intersection(dbs))
    return list(dbs)


class AccessDenied(Exception):
    """odoo.exceptions.AccessDenied."""


def list_dbs(cfg, force=False):
    """odoo.service.db.list_dbs: refused without list_db; only databases the role owns."""
    if not cfg.bool("list_db") and not force:
        raise AccessDenied("Access Denied")
    if not cfg["dbfilter"] and cfg["db_name"]:
        return sorted(db.strip() for db in str(cfg["db_name"]).split(","))
    templates = tuple({"postgres", cfg["db_template"]})
    with cursor(cfg, "postgres") as cr:
        cr.execute(
            "SELECT datname FROM pg_database WHERE datdba=(SELECT usesysid FROM pg_user WHERE usename=current_user)"
            " AND NOT datistemplate AND datallowconn AND datname NOT IN %s ORDER BY datname",
            (templates,),
        )
        return [name for (name,) in cr.fetchall()]


def db_list(cfg, host, force=False):
    """odoo.http.db_list: an unreachable server gives an empty list."""
    try:
        dbs = list_dbs(cfg, force)
    except psycopg2.OperationalError:
        return []
    return db_filter(dbs, host, cfg["dbfilter"], cfg["db_name"])


SCHEMA = """
CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar,
    latest_version varchar);
CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar NOT NULL UNIQUE, value text NOT NULL);
CREATE TABLE res_users (id serial PRIMARY KEY, login varchar NOT NULL UNIQUE, password varchar,
    active boolean DEFAULT true, share boolean DEFAULT false);
CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar NOT NULL, res_model varchar, res_id integer,
    type varchar NOT NULL DEFAULT 'binary', store_fname varchar, checksum varchar(40), file_size integer,
    mimetype varchar, db_datas bytea, create_date timestamp DEFAULT (now() at time zone 'UTC'));
CREATE INDEX ir_attachment_res_idx ON ir_attachment (res_model, res_id);
CREATE INDEX ir_attachment_checksum_index ON ir_attachment (checksum);
CREATE TABLE ir_mail_server (id serial PRIMARY KEY, name varchar NOT NULL, smtp_host varchar, smtp_port integer,
    smtp_encryption varchar, smtp_authentication varchar, active boolean DEFAULT true, sequence integer DEFAULT 10);
CREATE TABLE ir_cron (id serial PRIMARY KEY, cron_name varchar NOT NULL, active boolean DEFAULT true,
    interval_number integer NOT NULL, interval_type varchar NOT NULL, nextcall timestamp NOT NULL,
    lastcall timestamp);
"""
AUTOVACUUM = "Base: Auto-vacuum internal data"


def hash_password(password, rounds=25000, salt=None):
    """A passlib-compatible ``$pbkdf2-sha512$`` hash (the format Odoo stores in res_users)."""
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, rounds)

    def ab64(raw):
        return base64.b64encode(raw).decode().rstrip("=").replace("+", ".")

    return f"$pbkdf2-sha512${rounds}${ab64(salt)}${ab64(digest)}"


def check_password(password, stored):
    """Verify a ``$pbkdf2-sha512$`` hash."""
    try:
        _empty, _scheme, rounds, salt, _digest = stored.split("$")
        raw_salt = base64.b64decode(salt.replace(".", "+") + "=" * (-len(salt) % 4))
    except (ValueError, AttributeError):
        return False
    return hash_password(password, int(rounds), raw_salt) == stored


def is_initialized(cr):
    """True when the base schema exists (Odoo: ir_module_module)."""
    cr.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
    return cr.fetchone()[0]


def create_database(cfg, dbname):
    """odoo.service.db._create_empty_database: create when missing (needs CREATEDB), add pg_trgm."""
    with cursor(cfg, "postgres", autocommit=True) as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        if not cr.fetchone():
            template = cfg["db_template"]
            collate = sql.SQL("LC_COLLATE 'C'" if template == "template0" else "")
            cr.execute(
                sql.SQL("CREATE DATABASE {} ENCODING 'unicode' {} TEMPLATE {}").format(
                    sql.Identifier(dbname), collate, sql.Identifier(template)
                )
            )
            _logger.info("database %s created", dbname)
    try:
        with cursor(cfg, dbname) as cr:
            cr.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except psycopg2.Error as exc:
        _logger.warning("Unable to create PostgreSQL extensions : %s", exc)


def init_database(cfg, dbname):
    """``-i base``: the schema, database.uuid/secret, the admin user (admin/admin) and two crons."""
    create_database(cfg, dbname)
    with cursor(cfg, dbname) as cr:
        if is_initialized(cr):
            _logger.info("base is already installed in %s: nothing to initialise", dbname)
            return False
        cr.execute(SCHEMA)
        cr.execute(
            "INSERT INTO ir_module_module (name, state, latest_version) VALUES ('base', 'installed', %s),"
            " ('web', 'installed', %s)",
            (f"{SERIE}.1.3", f"{SERIE}.1.0"),
        )
        params = {
            "database.uuid": str(uuid.uuid1()),
            "database.secret": str(uuid.uuid4()),
            "web.base.url": "http://localhost:8069",
        }
        for key, value in params.items():
            cr.execute("INSERT INTO ir_config_parameter (key, value) VALUES (%s, %s)", (key, value))
        cr.execute(
            "INSERT INTO ir_config_parameter (key, value) VALUES ('database.create_date', now()::timestamp(0)::text)"
        )
        cr.execute("INSERT INTO res_users (id, login, active) VALUES (1, '__system__', false)")
        cr.execute("INSERT INTO res_users (id, login, password) VALUES (2, 'admin', %s)", (hash_password("admin"),))
        cr.execute("SELECT setval('res_users_id_seq', 2)")
        cr.execute(
            "INSERT INTO ir_cron (cron_name, interval_number, interval_type, nextcall) VALUES"
            " (%s, 1, 'days', now() at time zone 'UTC'), ('Mail: Email Queue Manager', 1, 'minutes',"
            " now() at time zone 'UTC')",
            (AUTOVACUUM,),
        )
    _logger.info("Modules loaded. (stand-in: base schema created in %s, Odoo %s)", dbname, SERIE)
    return True


def create_attachment(cfg, dbname, name, data, *, mimetype="application/octet-stream", res_model=None, res_id=None):
    """ir.attachment create: the file goes to <data_dir>/filestore/<db>/<sha[:2]>/<sha1> (Odoo's _file_write)."""
    checksum = hashlib.sha1(data).hexdigest()
    with cursor(cfg, dbname) as cr:
        cr.execute("SELECT value FROM ir_config_parameter WHERE key = 'ir_attachment.location'")
        row = cr.fetchone()
        store_fname = db_datas = None
        if (row[0] if row else "file") == "db":
            db_datas = psycopg2.Binary(data)
        else:
            store_fname = f"{checksum[:2]}/{checksum}"
            full_path = os.path.join(cfg.filestore(dbname), store_fname)
            if not os.path.exists(full_path):
                os.makedirs(os.path.dirname(full_path), exist_ok=True)
                tmp = f"{full_path}.{os.getpid()}.tmp"
                with open(tmp, "wb") as fp:
                    fp.write(data)
                os.replace(tmp, full_path)
        cr.execute(
            "INSERT INTO ir_attachment (name, res_model, res_id, store_fname, checksum, file_size, mimetype, db_datas)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (name, res_model, res_id, store_fname, checksum, len(data), mimetype, db_datas),
        )
        return {"id": cr.fetchone()[0], "store_fname": store_fname, "checksum": checksum, "file_size": len(data)}


def neutralize(cfg, dbname):
    """``odoo neutralize``: mail servers off plus a dummy one, crons off (but autovacuum), flag set."""
    with cursor(cfg, dbname) as cr:
        if not is_initialized(cr):
            raise RuntimeError(f"Database {dbname} not initialized, you can force it with `-i base`")
        cr.execute("UPDATE ir_mail_server SET active = false")
        cr.execute(
            "INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, smtp_authentication, active,"
            " sequence) VALUES ('neutralization - disable emails', 'invalid', 1025, 'none', 'login', true, 0)"
        )
        cr.execute("UPDATE ir_cron SET active = false WHERE cron_name != %s", (AUTOVACUUM,))
        cr.execute(
            "INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', 'True')"
            " ON CONFLICT (key) DO UPDATE SET value = 'True'"
        )
    _logger.info("Neutralization finished")


def run_due_crons(cfg, dbname):
    """One cron pass: move due jobs' nextcall forward (the stand-in runs no job code)."""
    with cursor(cfg, dbname) as cr:
        if not is_initialized(cr):
            return 0
        cr.execute(
            "UPDATE ir_cron SET lastcall = now() at time zone 'UTC', nextcall = now() at time zone 'UTC'"
            " + (interval_number || ' ' || interval_type)::interval"
            " WHERE active AND nextcall <= now() at time zone 'UTC'"
        )
        return cr.rowcount


def version_info():
    """odoo.service.common.exp_version."""
    return {
        "server_version": SERIE,
        "server_version_info": [MAJOR, 0, 0, "final", 0, ""],
        "server_serie": SERIE,
        "protocol_version": 1,
    }
