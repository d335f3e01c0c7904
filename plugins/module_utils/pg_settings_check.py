# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare a plan's PostgreSQL settings with the live ``pg_settings`` of a server.

Pure Python, no Ansible imports (Python 3.8+). The comparison is pg_settings.py's, unit-aware
(``1GB`` equals ``131072`` for ``shared_buffers``, ``on`` equals ``true``); a planned value that is
configured but waits for a restart is a mismatch too (``pending_restart``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .pg_settings import Setting, SettingError, check_name, format_value, is_live

# The columns the rows must carry: SELECT name, setting, unit, vartype, context, enumvals,
# pending_restart, source FROM pg_settings.
COLUMNS = ("name", "setting", "unit", "vartype", "context", "enumvals", "pending_restart", "source")
QUERY = "SELECT " + ", ".join(COLUMNS) + " FROM pg_catalog.pg_settings"


def live_mismatches(rows: Sequence[Mapping[str, Any]], planned: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per planned setting whose live value differs, is pending a restart, or is unknown."""
    live: dict[str, Setting] = {}
    for row in rows:
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise SettingError(f"a pg_settings row lacks {', '.join(missing)}: select {', '.join(COLUMNS)}")
        live[str(row["name"]).lower()] = Setting(
            name=str(row["name"]),
            setting=str(row["setting"]),
            unit=row["unit"] or None,
            vartype=str(row["vartype"]),
            context=str(row["context"]),
            enumvals=tuple(row["enumvals"] or ()),
            pending_restart=bool(row["pending_restart"]),
            source=str(row["source"]),
        )
    mismatches = []
    for raw_name, value in sorted(planned.items()):
        name = check_name(str(raw_name))
        wanted = format_value(value)
        spec = live.get(name)
        if spec is None:
            mismatches.append({"name": name, "planned": wanted, "live": None, "reason": "not in pg_settings"})
            continue
        shown = _shown(spec)
        try:
            equal = is_live(spec, wanted)
        except SettingError as err:
            mismatches.append({"name": name, "planned": wanted, "live": shown, "reason": str(err)})
            continue
        if not equal:
            reason = "differs, a new value waits for a restart" if spec.pending_restart else "differs"
            mismatches.append({"name": name, "planned": wanted, "live": shown, "reason": reason})
        elif spec.pending_restart:
            reason = "live, but another configured value waits for a restart"
            mismatches.append({"name": name, "planned": wanted, "live": shown, "reason": reason})
    return mismatches


def _shown(spec: Setting) -> str:
    """The live value with its unit: ``32768 x 8kB``, ``4096kB``, ``on``."""
    if not spec.unit or not spec.setting.lstrip("-").replace(".", "", 1).isdigit():
        return spec.setting
    if spec.unit[0].isdigit():
        return f"{spec.setting} x {spec.unit}"
    return spec.setting + spec.unit
