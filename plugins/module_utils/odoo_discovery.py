# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery of an unmanaged Odoo instance on the host it runs on (read-only).

Finds the Odoo service (a systemd unit, else a process), reads its configuration the way Odoo
does, resolves ``data_dir`` from the service user when it is unset, detects the Odoo series,
and asks PostgreSQL (through ``psql`` with the configured credentials in the environment, so
psycopg2 is not needed) about the server, the role and every database. Secrets never leave
this module: options that hold one are returned masked.

Used by the ``odoo_instance_facts`` module, and runnable on its own for legacy hosts whose
Python is too old for ansible-core (``python3 odoo_discovery.py --help``): it prints the same
JSON. The code therefore keeps to Python 3.5 syntax (Odoo 12's oldest platforms) and the
standard library, and imports nothing from Ansible.

Sources: Odoo ``odoo/tools/config.py`` (``load``, ``_parse_config``, ``_get_default_datadir``:
RawConfigParser, ``[options]`` only, ``addons_path`` split on commas and each entry
``abspath(expanduser(expandvars(entry.strip())))``, so an empty entry becomes the working
directory; ``data_dir`` defaults to appdirs' ``user_data_dir('Odoo')``, i.e.
``$XDG_DATA_HOME/Odoo`` or ``~/.local/share/Odoo``, and ``/var/lib/odoo`` when the home
directory does not exist); ``odoo/release.py`` (``version_info``).
"""
# Python 3.5 syntax on purpose (see above): no f-strings, no variable annotations, and
# subprocess without capture_output/text.
# ruff: noqa: UP032, UP021, UP022

import ast
import configparser
import contextlib
import glob
import json
import os
import pwd
import re
import shlex
import socket
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

FACTS_FORMAT = 1
MASK = "********"
# Options whose value is a secret; any option whose name contains one of these words is one too.
SECRET_OPTIONS = ("admin_passwd", "db_password", "smtp_password")
_SECRET_WORDS = re.compile(r"pass|secret|token|api_?key|private", re.IGNORECASE)
# Odoo's outdated_options_map: pre-11 names still honoured in old files.
RENAMED_OPTIONS = {"xmlrpc_port": "http_port", "xmlrpc_interface": "http_interface", "xmlrpc": "http_enable"}
# Odoo's defaults (16.0) for the options discovery interprets.
DEFAULTS = {
    "admin_passwd": "admin",
    "db_host": False,
    "db_port": False,
    "db_user": False,
    "db_password": False,
    "db_name": False,
    "dbfilter": "",
    "list_db": True,
    "proxy_mode": False,
    "http_port": 8069,
    "http_interface": "",
    "workers": 0,
    "max_cron_threads": 2,
    "db_maxconn": 64,
    "data_dir": None,
    "addons_path": "",
}
# Command-line options that override the file (odoo-bin's optparse names -> option).
_CLI_VALUE_OPTIONS = {
    "-c": "config",
    "--config": "config",
    "-D": "data_dir",
    "--data-dir": "data_dir",
    "--addons-path": "addons_path",
    "-d": "db_name",
    "--database": "db_name",
    "--db-filter": "dbfilter",
    "--workers": "workers",
    "-p": "http_port",
    "--http-port": "http_port",
    "--xmlrpc-port": "http_port",
    "--db_host": "db_host",
    "--db_port": "db_port",
    "-r": "db_user",
    "--db_user": "db_user",
    "-w": "db_password",
    "--db_password": "db_password",
    "--logfile": "logfile",
    "--max-cron-threads": "max_cron_threads",
    "--db_maxconn": "db_maxconn",
}
_CLI_FLAGS = {"--no-database-list": ("list_db", False), "--proxy-mode": ("proxy_mode", True)}
_ODOO_SCRIPTS = re.compile(r"^(odoo|odoo-bin|odoo\.py|odoo-server|openerp-server|openerp-server\.py)$")
_SERVICE_NAME = re.compile(r"odoo|openerp", re.IGNORECASE)
_VERSION_INFO = re.compile(r"^version_info\s*=\s*\(\s*['\"]?(?:saas~)?(\d+)['\"]?\s*,\s*(\d+)", re.MULTILINE)
_VERSION_OUTPUT = re.compile(r"(?:Odoo|OpenERP) Server (?:saas~)?(\d+)\.(\d+)")
SUPPORTED_SERIES = ("12.0", "13.0", "14.0", "15.0", "16.0", "17.0", "18.0", "19.0")
# PostgreSQL settings reported (readable by any role through pg_settings).
PG_SETTINGS = (
    "max_connections",
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "effective_cache_size",
    "password_encryption",
    "ssl",
    "listen_addresses",
    "port",
    "wal_level",
    "archive_mode",
    "max_wal_senders",
    "shared_preload_libraries",
    "data_directory",
    "hba_file",
)
# Odoo's own modules: a path that holds one of them is Odoo's addons path, any other is custom.
CORE_MODULES = ("base", "web")
_MANIFESTS = ("__manifest__.py", "__openerp__.py")


class DiscoveryError(Exception):
    """Discovery cannot go on (no Odoo service, unreadable configuration)."""


# --- pure parsing -----------------------------------------------------------------------------


def is_secret_option(name: str) -> bool:
    """True for an option whose value must never be returned."""
    return name in SECRET_OPTIONS or bool(_SECRET_WORDS.search(name))


def mask_options(options: Dict[str, Any]) -> Dict[str, Any]:
    """The options with every secret replaced by ``MASK`` (an unset secret stays unset)."""
    return {
        name: (MASK if is_secret_option(name) and value not in (None, False, "", "False", "None") else value)
        for name, value in options.items()
    }


def parse_odoo_conf(text: str) -> Tuple[Dict[str, str], List[str]]:
    """The raw ``[options]`` of an odoo.conf (old names renamed) and the other section names.

    RawConfigParser as Odoo: ``%`` and ``$`` stay verbatim, continuation lines are joined with
    a newline, a duplicate option is an error (raised as ``DiscoveryError``).
    """
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise DiscoveryError("cannot parse the Odoo configuration: {}".format(str(exc).splitlines()[0])) from None
    options = {}
    if parser.has_section("options"):
        for name, value in parser.items("options"):
            options[RENAMED_OPTIONS.get(name, name)] = value
    return options, [s for s in parser.sections() if s != "options"]


def odoo_truthy(value: Any) -> bool:
    """Truthiness as Odoo <= 18 tests an option: only ``False``/``false`` and empty are false."""
    if isinstance(value, bool):
        return value
    return value not in (None, "", "False", "false")


def cli_options(argv: Sequence[str]) -> Dict[str, Any]:
    """The options an odoo-bin command line sets (``-c``, ``--addons-path``, ``-w`` ...)."""
    found = {}
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        name, _sep, inline = arg.partition("=")
        if arg in _CLI_FLAGS:
            key, value = _CLI_FLAGS[arg]
            found[key] = value
        elif name in _CLI_VALUE_OPTIONS and (inline or _sep):
            found[_CLI_VALUE_OPTIONS[name]] = inline
        elif arg in _CLI_VALUE_OPTIONS and i + 1 < len(args):
            found[_CLI_VALUE_OPTIONS[arg]] = args[i + 1]
            i += 1
        elif len(arg) > 2 and arg[:2] in ("-c", "-d", "-D", "-p", "-r", "-w") and not arg.startswith("--"):
            found[_CLI_VALUE_OPTIONS[arg[:2]]] = arg[2:]
        i += 1
    return found


def odoo_script(argv: Sequence[str]) -> Optional[str]:
    """The Odoo script of a command line: argv[0], or the first argument after a Python interpreter."""
    for index, arg in enumerate(argv[:3]):
        base = os.path.basename(arg)
        if _ODOO_SCRIPTS.match(base):
            return arg
        if index == 0 and not base.startswith("python"):
            return None
    return None


def looks_like_odoo(argv: Sequence[str]) -> bool:
    """True when a command line runs an Odoo server."""
    return odoo_script(argv) is not None


def expandvars(value: str, env: Dict[str, str]) -> str:
    """``os.path.expandvars`` against the service's environment ($VAR and ${VAR}; unknown kept)."""

    def repl(match: Any) -> str:
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))

    return re.sub(r"\$(?:(\w+)|\{([^}]*)\})", repl, value)


