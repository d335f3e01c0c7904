# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""odoo.conf from the estate plan, and the estate-wide dbfilter self-check.

Pure Python, no Ansible imports (Python 3.8+). Sources:

- Odoo ``odoo/tools/config.py``: option names per series (``gevent_port`` from 16.0,
  ``longpolling_port`` up to 15.0, ``db_maxconn_gevent`` from 17.0,
  ``limit_memory_*_gevent`` from 18.0); the file is read with RawConfigParser, so ``%`` and
  ``$`` stay verbatim and a value cannot span lines.
- Odoo deployment docs: ``limit_memory_soft``/``limit_memory_hard`` are per worker, in integer
  bytes (FIELD_CASES F03); ``proxy_mode`` only behind a reverse proxy that sets
  X-Forwarded-Host (F01); ``list_db = False`` and an anchored ``dbfilter`` in production.
- Odoo ``odoo/http.py`` ``db_filter``: the request host loses its port and one ``www.``,
  ``%h``/``%d`` are replaced by the escaped host/first label, then ``re.match`` on each name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .plan_result import InputError

# Secrets that odoo.conf carries: the role never logs or diffs a text that holds them.
SECRET_OPTIONS = ("admin_passwd", "db_password")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
ROLES = ("web", "cron", "api", "jobs")
# Side pools of a workload profile (plugins/module_utils/workload.py): sized by plan["pools"][role].
POOL_ROLES = ("api", "jobs")
DEFAULT_DATA_DIR = "/var/lib/odoo"
DEFAULT_ADDONS_PATH = ("/mnt/extra-addons",)
DEFAULT_SERVER_WIDE_MODULES = ("base", "web")
HTTP_PORT = 8069
# The cron container keeps HTTP on loopback only: no route reaches it, yet a liveness probe can
# ask /web/health (the stand-in has no --no-http; real Odoo would accept either).
CRON_HTTP_INTERFACE = "127.0.0.1"
_SUPPORTED_MAJORS = range(12, 20)
_DB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

# The order of odoo.conf: identity and database first, then processes and limits.
_ORDER = (
    "admin_passwd",
    "db_host",
    "db_port",
    "db_user",
    "db_password",
    "db_name",
    "db_sslmode",
    "db_maxconn",
    "db_maxconn_gevent",
    "dbfilter",
    "list_db",
    "proxy_mode",
    "data_dir",
    "addons_path",
    "server_wide_modules",
    "without_demo",
    "http_interface",
    "http_port",
    "gevent_port",
    "longpolling_port",
    "workers",
    "max_cron_threads",
    "limit_memory_soft",
    "limit_memory_hard",
    "limit_memory_soft_gevent",
    "limit_memory_hard_gevent",
    "limit_time_cpu",
    "limit_time_real",
    "limit_time_real_cron",
    "limit_request",
)
# Options copied from the plan's web sizing (odoo_sizing emits only those the series has).
_SIZING_OPTIONS = (
    "workers",
    "max_cron_threads",
    "limit_memory_soft",
    "limit_memory_hard",
    "limit_memory_soft_gevent",
    "limit_memory_hard_gevent",
    "limit_time_cpu",
    "limit_time_real",
    "limit_time_real_cron",
    "limit_request",
    "db_maxconn",
    "db_maxconn_gevent",
    "gevent_port",
    "longpolling_port",
)
# Options that only matter to a prefork server's evented process.
_EVENTED_ONLY = ("gevent_port", "longpolling_port", "limit_memory_soft_gevent", "limit_memory_hard_gevent")


@dataclass(frozen=True)
class OdooConf:
    """One rendered odoo.conf: its options in file order and the file text."""

    role: str
    options: dict[str, str]
    text: str
    evented_port: int | None
    warnings: tuple[str, ...] = field(default=())
    sections: dict[str, dict[str, str]] = field(default_factory=dict)

    def redacted(self) -> str:
        """The text with every secret replaced by ``<redacted>``: safe for a log or a diff."""
        options = {k: ("<redacted>" if k in SECRET_OPTIONS else v) for k, v in self.options.items()}
        return render_text(options, self.sections)


def major_of(version: Any) -> int:
    """Odoo major version from ``18.0``/``18``; refuses what the plan cannot deploy."""
    text = str(version).strip()
    match = re.match(r"^(\d+)(?:\.0)?$", text)
    if not match or int(match.group(1)) not in _SUPPORTED_MAJORS:
        raise InputError("odoo_version", version, "is not an Odoo series this collection knows", "12.0 to 19.0")
    return int(match.group(1))


def evented_option(version: Any) -> str:
    """``gevent_port`` from Odoo 16.0 (serves /websocket); ``longpolling_port`` before (F01)."""
    return "gevent_port" if major_of(version) >= 16 else "longpolling_port"


def anchored_dbfilter(database: str) -> str:
    """``^<database>$`` with the name escaped: matches that one database and nothing else."""
    return f"^{re.escape(database)}$"


