# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_settings_check: the plan against live pg_settings rows, unit-aware."""

from __future__ import annotations

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pg_settings import SettingError
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pg_settings_check import live_mismatches


def _row(
    name, setting, unit=None, *, vartype="integer", context="user", enumvals=None, pending=False, source="default"
):
    return {
        "name": name,
        "setting": setting,
        "unit": unit,
        "vartype": vartype,
        "context": context,
        "enumvals": enumvals,
        "pending_restart": pending,
        "source": source,
    }


# Live rows as PostgreSQL 15 reports them (units from pg_settings: shared_buffers 8kB, work_mem kB,
# random_page_cost none; docs §20.1.1).
ROWS = [
    _row("shared_buffers", "32768", "8kB", context="postmaster", source="configuration file"),
    _row("work_mem", "4854", "kB"),
    _row("random_page_cost", "1.1", vartype="real"),
    _row("huge_pages", "off", vartype="enum", context="postmaster", enumvals=["off", "on", "try"]),
    _row("max_connections", "60", context="postmaster", pending=True),
    _row("jit", "on", vartype="bool"),
]


@pytest.mark.parametrize(
    ("planned", "expected"),
    [
        # 32768 x 8kB = 256MB = 262144kB; "false" is off; 4854kB; 1.10 = 1.1.
        ({"shared_buffers": "256MB", "work_mem": "4854kB", "random_page_cost": 1.10, "jit": True}, []),
        ({"shared_buffers": "262144kB", "huge_pages": False}, []),
        (
            {"shared_buffers": "512MB"},
            [{"name": "shared_buffers", "planned": "512MB", "live": "32768 x 8kB", "reason": "differs"}],
        ),
        ({"work_mem": "4MB"}, [{"name": "work_mem", "planned": "4MB", "live": "4854kB", "reason": "differs"}]),
        (
            {"max_connections": 80},
            [
                {
                    "name": "max_connections",
                    "planned": "80",
                    "live": "60",
                    "reason": "differs, a new value waits for a restart",
                }
            ],
        ),
        (
            {"max_connections": 60},
            [
                {
                    "name": "max_connections",
                    "planned": "60",
                    "live": "60",
                    "reason": "live, but another configured value waits for a restart",
                }
            ],
        ),
        (
            {"no_such_setting": 1},
            [{"name": "no_such_setting", "planned": "1", "live": None, "reason": "not in pg_settings"}],
        ),
        (
            {"work_mem": "4 parsecs"},
            [
                {
                    "name": "work_mem",
                    "planned": "4 parsecs",
                    "live": "4854kB",
                    "reason": 'invalid value for work_mem: "4 parsecs": '
                    "valid units for this setting are B, kB, MB, GB, TB",
                }
            ],
        ),
    ],
)
def test_mismatches(planned, expected):
    assert live_mismatches(ROWS, planned) == expected


def test_rows_without_the_needed_columns():
    with pytest.raises(SettingError, match="lacks vartype"):
        live_mismatches([{"name": "work_mem", "setting": "4096", "unit": "kB"}], {"work_mem": "4MB"})
