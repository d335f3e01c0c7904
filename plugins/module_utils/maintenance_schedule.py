# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd timer schedules for the scheduled database maintenance, from a maintenance window.

Pure Python, no Ansible imports (Python 3.8+).

A window reads ``<day> HH:MM-HH:MM`` (the tier policy's ``maintenance_window``), server local
time; ``day`` is ``mon``..``sun``, ``daily``, or ``any`` (the same as ``daily``); an end before
the start runs past midnight; ``24:00`` is midnight at the end of the day. Two jobs:

- ``vacuum``: ``VACUUM (ANALYZE)`` at the opening of every window.
- ``reindex``: ``REINDEX ... CONCURRENTLY`` once a week, half-way through the window (so it
  does not queue behind the vacuum's lock on the same table; both take
  SHARE UPDATE EXCLUSIVE), on the window's day, or on Sunday for a daily window.

Each job's ``RuntimeMaxSec`` is the time left in the window when it starts: systemd stops a job
that would run past the window's end (PostgreSQL rolls the statement back; a cancelled
``REINDEX CONCURRENTLY`` leaves an ``_ccnew`` index marked invalid, which the next run replaces).
Calendar syntax: systemd.time(7), "Calendar Events" (``Sun *-*-* 02:00:00``).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .plan_result import InputError, Result, check_keys

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = ("daily", "any")
# systemd.time(7) weekday abbreviations.
_SYSTEMD_DAYS = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}
# The weekly reindex of a window open every day runs on Sunday night, the quietest for the estate.
WEEKLY_DAY_OF_DAILY = "sun"
_WINDOW = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun|daily|any) ([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_ACCEPTED = '"<mon..sun|daily|any> HH:MM-HH:MM", for example "sun 02:00-04:00" or "daily 20:00-06:00"'


def maintenance_timers(inputs: Mapping[str, Any]) -> Result:
    """OnCalendar and RuntimeMaxSec of the vacuum and reindex jobs for ``window``."""
    check_keys(inputs, "maintenance_timers", ("window",), required=("window",))
    window = inputs["window"]
    if not isinstance(window, str):
        raise InputError("window", window, "is not a string", _ACCEPTED)
    match = _WINDOW.match(window.strip())
    if not match:
        raise InputError("window", window, "is not a maintenance window", _ACCEPTED)
    day = match.group(1)
    start = int(match.group(2)) * 60 + int(match.group(3))
    end = int(match.group(4)) * 60 + int(match.group(5))
    if match.group(4) == "24" and match.group(5) != "00":
        raise InputError("window", window, "ends after 24:00", _ACCEPTED)
    length = (end - start) % (24 * 60)
    if length == 0:
        raise InputError("window", window, "is empty (start = end)", _ACCEPTED)
    result = Result()
    result.inputs = {"window": window}
    result.set("window_minutes", length, f"from {_hhmm(start)} to {_hhmm(end)}: {length} min")

    every = day in EVERY_DAY
    vacuum_days = "" if every else _SYSTEMD_DAYS[day] + " "
    result.set(
        "vacuum",
        {"on_calendar": f"{vacuum_days}*-*-* {_hhmm(start)}:00", "runtime_max_sec": length * 60},
        f"at the window's opening {'every day' if every else 'on ' + day}; at most the window, {length} min",
    )
    offset = length // 2
    reindex_start = start + offset
    # Half-way may fall after midnight: the job then runs on the next weekday.
    weekly = WEEKLY_DAY_OF_DAILY if every else day
    reindex_day = DAYS[(DAYS.index(weekly) + reindex_start // (24 * 60)) % 7]
    left = length - offset
    result.set(
        "reindex",
        {
            "on_calendar": f"{_SYSTEMD_DAYS[reindex_day]} *-*-* {_hhmm(reindex_start % (24 * 60))}:00",
            "runtime_max_sec": left * 60,
        },
        f"weekly ({weekly}{' for a daily window' if every else ''}) at opening + {offset} min, half-way; "
        f"at most the {left} min left",
    )
    return result


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"