def _format(value: Any) -> str:
    if isinstance(value, bool):
        # Odoo <= 18 maps exactly True/False; 19 accepts them case-insensitively.
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v).strip() for v in value)
    return str(value)


def _check_value(key: str, value: str) -> None:
    # RawConfigParser strips values and ends them at a newline: such a value would be cut silently.
    if "\n" in value or "\r" in value:
        raise InputError(key, "<value not shown>", "contains a line break, which odoo.conf cannot hold", "one line")
    if value != value.strip():
        raise InputError(
            key, "<value not shown>", "starts or ends with white space, which odoo.conf strips", "no outer spaces"
        )


def render_text(options: Mapping[str, str], sections: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The odoo.conf text for options already formatted: ``[options]`` then ``key = value`` lines.

    ``sections`` are add-on sections after it (``[queue_job]``), read by the add-on itself.
    """
    text = "[options]\n" + "".join(f"{key} = {value}\n" for key, value in options.items())
    for name, values in (sections or {}).items():
        text += f"\n[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
    return text


def render_odoo_conf(
    plan: Mapping[str, Any],
    *,
    role: str = "web",
    db_host: str,
    db_password: str,
    admin_passwd: str,
    db_port: int = 5432,
    db_sslmode: str = "verify-full",
    proxy_mode: bool = False,
    data_dir: str = DEFAULT_DATA_DIR,
    addons_path: Sequence[str] = DEFAULT_ADDONS_PATH,
    server_wide_modules: Sequence[str] = DEFAULT_SERVER_WIDE_MODULES,
    dbfilter: str | None = None,
    extra_options: Mapping[str, Any] | None = None,
) -> OdooConf:
    """Render odoo.conf for the ``web`` or ``cron`` instance of one environment of the plan.

    ``plan`` is one entry of ``estate_plan().environments``. Values come from the plan's web
    sizing (per worker, bytes); ``cron`` is the threaded instance of an environment whose cron
    runs apart (``workers = 0``, ``max_cron_threads = plan.cron_threads``, HTTP on loopback).
    """
    _check_inputs(plan, role, db_sslmode, {"db_password": db_password, "admin_passwd": admin_passwd})
    major = major_of(plan.get("odoo_version"))
    database = str(plan["database"])
    sizing, sections, server_wide_modules = _role_sizing(plan, role, server_wide_modules)

    options: dict[str, Any] = {
        "admin_passwd": admin_passwd,
        "db_host": db_host,
        "db_port": int(db_port),
        "db_user": plan.get("db_role"),
        "db_password": db_password,
        "db_name": database,
        "db_sslmode": db_sslmode,
        "dbfilter": dbfilter if dbfilter is not None else anchored_dbfilter(database),
        "list_db": False,
        "data_dir": data_dir,
        "addons_path": list(addons_path),
        "server_wide_modules": list(server_wide_modules),
    }
    if proxy_mode:
        # Only behind a proxy that sets X-Forwarded-*: otherwise clients could spoof their address.
        options["proxy_mode"] = True
    if major <= 18:
        # Odoo <= 18 installs demo data unless told not to; 19 installs none without --with-demo.
        options["without_demo"] = "all"
    for key in _SIZING_OPTIONS:
        if key in sizing:
            options[key] = sizing[key]
    evented_port = None
    if role == "cron":
        options["workers"] = 0
        options["max_cron_threads"] = int(plan.get("cron_threads") or 1)
        options["http_interface"] = CRON_HTTP_INTERFACE
        for key in _EVENTED_ONLY:
            options.pop(key, None)
    elif int(options["workers"]) > 0:
        evented_port = int(options.get(evented_option(major)) or 8072)
    else:
        # Threaded server: /websocket is served on the HTTP port, no evented process (F01).
        for key in _EVENTED_ONLY:
            options.pop(key, None)
    for key, value in (extra_options or {}).items():
        if key in options and key in _ORDER:
            raise InputError(f"extra_options.{key}", value, "is computed from the plan", "an option not computed")
        options[key] = value

    ordered = {k: options[k] for k in _ORDER if k in options}
    ordered.update({k: v for k, v in options.items() if k not in ordered})
    formatted = {}
    for key, value in ordered.items():
        text = _format(value)
        _check_value(key, text)
        formatted[key] = text
    _check_limits(formatted)
    return OdooConf(
        role=role,
        options=formatted,
        text=render_text(formatted, sections),
        evented_port=evented_port,
        sections=sections,
    )


def _role_sizing(
    plan: Mapping[str, Any], role: str, server_wide_modules: Sequence[str]
) -> tuple[dict[str, Any], dict[str, dict[str, str]], list[str]]:
    """The sizing options, add-on sections and server-wide modules of one instance role."""
    pool = dict((plan.get("pools") or {}).get(role) or {}) if role in POOL_ROLES else {}
    if not pool:
        return dict(plan["web"]["settings"]), {}, list(server_wide_modules)
    # A side pool serves HTTP only: its own worker count, no cron (cron stays with web or cron apart).
    sizing = dict(pool["settings"], workers=int(pool["workers"]), max_cron_threads=0)
    if role != "jobs":
        return sizing, {}, list(server_wide_modules)
    # queue_job's runner lives here (one replica: one runner per database) and dispatches to this
    # pool's own HTTP workers on localhost, never to the interactive ones.
    return sizing, {"queue_job": {"channels": str(pool["channels"])}}, [*server_wide_modules, "queue_job"]


def _check_inputs(plan: Mapping[str, Any], role: str, db_sslmode: str, secrets: Mapping[str, Any]) -> None:
    if role not in ROLES:
        raise InputError("role", role, "is not an instance role", " or ".join(ROLES))
    if role == "cron" and not plan.get("cron_apart"):
        raise InputError("role", role, "this environment runs cron inside its web instance", "web")
    if role in POOL_ROLES and role not in (plan.get("pools") or {}):
        raise InputError("role", role, f"the environment's workload profile has no {role} pool", "web")
    if db_sslmode not in SSLMODES:
        raise InputError("db_sslmode", db_sslmode, "is not a libpq sslmode", ", ".join(SSLMODES))
    database = str(plan.get("database") or "")
    if not _DB_NAME.match(database):
        raise InputError("database", database, "is not a database name", "letters, digits, _ . -")
    for key, secret in secrets.items():
        if not isinstance(secret, str) or not secret:
            raise InputError(key, "<value not shown>", "is empty", "a non-empty secret (vault)")
    sizing = (plan.get("web") or {}).get("settings") or {}
    missing = [k for k in ("workers", "max_cron_threads", "limit_memory_soft", "limit_memory_hard") if k not in sizing]
    if missing:
        raise InputError("web.settings", sorted(sizing), f"lacks {', '.join(missing)}", "an estate_plan entry")


def _check_limits(options: Mapping[str, str]) -> None:
    """Per-worker memory limits are integer bytes and soft < hard (F03)."""
    for key in ("limit_memory_soft", "limit_memory_hard"):
        if not options[key].isdigit():
            raise InputError(key, options[key], "must be integer bytes per worker", "e.g. 629145600")
    if int(options["limit_memory_soft"]) >= int(options["limit_memory_hard"]):
        raise InputError(
            "limit_memory_soft", options["limit_memory_soft"], "is not below limit_memory_hard", "soft < hard"
        )


def odoo_db_filter(dbs: Iterable[str], host: str, dbfilter: str, db_name: str = "") -> list[str]:
    """The databases a request for ``host`` may use, as Odoo's ``odoo.http.db_filter`` computes them."""
    names = list(dbs)
    if dbfilter:
        host = host.partition(":")[0]
        if host.startswith("www."):
            host = host[4:]
        domain = host.partition(".")[0]
        pattern = re.compile(dbfilter.replace("%h", re.escape(host)).replace("%d", re.escape(domain)))
        return [db for db in names if pattern.match(db)]
    if db_name:
        exposed = {db.strip() for db in db_name.split(",")}
        return sorted(exposed.intersection(names))
    return names


def check_dbfilters(
    environments: Mapping[str, Mapping[str, Any]], dbfilters: Mapping[str, str] | None = None
) -> list[str]:
    """Every problem that would let a host name reach no database, or more than one.

    For each environment and each of its host names: the host name belongs to no other
    environment, and its dbfilter (``dbfilters[env]`` or the anchored default) selects exactly
    its own database among every database of its PostgreSQL server (all environments placed
    there). Returns the problems as sentences; an empty list means the estate is sound.
    """
    dbfilters = dict(dbfilters or {})
    problems: list[str] = []
    owner: dict[str, str] = {}
    by_server: dict[str, list[str]] = {}
    for env in environments.values():
        by_server.setdefault(str(env.get("postgres_server")), []).append(str(env.get("database")))
    for server, dbs in sorted(by_server.items()):
        for db in sorted({d for d in dbs if dbs.count(d) > 1}):
            problems.append(f"server {server}: database {db} is used by more than one environment")
    for name, env in sorted(environments.items()):
        database = str(env.get("database"))
        pattern = dbfilters.get(name) or anchored_dbfilter(database)
        hostnames = list(env.get("hostnames") or [])
        if not hostnames:
            problems.append(f"{name}: has no host name (odoo_platform_hostnames)")
        for raw_host in hostnames:
            host = str(raw_host).lower()
            if host in owner and owner[host] != name:
                problems.append(f"{name}: host name {host} also belongs to {owner[host]}")
                continue
            owner[host] = name
            try:
                selected = odoo_db_filter(by_server[str(env.get("postgres_server"))], host, pattern)
            except re.error as exc:
                problems.append(f"{name}: dbfilter {pattern!r} is not a valid regular expression ({exc})")
                break
            if selected != [database]:
                problems.append(
                    f"{name}: host name {host} with dbfilter {pattern!r} selects {sorted(set(selected)) or 'nothing'}"
                    f" on server {env.get('postgres_server')}; it must select exactly [{database!r}]"
                )
    return problems