def expanduser(value: str, home: str) -> str:
    """``os.path.expanduser`` for the service user (``~`` is its home, ``~name`` another user's)."""
    if not value.startswith("~"):
        return value
    head, sep, tail = value[1:].partition("/")
    if not head:
        base = home
    else:
        try:
            base = pwd.getpwnam(head).pw_dir
        except KeyError:
            return value
    return base.rstrip("/") + (sep + tail if sep else "") if base != "/" else "/" + tail


def resolve_path(value: str, cwd: str, env: Dict[str, str], home: str) -> str:
    """``abspath(expanduser(expandvars(value)))`` as the Odoo process would compute it."""
    path = expanduser(expandvars(value, env), home)
    return os.path.normpath(os.path.join(cwd, path))


def split_addons_path(
    value: Any, cwd: str, env: Dict[str, str], home: str, major: int = 16
) -> Tuple[List[str], List[Dict[str, Any]]]:
    """``addons_path`` as Odoo splits it (FIELD_CASES F10): commas only, each entry stripped.

    Returns the resolved paths and the empty entries. Up to 18.0 an empty entry (a trailing
    comma) resolves to the working directory of the process and is kept; 19.0 drops it.
    """
    if value in (None, False, "", "None", "False"):
        return [], []
    paths = []
    empty = []
    for position, entry in enumerate(str(value).split(",")):
        stripped = entry.strip()
        if not stripped:
            if major >= 19:
                continue
            resolved = os.path.normpath(cwd)
            empty.append({"position": position, "resolved_to": resolved})
            paths.append(resolved)
            continue
        paths.append(resolve_path(stripped, cwd, env, home))
    return paths, empty


