"""``odoo [server|neutralize] [options]``: Odoo's entry points, as far as the platform uses them."""

from __future__ import annotations

import logging
import os
import sys

import psycopg2

from . import SERIE, config, db, server

_logger = logging.getLogger("odoo")


class _Context(logging.Filter):
    def filter(self, record):
        record.pid = os.getpid()
        record.dbname = getattr(record, "dbname", "?")
        return True


def setup_logging(cfg):
    """Odoo's log line: ``%(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s``."""
    handler = logging.FileHandler(cfg["logfile"]) if cfg["logfile"] else logging.StreamHandler(sys.stderr)
    handler.addFilter(_Context())
    handler.setFormatter(logging.Formatter("%(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if str(cfg["log_level"]).startswith("debug") else logging.INFO)


def _startup(cfg):
    _logger.info("Odoo version %s", SERIE)
    _logger.info("stand-in: this is the sysgenpro lab Odoo stand-in, NOT Odoo (tests/images/odoo-standin)")
    _logger.info("Using configuration file at %s", cfg.rcfile)
    for warning in cfg.warnings:
        _logger.warning("%s", warning)
    addons_data = os.path.join(cfg["data_dir"], "addons", SERIE)
    os.makedirs(addons_data, mode=0o700, exist_ok=True)  # Odoo fails the same way on a read-only data_dir
    _logger.info("addons paths: %s", [config.ODOO_ADDONS, addons_data, *cfg.addons_paths])
    _logger.info(
        "database: %s@%s:%s", cfg["db_user"] or "default", cfg["db_host"] or "default", cfg["db_port"] or "default"
    )


def main(argv=None):
    """Run a command; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "server"
    if argv and not argv[0].startswith("-"):
        command = argv.pop(0)
    if command not in ("server", "neutralize"):
        print(f"Unknown command {command!r} (the stand-in knows: server, neutralize)", file=sys.stderr)
        return 1
    try:
        cfg = config.load(argv)
    except config.ConfigError as exc:
        print(f"odoo: error: {exc}", file=sys.stderr)
        return 1
    setup_logging(cfg)
    try:
        _startup(cfg)
        return _run(command, cfg)
    except psycopg2.Error as exc:
        _logger.error("Connection to the database failed: %s", str(exc).strip())
    except (OSError, RuntimeError, db.PoolError) as exc:
        _logger.error("%s", exc)
    return 1


def _run(command, cfg):
    dbnames = [n.strip() for n in str(cfg["db_name"] or "").split(",") if n.strip()]
    if command == "neutralize":
        if len(dbnames) != 1:
            raise RuntimeError("neutralize needs exactly one database (-d)")
        db.neutralize(cfg, dbnames[0])
        return 0
    if cfg.init and dbnames:
        for name in dbnames:
            logging.LoggerAdapter(_logger, {"dbname": name}).info("init db: installing %s", ",".join(cfg.init))
            db.init_database(cfg, name)
    elif cfg.stop_after_init:
        for name in dbnames:
            with db.cursor(cfg, name) as cr:
                if not db.is_initialized(cr):
                    _logger.error("Database %s not initialized, you can force it with `-i base`", name)
    return 0 if cfg.stop_after_init else server.run(cfg)


def wait_for_psql(argv=None):
    """The official image's wait-for-psql.py: config file values first, then --db_* flags, then PG*."""
    import argparse  # noqa: PLC0415
    import configparser  # noqa: PLC0415
    import time  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    for name in ("db_host", "db_port", "db_user", "db_password"):
        parser.add_argument("--" + name)
    parser.add_argument("--timeout", type=int, default=5)
    args = parser.parse_args(argv)
    file_options = {}
    if os.environ.get("ODOO_RC"):
        rc = configparser.RawConfigParser()
        rc.read(os.environ["ODOO_RC"])
        file_options = dict(rc.items("options")) if rc.has_section("options") else {}
    params = {}
    for name, env in (
        ("db_host", "PGHOST"),
        ("db_port", "PGPORT"),
        ("db_user", "PGUSER"),
        ("db_password", "PGPASSWORD"),
    ):
        params[name] = file_options.get(name) or getattr(args, name) or os.environ.get(env)
    missing = [k for k, v in params.items() if v is None]
    if missing:
        print(f"Missing required database parameters: {', '.join(missing)}", file=sys.stderr)
        return 1
    deadline, error = time.time() + args.timeout, None
    while time.time() < deadline:
        try:
            psycopg2.connect(
                host=params["db_host"],
                port=params["db_port"],
                user=params["db_user"],
                password=params["db_password"],
                dbname="postgres",
            ).close()
            return 0
        except psycopg2.OperationalError as exc:
            error = exc
        time.sleep(1)
    print(f"Database connection failure: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
