# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL server settings: unit-aware comparison and the plan of a batched ALTER SYSTEM.

Pure Python, no Ansible imports (Python 3.8+). The rules follow PostgreSQL's own parser
(``src/backend/utils/misc/guc.c``: ``parse_int``, ``parse_real``, ``convert_to_base_unit``,
``parse_bool``): a value is converted to the setting's base unit from ``pg_settings.unit``
(``8kB`` pages, ``kB``, ``MB``, ``ms``, ``s``, ``min``), integers are rounded half to even
(``rint``), units are case-sensitive, and booleans accept ``on/off/true/false/yes/no/1/0`` and
their unambiguous prefixes. So ``1GB`` equals ``131072`` for ``shared_buffers`` (unit ``8kB``).

A setting is compared twice: with what is *configured* (the last entry for it in the
configuration files, ``pg_file_settings``, where ``ALTER SYSTEM`` writes) and with what is
*live* (``pg_settings``). A value already configured but waiting for a restart is therefore
not written again: it is reported as needing a restart, not as a change.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

# Bytes per memory unit and microseconds per time unit, as guc.c's unit tables read them.
MEMORY_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
TIME_UNITS = {"us": 1, "ms": 1000, "s": 1000**2, "min": 60 * 1000**2, "h": 3600 * 1000**2, "d": 86400 * 1000**2}

# Settings whose value is a list (GUC_LIST_INPUT in PostgreSQL 14-17): ALTER SYSTEM takes one
# argument per element, and a single quoted 'a,b' would become one element "a,b".
LIST_SETTINGS = frozenset(
    {
        "datestyle",
        "local_preload_libraries",
        "log_destination",
        "search_path",
        "session_preload_libraries",
        "shared_preload_libraries",
        "temp_tablespaces",
        "unix_socket_directories",
        "wal_consistency_checking",
    }
)

# Contexts (pg_settings.context) whose new value needs a server restart, or cannot be set at all.
RESTART_CONTEXTS = frozenset({"postmaster"})
READ_ONLY_CONTEXTS = frozenset({"internal"})
# Contexts whose new value reaches only sessions started after the reload.
BACKEND_CONTEXTS = frozenset({"backend", "superuser-backend"})

# Where a live value comes from a role, database or session override (ALTER ROLE/DATABASE SET):
# the server-wide configuration cannot change what this session sees, so only the file counts.
SESSION_SOURCES = frozenset({"database", "user", "database user", "client", "session", "override"})

# pg_file_settings marks a value that is configured but waits for a restart with this error.
NOT_APPLIED_ERROR = "setting could not be applied"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_NUMBER = re.compile(
    r"^\s*([-+]?(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))\s*([A-Za-z]*)\s*$"
)
_UNIT = re.compile(r"^(\d*)([A-Za-z]+)$")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class SettingError(ValueError):
    """A value PostgreSQL would refuse, or a setting that cannot be managed; the text says why."""


class Setting(NamedTuple):
    """What the server reports for one setting (pg_settings joined with pg_file_settings)."""

    name: str
    setting: str
    unit: str | None
    vartype: str
    context: str
    enumvals: tuple[str, ...] = ()
    pending_restart: bool = False
    source: str = "default"
    configured: str | None = None
    display: str | None = None


class Plan(NamedTuple):
    """What one batched call does: the statements, and what to report."""

    alter: dict[str, str]
    reload: bool
    changed: bool
    restart_required: list[str]
    diff_before: dict[str, str]
    diff_after: dict[str, str]


def format_value(value: Any) -> str:
    """Render an inventory value as PostgreSQL text: YAML booleans become ``on``/``off``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def check_name(name: str) -> str:
    """Return ``name`` in lower case, or raise SettingError if it is not a setting name."""
    if not _NAME.match(name):
        raise SettingError(
            f"invalid setting name: {name!r} (letters, digits and _, optionally one '.' for an extension)"
        )
    return name.lower()


def _unit_base(unit: str) -> tuple[str, float]:
    """Split a pg_settings unit such as ``8kB`` or ``16MB`` into its kind and size."""
    match = _UNIT.match(unit)
    if not match:
        raise SettingError(f"unknown unit in pg_settings: {unit!r}")
    factor, base = int(match.group(1) or 1), match.group(2)
    if base in MEMORY_UNITS:
        return "memory", factor * MEMORY_UNITS[base]
    if base in TIME_UNITS:
        return "time", factor * TIME_UNITS[base]
    raise SettingError(f"unknown unit in pg_settings: {unit!r}")


def _number(name: str, value: str, unit: str | None, integer: bool) -> float:
    """Parse a number with an optional unit into the setting's base unit (guc.c parse_int/parse_real)."""
    match = _NUMBER.match(value)
    if not match:
        raise SettingError(f'invalid value for {name}: "{value}" is not a number')
    text, given = match.group(1), match.group(2)
    digits = text.lstrip("+-")
    number = float(int(digits, 16)) if digits[:2].lower() == "0x" else float(digits)
    if text.startswith("-"):
        number = -number
    if given:
        if not unit:
            raise SettingError(f'invalid value for {name}: "{value}": this setting takes no unit')
        kind, base = _unit_base(unit)
        table = MEMORY_UNITS if kind == "memory" else TIME_UNITS
        if given not in table:
            raise SettingError(
                f'invalid value for {name}: "{value}": valid units for this setting are {", ".join(table)}'
            )
        number = number * table[given] / base
    return float(round(number)) if integer else number