def default_data_dir(home: str, home_exists: bool, env: Dict[str, str]) -> str:
    """Odoo's ``_get_default_datadir`` on Linux: appdirs' user data dir, else ``/var/lib/odoo``."""
    if not home_exists:
        return "/var/lib/odoo"
    base = env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(base, "Odoo")


def parse_release_py(text: str) -> Optional[str]:
    """The series (``16.0``) from ``odoo/release.py``'s ``version_info``; saas~X.Y gives X.0."""
    match = _VERSION_INFO.search(text)
    return "{}.0".format(match.group(1)) if match else None


def parse_version_output(text: str) -> Optional[str]:
    """The series from ``odoo-bin --version`` (``Odoo Server 16.0``)."""
    match = _VERSION_OUTPUT.search(text)
    return "{}.0".format(match.group(1)) if match else None


def parse_manifest(text: str) -> Optional[Dict[str, Any]]:
    """A module manifest (a dict literal), or None when it is not one."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, dict) else None


def parse_exec_start(value: str) -> List[str]:
    """The argv of ``systemctl show -p ExecStart`` (``{ path=... ; argv[]=a b c ; ... }``)."""
    match = re.search(r"argv\[\]=(.*?) ;", value)
    text = match.group(1) if match else value
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def parse_systemd_environment(value: str) -> Dict[str, str]:
    """``Environment=`` as ``systemctl show`` prints it (space-separated, quoted when needed)."""
    env = {}
    try:
        words = shlex.split(value)
    except ValueError:
        words = value.split()
    for word in words:
        name, sep, val = word.partition("=")
        if sep:
            env[name] = val
    return env


def parse_show(text: str) -> Dict[str, str]:
    """``systemctl show`` output (``Key=value`` lines)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value
    return values


def parse_pg_hba(text: str) -> List[Dict[str, Any]]:
    """The rules of a pg_hba.conf, in order (``include`` lines are not followed)."""
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if fields[0] == "local" and len(fields) >= 4:
            rules.append(_hba_rule(number, fields[0], fields[1], fields[2], None, method=fields[3]))
        elif fields[0].startswith("host") and len(fields) >= 5:
            address = fields[3]
            method_at = 4
            if "/" not in address and len(fields) >= 6 and re.match(r"^[\d.]+$", fields[4]):
                address = "{}/{}".format(fields[3], fields[4])  # address + netmask form
                method_at = 5
            rules.append(_hba_rule(number, fields[0], fields[1], fields[2], address, method=fields[method_at]))
    return rules


def _hba_rule(line: int, kind: str, database: str, user: str, address: Optional[str], *, method: str) -> Dict[str, Any]:
    return {
        "line": line,
        "type": kind,
        "database": database.split(","),
        "user": user.split(","),
        "address": address,
        "method": method,
    }


def is_password_hash(value: Any) -> bool:
    """True for a passlib hash as Odoo stores ``admin_passwd`` (``$pbkdf2-sha512$...``)."""
    return isinstance(value, str) and bool(re.match(r"^\$(pbkdf2-sha\d+|2[aby]|argon2\w*|scrypt)\$", value))


def odoo_major(series: Optional[str]) -> int:
    """16 for ``16.0``; 16 when unknown (the parsing rules of 12.0-18.0 are the same)."""
    try:
        return int(str(series).split(".", 1)[0])
    except ValueError:
        return 16


# --- weaknesses -------------------------------------------------------------------------------


