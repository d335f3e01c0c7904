#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: postgres_settings
short_description: Apply many PostgreSQL server settings with ALTER SYSTEM in one call
version_added: 0.1.0
description:
  - Brings a whole mapping of server settings to the wanted values in one module execution (one connection, two
    reads, one C(ALTER SYSTEM) per differing setting, at most one C(pg_reload_conf()), and after a reload one more
    connection to read what new sessions get), instead of one task per setting.
  - Values are compared unit-aware, as PostgreSQL itself parses them (C(pg_settings.unit) and C(vartype)); V(1GB)
    equals V(131072) for C(shared_buffers), whose unit is 8kB pages; V(on), V(true) and V(yes) are the same boolean;
    the elements of list settings such as C(shared_preload_libraries) are compared without quotes and blanks.
  - A setting is compared with what is B(configured) (the last entry for it in the configuration files,
    C(pg_file_settings); C(ALTER SYSTEM) writes C(postgresql.auto.conf)) and with what is B(live) (C(pg_settings)).
    A value that is configured but waits for a restart (staged for a maintenance window) is not written again; the
    module reports it in RV(restart_required) with C(changed=false).
  - The module never restarts the server. It reloads the configuration when it wrote something, or when a value that
    needs no restart is configured but not live yet.
  - Supports PostgreSQL 14 or later.
author:
  - SysGenPro platform engineering (@sysgenpro)
requirements:
  - psycopg2 on the host the module runs on (Debian package C(python3-psycopg2)).
attributes:
  check_mode:
    support: full
    description: Reads the server and reports what would be written, the diff and the settings that would need a
      restart; writes and reloads nothing.
  diff_mode:
    support: full
    description: The configured value before and the wanted value after, for every setting that changes.
  idempotent:
    support: full
    description: A second call with the same settings changes nothing, also while a restart is still pending.
options:
  settings:
    description:
      - The settings to apply, as a mapping of name to value in units PostgreSQL accepts, for example
        V(512MB) for C(shared_buffers), V(60) for C(max_connections), V(true) for C(log_connections).
      - Numbers and YAML booleans are accepted (V(true) is written as V(on)).
      - Settings that are not listed are left as they are; remove one with C(ALTER SYSTEM RESET) by hand.
      - A setting of an extension (a name with a dot) must already be in C(pg_settings), that is its library loaded.
    type: dict
    required: true
  login_user:
    description:
      - The role to connect as; it must be a superuser (C(ALTER SYSTEM) and C(pg_file_settings) need it).
    type: str
    default: postgres
  login_password:
    description:
      - The password of O(login_user). Not needed with peer authentication over the Unix socket.
    type: str
    default: ""
  login_host:
    description:
      - The host to connect to. Empty means the Unix socket in O(login_unix_socket).
    type: str
    default: ""
  login_unix_socket:
    description:
      - The directory of the server's Unix socket, used when O(login_host) is empty.
    type: path
    default: /var/run/postgresql
  login_port:
    description:
      - The server's port (also the number in the Unix socket's file name).
    type: int
    default: 5432
  login_db:
    description:
      - The database to connect to. Settings are server-wide; any database will do.
    type: str
    default: postgres
  ssl_mode:
    description:
      - The libpq C(sslmode) for TCP connections.
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - The CA certificate file that verifies the server with O(ssl_mode=verify-ca) or O(ssl_mode=verify-full).
    type: path
notes:
  - Settings are not secrets; the module returns the statements it ran. The password in O(login_password) is
    never returned nor logged.
  - A live value that comes from C(ALTER ROLE ... SET) or C(ALTER DATABASE ... SET) for the connecting role cannot be
    compared server-wide; for such a setting only the configured value counts.
  - A restart is for the caller to decide, for example only inside a maintenance window; RV(restart_required) names
    the settings that wait for one.
seealso:
  - module: community.postgresql.postgresql_alter_system
    description: The one-setting-per-call module this one batches.
  - name: pg_settings
    description: PostgreSQL documentation of the view, its units and contexts.
    link: https://www.postgresql.org/docs/current/view-pg-settings.html
  - name: pg_file_settings
    description: PostgreSQL documentation of the view of the configuration files.
    link: https://www.postgresql.org/docs/current/view-pg-file-settings.html
"""

EXAMPLES = r"""
- name: Apply the plan's settings over the Unix socket as postgres
  sysgenpro.odoo_platform.postgres_settings:
    settings:
      max_connections: 60
      shared_buffers: 512MB
      work_mem: 4854kB
      log_connections: true
      shared_preload_libraries: pg_stat_statements
  become: true
  become_user: postgres
  register: pg_settings

- name: Restart only when a setting needs it and the window allows it
  ansible.builtin.systemd_service:
    name: postgresql@15-main
    state: restarted
  when: pg_settings.restart_required | length > 0 and in_window | bool

