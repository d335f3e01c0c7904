# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_settings: unit-aware comparison and the batched ALTER SYSTEM plan.

Golden values come from PostgreSQL 15's documentation (§20.1.1 "Parameter Names and Values":
memory units B/kB/MB/GB/TB are powers of 1024, time units us/ms/s/min/h/d, fractional values
are rounded to the base unit, booleans accept on/off/true/false/yes/no/1/0 and unambiguous
prefixes) and from pg_settings on a PostgreSQL 15 server (units and vartypes below).
"""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pg_settings import (
    Setting,
    SettingError,
    alter_arguments,
    format_value,
    last_configured,
    normalise,
    plan,
)

# (name, unit, vartype, context) as pg_settings reports them on PostgreSQL 15.
SHARED_BUFFERS = Setting("shared_buffers", "16384", "8kB", "integer", "postmaster", display="128MB")
WORK_MEM = Setting("work_mem", "4096", "kB", "integer", "user", display="4MB")
WAL_BUFFERS = Setting("wal_buffers", "512", "8kB", "integer", "postmaster")
MIN_WAL_SIZE = Setting("min_wal_size", "80", "MB", "integer", "sighup")
MAX_CONNECTIONS = Setting("max_connections", "100", None, "integer", "postmaster")
LOG_MIN_DURATION = Setting("log_min_duration_statement", "-1", "ms", "integer", "superuser")
CHECKPOINT_TIMEOUT = Setting("checkpoint_timeout", "300", "s", "integer", "sighup")
COST_DELAY = Setting("autovacuum_vacuum_cost_delay", "2", "ms", "real", "sighup")
SCALE_FACTOR = Setting("autovacuum_vacuum_scale_factor", "0.2", None, "real", "sighup")
LOG_CONNECTIONS = Setting("log_connections", "off", None, "bool", "superuser-backend")
HUGE_PAGES = Setting("huge_pages", "try", None, "enum", "postmaster", enumvals=("off", "on", "try"))
PRELOAD = Setting("shared_preload_libraries", "", None, "string", "postmaster")
PREFIX = Setting("log_line_prefix", "%m [%p] ", None, "string", "sighup")
BLOCK_SIZE = Setting("block_size", "8192", None, "integer", "internal")


@pytest.mark.parametrize(
    ("spec", "left", "right"),
    [
        (SHARED_BUFFERS, "1GB", "131072"),  # 1 GiB / 8 kB pages
        (SHARED_BUFFERS, "128MB", "16384"),
        (SHARED_BUFFERS, "1.5GB", "196608"),  # fractions are converted, then rounded
        (SHARED_BUFFERS, "1 GB", "1GB"),  # blanks between number and unit are allowed
        (SHARED_BUFFERS, "1048576kB", "1GB"),
        (WORK_MEM, "4MB", "4096"),
        (WORK_MEM, "4MB", "4096kB"),
        (WORK_MEM, "4854kB", "4854"),
        (WAL_BUFFERS, "7864kB", "983"),
        (WAL_BUFFERS, "-1", "-1"),  # -1 = auto, no unit
        (MIN_WAL_SIZE, "1GB", "1024"),
        (MAX_CONNECTIONS, "60", "60"),
        (MAX_CONNECTIONS, "60.0", "60"),
        (MAX_CONNECTIONS, "4.5", "4"),  # rint: half to even
        (MAX_CONNECTIONS, "0x10", "16"),  # strtol accepts hexadecimal
        (LOG_MIN_DURATION, "2s", "2000"),
        (LOG_MIN_DURATION, "1500us", "2"),
        (CHECKPOINT_TIMEOUT, "5min", "300"),
        (CHECKPOINT_TIMEOUT, "1h", "3600"),
        (CHECKPOINT_TIMEOUT, "1d", "86400"),
        (COST_DELAY, "2ms", "2"),
        (COST_DELAY, "0.5", "500us"),
        (SCALE_FACTOR, "0.05", "5e-2"),
        (SCALE_FACTOR, "0.05", ".05"),
        (LOG_CONNECTIONS, "on", "true"),
        (LOG_CONNECTIONS, "on", "YES"),
        (LOG_CONNECTIONS, "on", "1"),
        (LOG_CONNECTIONS, "on", "t"),
        (LOG_CONNECTIONS, "off", "of"),
        (LOG_CONNECTIONS, "off", "0"),
        (HUGE_PAGES, "off", "false"),
        (HUGE_PAGES, "OFF", "off"),
        (PRELOAD, "pg_stat_statements, auto_explain", '"pg_stat_statements",auto_explain'),
        (PREFIX, "%m [%p] ", "%m [%p] "),
    ],
)
def test_equal_values(spec: Setting, left: str, right: str) -> None:
    assert normalise(spec, left) == normalise(spec, right)


@pytest.mark.parametrize(
    ("spec", "left", "right"),
    [
        (SHARED_BUFFERS, "1GB", "131071"),
        (WORK_MEM, "4MB", "4kB"),
        (LOG_MIN_DURATION, "2s", "2"),
        (LOG_CONNECTIONS, "on", "off"),
        (HUGE_PAGES, "try", "on"),
        (PRELOAD, "pg_stat_statements,auto_explain", "auto_explain,pg_stat_statements"),  # load order matters
        (PREFIX, "%m [%p] ", "%m [%p]"),  # the trailing blank is part of the value
    ],
)
def test_different_values(spec: Setting, left: str, right: str) -> None:
    assert normalise(spec, left) != normalise(spec, right)


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (
            SHARED_BUFFERS,
            "1gb",
            'invalid value for shared_buffers: "1gb": valid units for this setting are B, kB, MB, GB, TB',
        ),
        (
            SHARED_BUFFERS,
            "5min",
            'invalid value for shared_buffers: "5min": valid units for this setting are B, kB, MB, GB, TB',
        ),
        (
            CHECKPOINT_TIMEOUT,
            "5m",
            'invalid value for checkpoint_timeout: "5m": valid units for this setting are us, ms, s, min, h, d',
        ),
        (MAX_CONNECTIONS, "60MB", 'invalid value for max_connections: "60MB": this setting takes no unit'),
        (MAX_CONNECTIONS, "sixty", 'invalid value for max_connections: "sixty" is not a number'),
        (
            LOG_CONNECTIONS,
            "o",
            'invalid value for log_connections: "o" is not a boolean (on, off, true, false, yes, no, 1, 0)',
        ),
        (
            LOG_CONNECTIONS,
            "maybe",
            'invalid value for log_connections: "maybe" is not a boolean (on, off, true, false, yes, no, 1, 0)',
        ),
    ],
)
def test_invalid_values(spec: Setting, value: str, message: str) -> None:
    with pytest.raises(SettingError) as err:
        normalise(spec, value)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "on"), (False, "off"), (60, "60"), (0.9, "0.9"), (1.0, "1"), ("256MB", "256MB")],
)
def test_format_value(value: Any, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("name", "value", "arguments"),
    [
        ("shared_preload_libraries", "pg_stat_statements, auto_explain", ["pg_stat_statements", "auto_explain"]),
        ("shared_preload_libraries", "", [""]),
        ("log_line_prefix", "%m, [%p] ", ["%m, [%p] "]),  # not a list setting: commas stay
        ("search_path", '"$user", public', ["$user", "public"]),
    ],
)
def test_alter_arguments(name: str, value: str, arguments: list[str]) -> None:
    assert alter_arguments(name, value) == arguments


def test_last_configured_entry_wins_and_rejected_entries_are_skipped() -> None:
    rows = [
        ("shared_buffers", "128MB", None),  # postgresql.conf
        ("shared_buffers", "1GB", "setting could not be applied"),  # postgresql.auto.conf, waits for a restart
        ("work_mem", "4MB", None),
        ("work_mem", "lots", 'invalid value for parameter "work_mem": "lots"'),
        ("TimeZone", "UTC", None),
    ]
    assert last_configured(rows) == {"shared_buffers": "1GB", "work_mem": "4MB", "timezone": "UTC"}


def _server(**overrides: Setting) -> dict[str, Setting]:
    specs = [SHARED_BUFFERS, WORK_MEM, LOG_CONNECTIONS, HUGE_PAGES, BLOCK_SIZE]
    return {spec.name: overrides.get(spec.name, spec) for spec in specs}


def test_plan_writes_only_what_differs_and_names_restarts() -> None:
    result = plan({"shared_buffers": "1GB", "work_mem": "4MB", "log_connections": True}, _server())
    assert result.alter == {"shared_buffers": "1GB", "log_connections": "on"}
    assert (result.changed, result.reload, result.restart_required) == (True, True, ["shared_buffers"])
    assert result.diff_before == {"shared_buffers": "128MB", "log_connections": "off"}
    assert result.diff_after == {"shared_buffers": "1GB", "log_connections": "on"}


def test_plan_equal_in_other_units_changes_nothing() -> None:
    result = plan(
        {"shared_buffers": "131072", "work_mem": "4096kB", "huge_pages": "try"},
        _server(
            shared_buffers=SHARED_BUFFERS._replace(setting="131072", configured="1GB"),
        ),
    )
    assert (result.alter, result.changed, result.reload, result.restart_required) == ({}, False, False, [])


def test_plan_staged_restart_is_not_a_change() -> None:
    # A previous run wrote 1GB outside the window: configured, pending_restart, 128MB still live.
    staged = SHARED_BUFFERS._replace(configured="1GB", pending_restart=True)
    result = plan({"shared_buffers": "1GB"}, _server(shared_buffers=staged))
    assert (result.alter, result.changed, result.reload, result.restart_required) == (
        {},
        False,
        False,
        ["shared_buffers"],
    )
    assert result.diff_before == result.diff_after == {}


def test_plan_hand_edit_without_reload() -> None:
    # Configured in a file but not reloaded: a reload makes work_mem live (a change); shared_buffers
    # only gets flagged pending_restart (not a change).
    server = _server(
        work_mem=WORK_MEM._replace(configured="8MB"),
        shared_buffers=SHARED_BUFFERS._replace(configured="1GB"),
    )
    result = plan({"work_mem": "8MB"}, server)
    assert (result.alter, result.changed, result.reload) == ({}, True, True)
    assert (result.diff_before, result.diff_after) == ({"work_mem": "4MB"}, {"work_mem": "8MB"})
    result = plan({"shared_buffers": "1GB"}, server)
    assert (result.alter, result.changed, result.reload, result.restart_required) == (
        {},
        False,
        True,
        ["shared_buffers"],
    )


def test_plan_reverting_a_staged_value_needs_no_restart() -> None:
    staged = SHARED_BUFFERS._replace(configured="1GB", pending_restart=True)
    result = plan({"shared_buffers": "128MB"}, _server(shared_buffers=staged))
    assert result.alter == {"shared_buffers": "128MB"}
    assert (result.changed, result.restart_required) == (True, [])


def test_plan_ignores_a_role_level_override_of_the_live_value() -> None:
    overridden = WORK_MEM._replace(setting="65536", source="user", configured="4MB")  # ALTER ROLE postgres SET
    result = plan({"work_mem": "4MB"}, _server(work_mem=overridden))
    assert (result.alter, result.changed, result.reload) == ({}, False, False)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"shared_bufers": "1GB"},
            "unknown setting: shared_bufers (not in pg_settings; check the name, or load its library first)",
        ),
        ({"block_size": "16384"}, "block_size cannot be changed (context internal): remove it from the settings"),
        (
            {"work_mem;x": "1"},
            "invalid setting name: 'work_mem;x' (letters, digits and _, optionally one '.' for an extension)",
        ),
        ({"work_mem": "4gb"}, 'invalid value for work_mem: "4gb": valid units for this setting are B, kB, MB, GB, TB'),
    ],
)
def test_plan_errors(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingError) as err:
        plan(settings, _server())
    assert str(err.value) == message