def parse_bool(name: str, value: str) -> bool:
    """Parse a boolean as PostgreSQL does: a case-insensitive, unambiguous prefix of a word, or 1/0."""
    text = value.strip().lower()
    if text and any(word.startswith(text) for word in _TRUE) and text not in ("o",):
        return True
    if text and any(word.startswith(text) for word in _FALSE) and text not in ("o",):
        return False
    raise SettingError(f'invalid value for {name}: "{value}" is not a boolean (on, off, true, false, yes, no, 1, 0)')


def _list(value: str) -> tuple[str, ...]:
    """Elements of a list setting, without blanks and identifier quotes."""
    return tuple(part.strip().strip('"') for part in value.split(",") if part.strip())


def _enum(value: str, enumvals: tuple[str, ...]) -> str:
    """Enum values are case-insensitive; on/off enums also take the boolean spellings."""
    text = value.strip().lower()
    if "on" in enumvals and text in ("true", "yes", "1"):
        text = "on"
    elif "off" in enumvals and text in ("false", "no", "0"):
        text = "off"
    return text


def normalise(spec: Setting, value: str) -> Any:
    """Return ``value`` in a form that compares equal exactly when PostgreSQL would store the same thing."""
    if spec.vartype == "bool":
        result: Any = parse_bool(spec.name, value)
    elif spec.vartype == "integer":
        result = _number(spec.name, value, spec.unit, integer=True)
    elif spec.vartype == "real":
        result = round(_number(spec.name, value, spec.unit, integer=False), 9)
    elif spec.vartype == "enum":
        result = _enum(value, spec.enumvals)
    elif spec.name.lower() in LIST_SETTINGS:
        result = _list(value)
    else:
        result = value
    return result


def alter_arguments(name: str, value: str) -> list[str]:
    """The literal arguments of ``ALTER SYSTEM SET <name> = ...``: one per element for list settings."""
    if name.lower() in LIST_SETTINGS:
        return list(_list(value)) or [""]
    return [value]


def plan(desired: dict[str, Any], current: dict[str, Setting]) -> Plan:
    """Decide what a batched ALTER SYSTEM does.

    ``desired`` maps setting names to inventory values; ``current`` maps lower-case names to what the
    server reports. A setting is written when its configured value differs; the configuration is
    reloaded when something was written, or when a configured value that needs no restart is not
    live yet; settings whose new value only a restart makes live are listed in ``restart_required``.
    """
    alter: dict[str, str] = {}
    restart: list[str] = []
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    live_reload = False
    for raw_name, raw_value in desired.items():
        name = check_name(raw_name)
        spec = current.get(name)
        if spec is None:
            raise SettingError(
                f"unknown setting: {raw_name} (not in pg_settings; check the name, or load its library first)"
            )
        if spec.context in READ_ONLY_CONTEXTS:
            raise SettingError(f"{raw_name} cannot be changed (context {spec.context}): remove it from the settings")
        value = format_value(raw_value)
        wanted = normalise(spec, value)
        configured = spec.configured if spec.configured is not None else spec.setting
        live_ok = spec.source in SESSION_SOURCES or normalise(spec, spec.setting) == wanted
        if normalise(spec, configured) != wanted:
            alter[name] = value
            before[name] = spec.configured if spec.configured is not None else (spec.display or spec.setting)
            after[name] = value
            if spec.context in RESTART_CONTEXTS and not live_ok:
                restart.append(name)
        elif not live_ok:
            if spec.context in RESTART_CONTEXTS:
                restart.append(name)
            else:
                # Configured (a hand edit, or ALTER SYSTEM without reload) but not live: a reload makes it live.
                live_reload = True
                before[name] = spec.display or spec.setting
                after[name] = value
    # Configured and waiting for a restart without pg_settings saying so (a hand edit, no reload yet):
    # a reload makes pending_restart true, and changes nothing that runs.
    flag_pending = any(not current[name].pending_restart for name in restart)
    return Plan(
        alter=alter,
        reload=bool(alter) or live_reload or flag_pending,
        changed=bool(alter) or live_reload,
        restart_required=sorted(restart),
        diff_before=before,
        diff_after=after,
    )


def is_live(spec: Setting, value: Any) -> bool:
    """Whether the server's live value (``spec.setting``) equals the inventory ``value``."""
    return spec.source in SESSION_SOURCES or normalise(spec, spec.setting) == normalise(spec, format_value(value))


def last_configured(rows: list[tuple[str, str, str | None]]) -> dict[str, str]:
    """The effective configured value per setting from pg_file_settings rows ``(name, setting, error)``.

    Rows come in file order (seqno); the last one wins, as it does for the server. Rows PostgreSQL
    rejected are skipped, except those that only wait for a restart.
    """
    result: dict[str, str] = {}
    for name, setting, error in rows:
        if error is None or error == NOT_APPLIED_ERROR:
            result[name.lower()] = setting
    return result
