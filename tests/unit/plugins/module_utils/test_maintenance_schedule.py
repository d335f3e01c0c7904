# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""maintenance_schedule: OnCalendar per tier window, windows past midnight, bad windows."""

from __future__ import annotations

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.maintenance_schedule import maintenance_timers
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError

# Calendar strings in systemd.time(7) "Calendar Events" form ("Sun *-*-* 02:00:00"); windows are the
# tier policy's defaults (tier_policy.py) and hand-picked edge cases; times worked by hand.
CASES = [
    # mission_critical: 120 min; vacuum at 02:00 for 120 min; reindex half-way, 03:00, for 60 min.
    ("sun 02:00-04:00", 120, ("Sun *-*-* 02:00:00", 7200), ("Sun *-*-* 03:00:00", 3600)),
    # regional: 22:00 -> 02:00 = 240 min; half-way is midnight, so Sunday 00:00.
    ("sat 22:00-02:00", 240, ("Sat *-*-* 22:00:00", 14400), ("Sun *-*-* 00:00:00", 7200)),
    # standard: 20:00 -> 06:00 = 600 min every day; reindex weekly from Sunday, +300 min = Monday 01:00.
    ("daily 20:00-06:00", 600, ("*-*-* 20:00:00", 36000), ("Mon *-*-* 01:00:00", 18000)),
    ("any 20:00-06:00", 600, ("*-*-* 20:00:00", 36000), ("Mon *-*-* 01:00:00", 18000)),
    # Odd length: 5 min, reindex at +2 for the 3 min left.
    ("wed 23:58-00:03", 5, ("Wed *-*-* 23:58:00", 300), ("Thu *-*-* 00:00:00", 180)),
    # 24:00 is the end of the day.
    ("fri 20:00-24:00", 240, ("Fri *-*-* 20:00:00", 14400), ("Fri *-*-* 22:00:00", 7200)),
    ("daily 00:00-01:30", 90, ("*-*-* 00:00:00", 5400), ("Sun *-*-* 00:45:00", 2700)),
    # One minute (the postgres_default side effect's window): the reindex starts with it.
    ("mon 00:00-00:01", 1, ("Mon *-*-* 00:00:00", 60), ("Mon *-*-* 00:00:00", 60)),
]


@pytest.mark.parametrize(("window", "minutes", "vacuum", "reindex"), CASES)
def test_window_to_timers(window, minutes, vacuum, reindex):
    settings = maintenance_timers({"window": window}).settings
    assert settings["window_minutes"] == minutes
    assert (settings["vacuum"]["on_calendar"], settings["vacuum"]["runtime_max_sec"]) == vacuum
    assert (settings["reindex"]["on_calendar"], settings["reindex"]["runtime_max_sec"]) == reindex


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        ("sunday 02:00-04:00", "is not a maintenance window"),
        ("sun 2:00-4:00", "is not a maintenance window"),
        ("sun 02:00-02:00", "is empty (start = end)"),
        ("sun 22:00-24:30", "ends after 24:00"),
        ("", "is not a maintenance window"),
        (5, "is not a string"),
    ],
)
def test_bad_windows(window, reason):
    with pytest.raises(InputError) as err:
        maintenance_timers({"window": window})
    assert err.value.key == "window"
    assert err.value.reason == reason
    assert "sun 02:00-04:00" in err.value.accepted


def test_unknown_key():
    with pytest.raises(InputError, match="unknown key for maintenance_timers"):
        maintenance_timers({"window": "sun 02:00-04:00", "tz": "UTC"})