def weaknesses(
    *,
    options: Dict[str, Any],
    argv: Sequence[str],
    role: Optional[Dict[str, Any]],
    hba_rules: Optional[List[Dict[str, Any]]],
    pg_settings: Dict[str, str],
    config_mode: Optional[int],
) -> List[Dict[str, Any]]:
    """Every weakness of the instance, most severe first; evidence never holds a secret."""
    found = []

    def add(ident: str, severity: str, summary: str, evidence: str) -> None:
        found.append({"id": ident, "severity": severity, "summary": summary, "evidence": evidence})

    admin = options.get("admin_passwd", DEFAULTS["admin_passwd"])
    if admin in (None, False, "", "False", "admin"):
        add(
            "admin_passwd_default",
            "high",
            "the master password (admin_passwd) is Odoo's default 'admin' or unset",
            "admin_passwd is set to the default" if "admin_passwd" in options else "admin_passwd is unset",
        )
    if "admin_passwd" in options and admin not in (None, False, "", "False") and not is_password_hash(admin):
        add(
            "admin_passwd_plaintext",
            "high",
            "the master password (admin_passwd) is stored in plain text, not as a pbkdf2 hash",
            "admin_passwd = {}".format(MASK),
        )
    secret_args = [a.split("=")[0] for a in argv if a.split("=")[0] in ("-w", "--db_password")]
    secret_args += ["-w" for a in argv if a.startswith("-w") and len(a) > 2]
    if secret_args:
        add(
            "secret_on_command_line",
            "high",
            "the database password is on the command line (visible in ps and /proc)",
            "the service's command line has {} {}".format(secret_args[0], MASK),
        )
    if role and role.get("superuser"):
        add(
            "db_user_superuser",
            "high",
            "Odoo connects as a PostgreSQL superuser",
            "role {} has rolsuper".format(role.get("name")),
        )
    for rule in hba_rules or []:
        if rule.get("method") == "trust":
            add(
                "pg_trust_auth",
                "high",
                "PostgreSQL lets clients in without a password (trust)",
                "pg_hba line {}: {} {} {}{} trust".format(
                    rule.get("line"),
                    rule.get("type"),
                    ",".join(rule.get("database") or []),
                    ",".join(rule.get("user") or []),
                    " " + rule["address"] if rule.get("address") else "",
                ),
            )
    md5_rules = [r for r in hba_rules or [] if r.get("method") in ("md5", "password")]
    if md5_rules or pg_settings.get("password_encryption") == "md5":
        evidence = []
        if pg_settings.get("password_encryption") == "md5":
            evidence.append("password_encryption = md5")
        if md5_rules:
            evidence.append(
                "pg_hba lines {} use {}".format(
                    ",".join(str(r.get("line")) for r in md5_rules), "/".join(sorted({r["method"] for r in md5_rules}))
                )
            )
        add(
            "pg_md5_auth",
            "medium",
            "PostgreSQL passwords use md5 (or plain password), not scram-sha-256",
            "; ".join(evidence),
        )
    if odoo_truthy(options.get("list_db", DEFAULTS["list_db"])):
        add(
            "list_db_enabled",
            "medium",
            "the database manager and database list are reachable (list_db on)",
            "list_db = {}".format(options.get("list_db", "True (default)")),
        )
    if (
        config_mode is not None
        and config_mode & 0o004
        and any(options.get(name) not in (None, False, "", "False") for name in SECRET_OPTIONS)
    ):
        add(
            "config_world_readable",
            "medium",
            "the configuration file holds secrets and every local user can read it",
            "mode {:04o}".format(config_mode & 0o7777),
        )
    order = {"high": 0, "medium": 1, "low": 2}
    found.sort(key=lambda w: order[w["severity"]])
    return found


# --- the host ---------------------------------------------------------------------------------