- name: Preview the change
  sysgenpro.odoo_platform.postgres_settings:
    settings:
      shared_buffers: 1GB
  check_mode: true
  diff: true
  become: true
  become_user: postgres
"""

RETURN = r"""
changed_settings:
  description: The settings written with C(ALTER SYSTEM) (or that would be, in check mode), lower-case.
  returned: always
  type: list
  elements: str
  sample: [shared_buffers, work_mem]
restart_required:
  description:
    - The given settings whose wanted value is configured but only a restart makes live (context C(postmaster)).
    - Also listed when the value was staged by an earlier run; then the call reports C(changed=false).
  returned: always
  type: list
  elements: str
  sample: [shared_buffers]
pending_restart:
  description:
    - Every setting of the server that C(pg_settings) marks C(pending_restart) after the call, given or not.
    - In check mode, the settings pending now plus RV(restart_required).
  returned: always
  type: list
  elements: str
  sample: [shared_buffers]
reloaded:
  description: Whether the module ran C(pg_reload_conf()).
  returned: always
  type: bool
  sample: true
executed_queries:
  description: The statements run, in order (in check mode, the statements that would run).
  returned: always
  type: list
  elements: str
  sample: ["ALTER SYSTEM SET shared_buffers = '1GB'", "SELECT pg_reload_conf()"]
settings:
  description: For every given setting, its live value after the call as C(SHOW) prints it, its context, and whether it
    waits for a restart.
  returned: always
  type: dict
  sample: {shared_buffers: {value: 128MB, context: postmaster, pending_restart: true}}
diff:
  description: The configured values before and the wanted values after, for the settings that change.
  returned: always
  type: dict
  sample: {before: {shared_buffers: 128MB}, after: {shared_buffers: 1GB}}
