"""odoo.conf and command line, read the way Odoo reads them.

Odoo <= 18 (odoo/tools/config.py ``load`` and ``_parse_config``): RawConfigParser, only the
``[options]`` section, values verbatim (no interpolation), the exact strings ``True``/``true``
and ``False``/``false`` mapped to booleans, typed options cast with optparse's checkers (so a
non-integer ``limit_memory_hard`` stops the server), every other value kept as a string
(``list_db = no`` is the non-empty string "no", which is true). ``addons_path`` is split on
commas and each entry is ``abspath(expanduser(expandvars(entry.strip())))``: an empty entry
(trailing comma) becomes the working directory.
Odoo 19 (``_load_file_options``): booleans must be 1/yes/true/on or 0/no/false/off, ``False``
for a non-boolean option is skipped with a warning, ``None`` means unset, unknown options are
reported, and ``addons_path`` drops empty entries (``_check_comma``).
"""

from __future__ import annotations

import configparser
import optparse
import os
from os.path import abspath, expanduser, expandvars, normcase, realpath

from . import MAJOR, SERIE

# name: (type, default). Types: int, float, bool, str, path, or a tuple of choices.
OPTIONS = {
    "addons_path": ("str", ""),
    "admin_passwd": ("str", "admin"),
    "data_dir": ("path", "~/.local/share/Odoo"),
    "db_name": ("str", False),
    "db_host": ("str", False),
    "db_port": ("int", False),
    "db_user": ("str", False),
    "db_password": ("str", False),
    "db_sslmode": (("disable", "allow", "prefer", "require", "verify-ca", "verify-full"), "prefer"),
    "db_maxconn": ("int", 64),
    "db_template": ("str", "template0"),
    "dbfilter": ("str", ""),
    "list_db": ("bool", True),
    "proxy_mode": ("bool", False),
    "http_interface": ("str", ""),
    "http_port": ("int", 8069),
    "gevent_port": ("int", 8072),
    "longpolling_port": ("int", 8072 if MAJOR <= 15 else 0),
    "workers": ("int", 0),
    "max_cron_threads": ("int", 2),
    "limit_memory_hard": ("int", 2684354560),
    "limit_memory_soft": ("int", 2147483648),
    "limit_request": ("int", 65536),
    "limit_time_cpu": ("int", 60),
    "limit_time_real": ("int", 120),
    "limit_time_real_cron": ("int", -1),
    "transient_age_limit": ("float", 1.0),
    "smtp_server": ("str", "localhost"),
    "smtp_port": ("int", 25),
    "smtp_ssl": ("bool", False),
    "smtp_user": ("str", False),
    "smtp_password": ("str", False),
    "email_from": ("str", False),
    "log_level": (
        (
            "info",
            "debug_rpc",
            "warn",
            "test",
            "critical",
            "runbot",
            "debug_sql",
            "error",
            "debug",
            "debug_rpc_answer",
            "notset",
        ),
        "info",
    ),
    "logfile": ("str", False),
    "pidfile": ("str", False),
    "server_wide_modules": ("str", "base,web"),
    "unaccent": ("bool", False),
    "without_demo": ("str", False),
    "x_sendfile": ("bool", False),
}
# Real Odoo options the stand-in accepts and ignores (no warning, value kept as a string).
IGNORED = set(
    [
        "csv_internal_sep",
        "db_replica_host",
        "db_replica_port",
        "demo",
        "dev_mode",
        "geoip_database",
        "geoip_city_db",
        "geoip_country_db",
        "http_enable",
        "import_partial",
        "log_db",
        "log_db_level",
        "log_handler",
        "osv_memory_age_limit",
        "osv_memory_count_limit",
        "pg_path",
        "publisher_warranty_url",
        "reportgz",
        "screencasts",
        "screenshots",
        "syslog",
        "test_enable",
        "test_file",
        "test_tags",
        "translate_modules",
        "upgrade_path",
        "pre_upgrade_scripts",
        "websocket_keep_alive_timeout",
        "websocket_rate_limit_burst",
        "websocket_rate_limit_delay",
    ]
)
# Odoo's outdated_options_map (pre-11 names still read from old files).
RENAMED = {"xmlrpc_port": "http_port", "xmlrpc_interface": "http_interface", "xmlrpc": "http_enable"}
ODOO_ADDONS = "/usr/lib/python3/dist-packages/odoo/addons"