class Host:
    """Side effects of discovery on the local host: commands and files, all read-only."""

    def __init__(self, timeout: int = 30) -> None:
        self.timeout = timeout

    def run(
        self, argv: Sequence[str], env: Optional[Dict[str, str]] = None, user: Optional[str] = None
    ) -> Tuple[int, str, str]:
        """Run a command; (rc, stdout, stderr). Secrets travel in ``env``, never in ``argv``."""
        full_env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LC_ALL": "C"}
        full_env.update(env or {})
        argv = list(argv)
        if user and os.geteuid() == 0 and user != "root":
            argv = ["runuser", "-u", user, "--", *argv]
        try:
            proc = subprocess.run(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=full_env,
                timeout=self.timeout,
                universal_newlines=True,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return 127, "", str(exc)
        return proc.returncode, proc.stdout, proc.stderr

    def read(self, path: str) -> Optional[str]:
        """A text file's content, or None when it cannot be read."""
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return None

    def has_systemd(self) -> bool:
        """True when systemd is the init system."""
        return os.path.isdir("/run/systemd/system")


def _proc_cmdline(pid: int) -> List[str]:
    try:
        with open("/proc/{}/cmdline".format(pid), "rb") as handle:
            return [a.decode("utf-8", "replace") for a in handle.read().split(b"\0") if a]
    except OSError:
        return []


def _proc_environ(pid: int) -> Dict[str, str]:
    try:
        with open("/proc/{}/environ".format(pid), "rb") as handle:
            raw = handle.read()
    except OSError:
        return {}
    env = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep:
            env[name] = value
    return env


def _proc_owner(pid: int) -> Optional[str]:
    try:
        uid = os.stat("/proc/{}".format(pid)).st_uid
        return pwd.getpwuid(uid).pw_name
    except (OSError, KeyError):
        return None


def find_service(host: Host, service: Optional[str] = None) -> Dict[str, Any]:
    """The Odoo service: a systemd unit (named, or found by name) or else a running process."""
    if host.has_systemd():
        names = [service] if service else _odoo_units(host)
        units = [u for u in (_show_unit(host, n) for n in names) if u]
        units = [u for u in units if service or looks_like_odoo(u["argv"])]
        if units:
            units.sort(key=lambda u: (u["active_state"] != "active", u["unit"]))
            return units[0]
        if service:
            raise DiscoveryError("systemd unit {} not found".format(service))
    process = _odoo_process()
    if process:
        return process
    raise DiscoveryError(
        "no Odoo service found: no systemd unit named like odoo/openerp runs odoo-bin, and no odoo process runs"
    )


def _odoo_units(host: Host) -> List[str]:
    names = set()
    for argv in (
        ["systemctl", "list-units", "--type=service", "--all", "--no-legend", "--plain"],
        ["systemctl", "list-unit-files", "--type=service", "--no-legend"],
    ):
        rc, out, _err = host.run(argv)
        if rc != 0:
            continue
        for line in out.splitlines():
            fields = line.split()
            if fields and _SERVICE_NAME.search(fields[0]) and fields[0].endswith(".service"):
                names.add(fields[0])
    return sorted(names)


def _show_unit(host: Host, name: str) -> Optional[Dict[str, Any]]:
    props = "Id,LoadState,ActiveState,MainPID,User,Group,ExecStart,Environment,WorkingDirectory,FragmentPath"
    rc, out, _err = host.run(["systemctl", "show", name, "-p", props])
    values = parse_show(out)
    if rc != 0 or values.get("LoadState") in (None, "not-found"):
        return None
    pid = int(values.get("MainPID") or 0)
    env = parse_systemd_environment(values.get("Environment", ""))
    cwd = values.get("WorkingDirectory") or "/"
    if pid:
        env = _proc_environ(pid) or env
        with contextlib.suppress(OSError):
            cwd = os.readlink("/proc/{}/cwd".format(pid))
    return {
        "kind": "systemd",
        "unit": values.get("Id", name),
        "unit_file": values.get("FragmentPath") or None,
        "active_state": values.get("ActiveState", "unknown"),
        "main_pid": pid or None,
        "user": values.get("User") or "root",
        "argv": parse_exec_start(values.get("ExecStart", "")),
        "environment": env,
        "working_directory": cwd,
    }


def _odoo_process() -> Optional[Dict[str, Any]]:
    candidates = []
    for entry in glob.glob("/proc/[0-9]*"):
        pid = int(os.path.basename(entry))
        argv = _proc_cmdline(pid)
        if argv and looks_like_odoo(argv):
            candidates.append((pid, argv))
    if not candidates:
        return None
    pid, argv = min(candidates)  # the oldest one is the master
    try:
        cwd = os.readlink("/proc/{}/cwd".format(pid))
    except OSError:
        cwd = "/"
    return {
        "kind": "process",
        "unit": None,
        "unit_file": None,
        "active_state": "active",
        "main_pid": pid,
        "user": _proc_owner(pid) or "root",
        "argv": argv,
        "environment": _proc_environ(pid),
        "working_directory": cwd,
    }


# --- Odoo side --------------------------------------------------------------------------------


def _user_home(user: str) -> Tuple[str, bool]:
    try:
        home = pwd.getpwnam(user).pw_dir
    except KeyError:
        home = "/root" if user == "root" else "/home/" + user
    return home, os.path.isdir(home)


def find_config(argv: Sequence[str], env: Dict[str, str], home: str, cwd: str) -> Optional[str]:
    """The configuration file Odoo reads: -c/--config, else $ODOO_RC/$OPENERP_SERVER, else ~/.odoorc."""
    configured = cli_options(argv).get("config") or env.get("ODOO_RC") or env.get("OPENERP_SERVER")
    if configured:
        return resolve_path(configured, cwd, env, home)
    for name in (".odoorc", ".openerp_serverrc"):
        candidate = os.path.join(home, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def detect_version(host: Host, service: Dict[str, Any], http_port: int, interface: str) -> Dict[str, Any]:
    """The Odoo series: from ``odoo/release.py`` beside the script, else the running server's
    ``/web/webclient/version_info``, else ``odoo-bin --version``."""
    script = odoo_script(service["argv"])
    if script:
        root = os.path.dirname(os.path.realpath(script))
        candidates = [os.path.join(root, pkg, "release.py") for pkg in ("odoo", "openerp")]
        interpreter = service["argv"][0] if script != service["argv"][0] else ""
        if interpreter:
            venv = os.path.dirname(os.path.dirname(interpreter))
            candidates += sorted(
                glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "odoo", "release.py"))
            )
        candidates += sorted(glob.glob("/usr/lib/python3/dist-packages/odoo/release.py"))
        for path in candidates:
            text = host.read(path)
            series = parse_release_py(text) if text else None
            if series:
                return {"series": series, "source": path}
    series = _version_from_http(http_port, interface)
    if series:
        return {"series": series, "source": "http://127.0.0.1:{}/web/webclient/version_info".format(http_port)}
    if script:
        argv = [*service["argv"][: service["argv"].index(script) + 1], "--version"]
        rc, out, _err = host.run(argv, env=service["environment"], user=service["user"])
        series = parse_version_output(out) if rc == 0 else None
        if series:
            return {"series": series, "source": "{} --version".format(script)}
    return {"series": None, "source": None}