"""

import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pg_settings import (  # noqa: E402
    BACKEND_CONTEXTS,
    Plan,
    Setting,
    SettingError,
    alter_arguments,
    check_name,
    is_live,
    last_configured,
    plan,
)

try:
    import psycopg2
except ImportError:
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None

# How long to wait for the server and this session to pick up a reload (pg_reload_conf() only signals).
_RELOAD_WAIT_SECONDS = 10.0
_RELOAD_POLL_SECONDS = 0.1

_READ_SETTINGS = (
    "SELECT name, setting, unit, vartype, context, coalesce(enumvals, '{}'), pending_restart, source, "
    "current_setting(name) FROM pg_catalog.pg_settings WHERE lower(name) = ANY(%s)"
)
_READ_FILES = "SELECT name, setting, error FROM pg_catalog.pg_file_settings WHERE lower(name) = ANY(%s) ORDER BY seqno"
_READ_PENDING = "SELECT name FROM pg_catalog.pg_settings WHERE pending_restart ORDER BY name"


def _connect(module: AnsibleModule) -> Any:
    """Connect in autocommit mode (ALTER SYSTEM cannot run in a transaction), as community.postgresql does."""
    params = module.params
    kwargs = {
        "host": params["login_host"] or params["login_unix_socket"],
        "port": params["login_port"],
        "user": params["login_user"],
        "dbname": params["login_db"],
        "application_name": "sysgenpro.odoo_platform.postgres_settings",
    }
    if params["login_password"]:
        kwargs["password"] = params["login_password"]
    if params["login_host"]:
        kwargs["sslmode"] = params["ssl_mode"]
        if params["ca_cert"]:
            kwargs["sslrootcert"] = params["ca_cert"]
    try:
        connection = psycopg2.connect(**kwargs)
        connection.set_session(autocommit=True)
    except psycopg2.Error as exc:
        module.fail_json(
            msg=f"unable to connect to PostgreSQL at {kwargs['host']}:{kwargs['port']}: {str(exc).strip()}"
        )
    return connection


def _read(cursor: Any, names: list[str]) -> dict[str, Setting]:
    """Read pg_settings and pg_file_settings for ``names`` (two queries)."""
    cursor.execute(_READ_FILES, (names,))
    configured = last_configured(cursor.fetchall())
    cursor.execute(_READ_SETTINGS, (names,))
    return {
        row[0].lower(): Setting(
            name=row[0],
            setting=row[1],
            unit=row[2],
            vartype=row[3],
            context=row[4],
            enumvals=tuple(row[5]),
            pending_restart=bool(row[6]),
            source=row[7],
            configured=configured.get(row[0].lower()),
            display=row[8],
        )
        for row in cursor.fetchall()
    }


def _pending(cursor: Any) -> list[str]:
    """Every setting the server marks pending_restart."""
    cursor.execute(_READ_PENDING)
    return [row[0] for row in cursor.fetchall()]


def _wait_for_reload(cursor: Any, names: list[str], wanted: dict[str, Any]) -> tuple[dict[str, Setting], bool]:
    """Poll until every written setting is live or flagged pending_restart; return the last read and success."""
    deadline = time.monotonic() + _RELOAD_WAIT_SECONDS
    while True:
        current = _read(cursor, names)
        # Backend-context settings (log_connections) never change in a running session.
        settled = all(
            current[name].pending_restart
            or current[name].context in BACKEND_CONTEXTS
            or is_live(current[name], wanted[name])
            for name in wanted
            if name in current
        )
        if settled or time.monotonic() >= deadline:
            return current, settled
        time.sleep(_RELOAD_POLL_SECONDS)


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec={
            "settings": {"type": "dict", "required": True},
            "login_user": {"type": "str", "default": "postgres"},
            "login_password": {"type": "str", "default": "", "no_log": True},
            "login_host": {"type": "str", "default": ""},
            "login_unix_socket": {"type": "path", "default": "/var/run/postgresql"},
            "login_port": {"type": "int", "default": 5432},
            "login_db": {"type": "str", "default": "postgres"},
            "ssl_mode": {
                "type": "str",
                "default": "prefer",
                "choices": ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"],
            },
            "ca_cert": {"type": "path"},
        },
        supports_check_mode=True,
    )
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)

    desired: dict[str, Any] = module.params["settings"]
    try:
        wanted = {check_name(name): value for name, value in desired.items()}
    except SettingError as exc:
        module.fail_json(msg=str(exc))

    connection = _connect(module)
    try:
        result = _run(module, connection.cursor(), desired, wanted)
    except psycopg2.Error as exc:
        module.fail_json(msg=f"reading the server settings failed: {str(exc).strip()}")
    finally:
        connection.close()
    module.exit_json(**result)


def _run(module: AnsibleModule, cursor: Any, desired: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """Read once, decide, write (unless in check mode), reload once, and build the result."""
    names = sorted(wanted)
    current = _read(cursor, names)
    try:
        decision = plan(desired, current)
    except SettingError as exc:
        module.fail_json(msg=str(exc))

    statements = []
    executed: list[str] = []
    for name, value in decision.alter.items():
        arguments = alter_arguments(name, value)
        # The name passed check_name() (letters, digits, _ and one dot); values are bound as literals.
        query = f"ALTER SYSTEM SET {name} = " + ", ".join(["%s"] * len(arguments))
        statements.append((name, query, arguments))
        executed.append(cursor.mogrify(query, arguments).decode())
    if decision.reload:
        executed.append("SELECT pg_reload_conf()")

    if module.check_mode:
        return _result(
            decision,
            current,
            names,
            decision.restart_required,
            executed,
            check_mode=True,
            pending=sorted(set(_pending(cursor)) | set(decision.restart_required)),
        )

    for name, query, arguments in statements:
        try:
            cursor.execute(query, arguments)
        except psycopg2.Error as exc:
            module.fail_json(
                msg=f"ALTER SYSTEM failed for {name} = {decision.alter[name]!r}: {str(exc).strip()}",
                executed_queries=executed,
            )
    after = current
    if decision.reload:
        cursor.execute("SELECT pg_reload_conf()")
        after, settled = _wait_for_reload(cursor, names, wanted)
        if not settled:
            module.warn(f"the reload had not taken effect after {_RELOAD_WAIT_SECONDS:.0f} s; check the server log")
        if any(after[name].context in BACKEND_CONTEXTS for name in names):
            # This session keeps its backend-context values; a new one, forked after the reload that
            # this session has seen, shows what every new connection gets.
            fresh = _connect(module)
            try:
                after = _read(fresh.cursor(), names)
            finally:
                fresh.close()
    restart_required = sorted(
        name for name in names if after[name].context == "postmaster" and not is_live(after[name], wanted[name])
    )
    return _result(decision, after, names, restart_required, executed, check_mode=False, pending=_pending(cursor))


def _result(
    decision: Plan,
    after: dict[str, Setting],
    names: list[str],
    restart_required: list[str],
    executed: list[str],
    *,
    check_mode: bool,
    pending: list[str],
) -> dict[str, Any]:
    """The module's return values."""
    return {
        "changed": decision.changed,
        "changed_settings": sorted(decision.alter),
        "restart_required": restart_required,
        "pending_restart": pending,
        "reloaded": decision.reload and not check_mode,
        "executed_queries": executed,
        "settings": {
            name: {
                "value": after[name].display,
                "context": after[name].context,
                "pending_restart": after[name].pending_restart or name in restart_required,
            }
            for name in names
        },
        "diff": {"before": decision.diff_before, "after": decision.diff_after},
    }


if __name__ == "__main__":
    main()