class ConfigError(Exception):
    """A value Odoo refuses: the server must not start."""


def _cli_parser():
    p = optparse.OptionParser(usage="odoo [command] [options]", version=f"Odoo Server {SERIE}", add_help_option=True)
    add = p.add_option
    add("-c", "--config", dest="config")
    add("-d", "--database", dest="db_name")
    add("-i", "--init", dest="init")
    add("-u", "--update", dest="update")
    add("--stop-after-init", dest="stop_after_init", action="store_true", default=False)
    add("--without-demo", dest="without_demo")
    add("--addons-path", dest="addons_path")
    add("-D", "--data-dir", dest="data_dir")
    add("--http-interface", dest="http_interface")
    add("-p", "--http-port", dest="http_port", type="int")
    add("--gevent-port", dest="gevent_port", type="int")
    add("--longpolling-port", dest="longpolling_port", type="int")
    add("--proxy-mode", dest="proxy_mode", action="store_true", default=None)
    add("--workers", dest="workers", type="int")
    add("--max-cron-threads", dest="max_cron_threads", type="int")
    add("--limit-memory-hard", dest="limit_memory_hard", type="int")
    add("--limit-memory-soft", dest="limit_memory_soft", type="int")
    add("--limit-request", dest="limit_request", type="int")
    add("--limit-time-cpu", dest="limit_time_cpu", type="int")
    add("--limit-time-real", dest="limit_time_real", type="int")
    add("--db_host", dest="db_host")
    add("--db_port", dest="db_port", type="int")
    add("-r", "--db_user", dest="db_user")
    add("-w", "--db_password", dest="db_password")
    add("--db_sslmode", dest="db_sslmode", type="choice", choices=list(OPTIONS["db_sslmode"][0]))
    add("--db_maxconn", dest="db_maxconn", type="int")
    add("--db-template", dest="db_template")
    add("--db-filter", dest="dbfilter")
    add("--no-database-list", dest="list_db", action="store_false", default=None)
    add("--load", dest="server_wide_modules")
    add("--logfile", dest="logfile")
    add("--log-level", dest="log_level", type="choice", choices=list(OPTIONS["log_level"][0]))
    add("--unaccent", dest="unaccent", action="store_true", default=None)
    return p


def _cast(name, value, kind):
    """Cast a config-file string like optparse's TYPE_CHECKER (and Odoo 19's _check_bool)."""
    if isinstance(kind, tuple):
        if value not in kind:
            choices = ", ".join(repr(c) for c in kind)
            raise ConfigError(f"option {name}: invalid choice: {value!r} (choose from {choices})")
        return value
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"option {name}: invalid integer value: {value!r}") from None
    if kind == "float":
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"option {name}: invalid floating-point value: {value!r}") from None
    if kind == "bool" and MAJOR >= 19:
        if value.lower() in ("1", "yes", "true", "on"):
            return True
        if value.lower() in ("0", "no", "false", "off"):
            return False
        raise ConfigError(f"option {name}: invalid boolean value: {value!r}")
    return value  # Odoo <= 18 keeps anything else verbatim, booleans included


def read_file(path, warnings):
    """Return the typed [options] of an odoo.conf, as Odoo would hold them."""
    parser = configparser.RawConfigParser()
    try:
        found = parser.read([path])
    except configparser.Error as exc:  # Odoo does not catch these either (e.g. duplicate option)
        raise ConfigError(f"cannot parse the configuration file {path}: {exc}") from None
    if not found:
        # Odoo silently runs on its defaults when the file is missing or unreadable.
        warnings.append(f"stand-in: configuration file {path} is missing or unreadable, Odoo would use defaults")
        return {}
    if not parser.has_section("options"):
        return {}
    values = {}
    for option, raw in parser.items("options"):
        name = RENAMED.get(option, option)
        known = OPTIONS.get(name)
        if MAJOR >= 19 and raw == "None":
            values[name] = None
            continue
        if MAJOR >= 19 and raw in ("False", "false") and known and known[0] != "bool":
            warnings.append(
                f"option {name} reads {raw!r} in the config file at {path} but isn't a boolean option, skip"
            )
            continue
        value = {"True": True, "true": True, "False": False, "false": False}.get(raw, raw) if MAJOR <= 18 else raw
        if known is None:
            if name not in IGNORED:
                warnings.append(f"unknown option {name!r} in the config file at {path}, option stored as-is")
            values[name] = value
            continue
        values[name] = _cast(name, value, known[0]) if isinstance(value, str) else value
    return values