def _version_from_http(port: int, interface: str) -> Optional[str]:
    # http.client, not Ansible's open_url: this file also runs standalone on legacy hosts.
    import http.client  # noqa: PLC0415 - only needed here

    address = interface if interface and interface not in ("0.0.0.0", "::") else "127.0.0.1"
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": {}})
    connection = http.client.HTTPConnection(address, port, timeout=5)
    try:
        connection.request(
            "POST", "/web/webclient/version_info", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        if response.status != 200:
            return None
        result = json.loads(response.read().decode()).get("result") or {}
    except (http.client.HTTPException, OSError, ValueError, socket.timeout):
        return None
    finally:
        connection.close()
    info = result.get("server_version_info")
    if isinstance(info, list) and info:
        return "{}.0".format(str(info[0]).replace("saas~", ""))
    return None


def scan_addons(paths: Sequence[str], skip: Sequence[str] = ()) -> List[Dict[str, Any]]:
    """Each addons path with its modules (a directory with __init__.py and a manifest).

    Paths in ``skip`` (what empty entries resolved to) are listed without being scanned.
    """
    scanned = []
    for path in paths:
        if path in skip:
            scanned.append(
                {"path": path, "exists": os.path.isdir(path), "core": False, "empty_entry": True, "modules": []}
            )
            continue
        modules = []
        exists = os.path.isdir(path)
        for name in sorted(os.listdir(path)) if exists else []:
            module_dir = os.path.join(path, name)
            manifest = next((m for m in _MANIFESTS if os.path.isfile(os.path.join(module_dir, m))), None)
            if not manifest or not os.path.isfile(os.path.join(module_dir, "__init__.py")):
                continue
            try:
                with open(os.path.join(module_dir, manifest), encoding="utf-8", errors="replace") as handle:
                    data = parse_manifest(handle.read()) or {}
            except OSError:
                data = {}
            modules.append({"name": name, "version": str(data.get("version", "")) or None})
        names = [m["name"] for m in modules]
        scanned.append(
            {
                "path": path,
                "exists": exists,
                "core": any(core in names for core in CORE_MODULES),
                "empty_entry": False,
                "modules": modules,
            }
        )
    return scanned


def filestore_stats(path: str) -> Dict[str, Any]:
    """Files and bytes (apparent sizes) under one database's filestore."""
    files = 0
    size = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                size += os.lstat(os.path.join(root, name)).st_size
                files += 1
            except OSError:
                continue
    return {"path": path, "exists": os.path.isdir(path), "files": files, "bytes": size}


# --- PostgreSQL side --------------------------------------------------------------------------


class Psql:
    """psql with the configured credentials in the environment (PGPASSWORD), never on argv."""

    def __init__(self, host: Host, options: Dict[str, Any], service_user: str, psql: str = "psql") -> None:
        self.host = host
        self.psql = psql
        self.env = {"PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "sysgenpro-discovery"}
        for option, variable in (
            ("db_host", "PGHOST"),
            ("db_port", "PGPORT"),
            ("db_user", "PGUSER"),
            ("db_password", "PGPASSWORD"),
            ("db_sslmode", "PGSSLMODE"),
        ):
            value = options.get(option)
            if value not in (None, False, "", "False", "None"):
                self.env[variable] = str(value)
        # Without db_user and db_host Odoo connects over the socket as its OS user (peer): so do we.
        self.user = service_user if "PGUSER" not in self.env and "PGHOST" not in self.env else None
        self.role = self.env.get("PGUSER", service_user)

    def query(self, dbname: str, sql: str) -> Tuple[bool, str]:
        """Run one statement; (ok, unaligned tuples-only output or the error)."""
        argv = [self.psql, "-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dbname, "-c", sql]
        rc, out, err = self.host.run(argv, env=self.env, user=self.user)
        return (rc == 0, out.strip() if rc == 0 else (err.strip().splitlines() or ["psql failed"])[-1])

    def json(self, dbname: str, sql: str) -> Tuple[Any, Optional[str]]:
        """A statement that returns one JSON value; (value, error)."""
        ok, out = self.query(dbname, sql)
        if not ok:
            return None, out
        try:
            return json.loads(out or "null"), None
        except ValueError:
            return None, "unexpected psql output"


_SERVER_SQL = (
    "SELECT json_build_object("
    "'version', current_setting('server_version'), "
    "'version_num', current_setting('server_version_num')::int, "
    "'settings', (SELECT json_object_agg(name, current_setting(name)) FROM pg_settings "
    "WHERE name = ANY(ARRAY[{settings}])), "
    "'role', (SELECT json_build_object('name', rolname, 'superuser', rolsuper, 'createdb', rolcreatedb, "
    "'createrole', rolcreaterole) FROM pg_roles WHERE rolname = current_user), "
    "'databases', (SELECT json_agg(json_build_object('name', datname, 'owner', pg_get_userbyid(datdba), "
    "'size_bytes', CASE WHEN has_database_privilege(datname, 'CONNECT') THEN pg_database_size(datname) END, "
    "'encoding', pg_encoding_to_char(encoding), 'collate', datcollate) ORDER BY datname) "
    "FROM pg_database WHERE NOT datistemplate AND datallowconn AND datname <> 'postgres'))"
).format(settings=", ".join("'{}'".format(s) for s in PG_SETTINGS))
_HBA_SQL = (
    "SELECT json_agg(json_build_object('line', line_number, 'type', type, 'database', database, "
    "'user', user_name, 'address', address, 'method', auth_method) ORDER BY line_number) "
    "FROM pg_hba_file_rules WHERE error IS NULL"
)
_IS_ODOO_SQL = "SELECT to_regclass('ir_module_module') IS NOT NULL AND to_regclass('ir_attachment') IS NOT NULL"
_ODOO_DB_SQL = (
    "SELECT json_build_object("
    "'installed_modules', (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM ir_module_module "
    "WHERE state = 'installed'), "
    "'base_version', (SELECT latest_version FROM ir_module_module WHERE name = 'base'), "
    "'attachments', (SELECT count(*) FROM ir_attachment), "
    "'attachments_in_filestore', (SELECT count(*) FROM ir_attachment WHERE store_fname IS NOT NULL), "
    "'attachments_in_database', (SELECT count(*) FROM ir_attachment WHERE store_fname IS NULL "
    "AND db_datas IS NOT NULL), "
    "'internal_users', (SELECT count(*) FROM res_users WHERE active AND NOT share), "
    "'mail_servers', (SELECT count(*) FROM ir_mail_server WHERE active), "
    "'uuid', (SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'))"
)
_STORE_FNAMES_SQL = "SELECT DISTINCT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL"


def postgres_facts(psql: Psql, hba_fallback: Host) -> Dict[str, Any]:
    """Server version and settings, the role, pg_hba rules and the database list."""
    facts = {"reachable": False, "error": None, "role": None, "hba_rules": None, "hba_source": None}
    server, error = psql.json("postgres", _SERVER_SQL)
    if server is None:
        server, error = psql.json("template1", _SERVER_SQL)
    if server is None:
        facts["error"] = error
        return facts
    facts.update(
        {
            "reachable": True,
            "version": server["version"],
            "major": server["version_num"] // 10000,
            "settings": server.get("settings") or {},
            "role": server.get("role"),
            "databases": server.get("databases") or [],
        }
    )
    rules, _error = psql.json("postgres", _HBA_SQL)
    if rules is not None:
        facts["hba_rules"] = [
            dict(rule, address=rule.get("address") if rule.get("type") != "local" else None) for rule in rules
        ]
        facts["hba_source"] = "pg_hba_file_rules"
    else:  # not a superuser: read the file when it is on this host and readable
        paths = [facts["settings"].get("hba_file")] if facts["settings"].get("hba_file") else []
        paths += sorted(glob.glob("/etc/postgresql/{}/*/pg_hba.conf".format(facts["major"])))
        for path in paths:
            text = hba_fallback.read(path)
            if text is not None:
                facts["hba_rules"] = parse_pg_hba(text)
                facts["hba_source"] = path
                break
    return facts


def database_facts(psql: Psql, name: str, filestore: str, verify_filestore: bool) -> Dict[str, Any]:
    """One database: Odoo or not, installed modules, attachments, users, and its filestore."""
    facts = {"name": name, "odoo": False, "error": None}
    ok, out = psql.query(name, _IS_ODOO_SQL)
    if not ok:
        facts["error"] = out
        return facts
    if out != "t":
        return facts
    data, error = psql.json(name, _ODOO_DB_SQL)
    if data is None:
        facts["error"] = error
        return facts
    facts.update(data)
    facts["odoo"] = True
    facts["installed_modules_count"] = len(data["installed_modules"])
    facts["filestore"] = filestore_stats(filestore)
    if verify_filestore:
        ok, out = psql.query(name, _STORE_FNAMES_SQL)
        fnames = [line for line in out.splitlines() if line] if ok else []
        missing = [f for f in fnames if not os.path.isfile(os.path.join(filestore, f))]
        facts["filestore"]["missing_files"] = len(missing) if ok else None
        facts["filestore"]["missing_sample"] = missing[:10]
    return facts


# --- the whole discovery ----------------------------------------------------------------------


def _host_facts() -> Dict[str, Any]:
    pretty = None
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return {
        "hostname": socket.gethostname(),
        "os": pretty,
        "python": "{}.{}.{}".format(*sys.version_info[:3]),
        "cpus": os.cpu_count(),
        "memory_bytes": mem,
    }


def discover(
    host: Optional[Host] = None,
    service: Optional[str] = None,
    config: Optional[str] = None,
    psql: str = "psql",
    verify_filestore: bool = True,
) -> Dict[str, Any]:
    """Everything discovery knows about the Odoo instance on this host, secrets masked."""
    host = host or Host()
    svc = find_service(host, service)
    env = svc["environment"]
    user = svc["user"]
    home, home_exists = _user_home(user)
    env.setdefault("HOME", home)
    cwd = svc["working_directory"] or "/"
    config_path = config or find_config(svc["argv"], env, home, cwd)
    warnings = []
    file_options = {}
    sections = []
    config_mode = None
    if config_path:
        text = host.read(config_path)
        if text is None:
            raise DiscoveryError(
                "cannot read the Odoo configuration {} (run as root: become: true)".format(config_path)
            )
        file_options, sections = parse_odoo_conf(text)
        config_mode = os.stat(config_path).st_mode
    else:
        warnings.append("no configuration file: Odoo runs on its defaults and command-line options")
    cli = cli_options(svc["argv"])
    cli.pop("config", None)
    options = dict(file_options)
    options.update(cli)

    def opt(name: str) -> Any:
        value = options.get(name, DEFAULTS.get(name))
        return DEFAULTS.get(name) if value in ("None",) else value

    def int_opt(name: str) -> int:
        try:
            return int(opt(name) or 0)
        except (TypeError, ValueError):
            return int(DEFAULTS[name])

    version = detect_version(host, svc, int_opt("http_port"), str(opt("http_interface") or ""))
    major = odoo_major(version["series"])
    paths, empty = split_addons_path(opt("addons_path"), cwd, env, home, major)
    for entry in empty:
        warnings.append(
            "addons_path has an empty entry (a trailing comma); Odoo resolves it to {!r}, its working "
            "directory; the migrated configuration drops it".format(entry["resolved_to"])
        )
    addons = scan_addons(paths, [e["resolved_to"] for e in empty])
    if opt("data_dir") in (None, False, "", "False"):
        data_dir = default_data_dir(home, home_exists, env)
        data_dir_source = "default for service user {} (home {})".format(user, home)
    else:
        data_dir = resolve_path(str(opt("data_dir")), cwd, env, home)
        data_dir_source = "configuration"
    client = Psql(host, options, user, psql)
    pg = postgres_facts(client, host)
    if not pg["reachable"]:
        warnings.append("PostgreSQL not reachable as the configured user: {}".format(pg["error"]))
    databases = [
        dict(
            database_facts(client, db["name"], os.path.join(data_dir, "filestore", db["name"]), verify_filestore),
            owner=db["owner"],
            size_bytes=db["size_bytes"],
        )
        for db in pg.get("databases", [])
    ]
    custom_paths = [a for a in addons if not a["core"] and not a["empty_entry"]]
    return {
        "format": FACTS_FORMAT,
        "host": _host_facts(),
        "service": {
            "kind": svc["kind"],
            "unit": svc["unit"],
            "unit_file": svc["unit_file"],
            "active_state": svc["active_state"],
            "main_pid": svc["main_pid"],
            "user": user,
            "home": home,
            "working_directory": cwd,
            "command": [
                MASK if i > 0 and svc["argv"][i - 1] in ("-w", "--db_password") else a
                for i, a in enumerate(svc["argv"])
            ],
        },
        "config": {
            "path": config_path,
            "mode": "{:04o}".format(config_mode & 0o7777) if config_mode is not None else None,
            "options": mask_options(file_options),
            "command_line_options": mask_options(cli),
            "other_sections": sections,
        },
        "odoo": {
            "version": version["series"],
            "version_source": version["source"],
            "supported": version["series"] in SUPPORTED_SERIES,
            "http_port": int_opt("http_port"),
            "workers": int_opt("workers"),
            "max_cron_threads": int_opt("max_cron_threads"),
            "db_maxconn": int_opt("db_maxconn"),
            "list_db": odoo_truthy(opt("list_db")),
            "proxy_mode": odoo_truthy(opt("proxy_mode")),
            "dbfilter": opt("dbfilter") or "",
            "db_name": opt("db_name") or None,
            "addons_path": paths,
            "addons_path_empty_entries": empty,
            "addons": addons,
            "custom_addons_paths": [a["path"] for a in custom_paths],
            "custom_modules": sorted(m["name"] for a in custom_paths for m in a["modules"]),
            "data_dir": data_dir,
            "data_dir_source": data_dir_source,
        },
        "postgresql": {
            "reachable": pg["reachable"],
            "error": pg["error"],
            "connection": {
                "host": opt("db_host") or None,
                "port": int_opt("db_port") or None,
                "user": client.role,
            },
            "version": pg.get("version"),
            "major": pg.get("major"),
            "settings": pg.get("settings", {}),
            "role": pg["role"],
            "hba_rules": pg["hba_rules"],
            "hba_source": pg["hba_source"],
        },
        "databases": databases,
        "weaknesses": weaknesses(
            options=options,
            argv=svc["argv"],
            role=pg["role"],
            hba_rules=pg["hba_rules"],
            pg_settings=pg.get("settings", {}),
            config_mode=config_mode,
        ),
        "warnings": warnings,
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Standalone entry point for hosts without a usable Python for Ansible: print the facts as JSON."""
    import argparse  # noqa: PLC0415 - only the script path needs it

    parser = argparse.ArgumentParser(description="Discover the Odoo instance on this host (read-only).")
    parser.add_argument("--service", help="systemd unit of Odoo (default: found by name)")
    parser.add_argument("--config", help="Odoo configuration file (default: from the service)")
    parser.add_argument("--psql", default="psql", help="psql binary (default: psql on PATH)")
    parser.add_argument("--no-verify-filestore", action="store_true", help="do not check each attachment file")
    parser.add_argument("--timeout", type=int, default=30, help="seconds per command (default 30)")
    args = parser.parse_args(argv)
    try:
        facts = discover(Host(args.timeout), args.service, args.config, args.psql, not args.no_verify_filestore)
    except DiscoveryError as exc:
        sys.stdout.write(json.dumps({"failed": True, "msg": str(exc)}) + "\n")
        return 1
    sys.stdout.write(json.dumps({"changed": False, "odoo_instance": facts}, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    # A script on a legacy host, not a module: its own exit code (ansible-test's sys.exit rule is for modules).
    raise SystemExit(main())