def split_addons_path(value, major=None):
    """Split addons_path like Odoo: return (paths, empty_entries_resolved_to).

    <= 18: every entry is kept, an empty one resolves to abspath('') (the working directory)
    and is reported. 19: empty entries are dropped (``_check_comma``), paths are realpath'd.
    """
    major = MAJOR if major is None else major
    if not value or value == "None":
        return [], []
    paths, empty = [], []
    for entry in str(value).split(","):
        stripped = entry.strip()
        if major >= 19:
            if stripped:
                paths.append(normcase(realpath(abspath(expanduser(expandvars(stripped))))))
            continue
        resolved = abspath(expanduser(expandvars(stripped)))
        if not stripped:
            empty.append(resolved)
        paths.append(resolved)
    return paths, empty


class Config(dict):
    """Effective options (defaults < config file < command line) plus what was noticed."""

    def __init__(self):
        super().__init__({name: default for name, (_kind, default) in OPTIONS.items()})
        self.rcfile = None
        self.warnings = []
        self.addons_paths = []
        self.empty_addons_entries = []
        self.init = []
        self.stop_after_init = False

    def bool(self, name):
        """Truthiness as Odoo tests it (``if config['list_db']``)."""
        return bool(self.get(name))

    @property
    def evented_port(self):
        """The port of the evented process: gevent_port (>= 16) or longpolling_port (<= 15)."""
        return self["longpolling_port"] if MAJOR <= 15 else self["gevent_port"]

    def filestore(self, dbname):
        """``<data_dir>/filestore/<db>``, as odoo.tools.config.filestore."""
        return os.path.join(self["data_dir"], "filestore", dbname)


def load(argv, environ=None):
    """Parse the command line and the config file; raise ConfigError on refused values."""
    environ = os.environ if environ is None else environ
    opts, args = _cli_parser().parse_args(list(argv))
    if args:
        raise ConfigError(f"unexpected arguments: {' '.join(args)}")
    cfg = Config()
    cfg.rcfile = abspath(opts.config or environ.get("ODOO_RC") or expanduser("~/.odoorc"))
    cfg.update(read_file(cfg.rcfile, cfg.warnings))
    for name in OPTIONS:
        cli_value = getattr(opts, name, None)
        if cli_value is not None:
            cfg[name] = cli_value
    if MAJOR >= 16 and cfg["longpolling_port"] and cfg["longpolling_port"] != cfg["gevent_port"]:
        cfg.warnings.append(
            "The longpolling-port is a deprecated alias to the gevent-port option, please use the latter."
        )
        cfg["gevent_port"] = cfg["longpolling_port"]
    cfg.addons_paths, cfg.empty_addons_entries = split_addons_path(cfg["addons_path"])
    cfg.warnings.extend(
        f"addons_path has an empty entry, Odoo resolves it to {path!r} (its working directory)"
        for path in cfg.empty_addons_entries
    )
    cfg["data_dir"] = abspath(expanduser(expandvars(str(cfg["data_dir"] or OPTIONS["data_dir"][1]))))
    cfg.init = [m.strip() for m in (opts.init or "").split(",") if m.strip()]
    cfg.stop_after_init = opts.stop_after_init
    for name in ("workers", "max_cron_threads", "db_maxconn", "http_port", "gevent_port", "longpolling_port"):
        # ``workers = False`` (an old --save) is a boolean Odoo <= 18 uses as 0.
        cfg[name] = int(cfg[name] or 0)
    return cfg
