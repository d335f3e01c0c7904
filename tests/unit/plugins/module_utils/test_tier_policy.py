# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tier_policy: the defaults of issue 3, floors that refuse weakening overrides, derived values."""

from __future__ import annotations

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.tier_policy import tier_policy

# Issue 3, "tier_policy" defaults.
DEFAULTS = [
    (
        "mission_critical",
        {
            "rpo_seconds": 300,
            "rto_seconds": 3600,
            "backup_mode": "wal_archiving_pitr",
            "full_backup_interval_hours": 24,
            "standby": "hot",
            "retention_days": 35,
            "odoo_replicas": 2,
            "restore_drill_every_days": 7,
        },
    ),
    (
        "regional",
        {
            "rpo_seconds": 3600,
            "rto_seconds": 14400,
            "backup_mode": "wal_archiving_pitr",
            "full_backup_interval_hours": 24,
            "standby": "warm",
            "retention_days": 30,
            "odoo_replicas": 2,
            "restore_drill_every_days": 30,
        },
    ),
    (
        "standard",
        {
            "rpo_seconds": 86400,
            "rto_seconds": 86400,
            "backup_mode": "logical_daily",
            "full_backup_interval_hours": 24,
            "standby": "none",
            "retention_days": 14,
            "odoo_replicas": 1,
            "restore_drill_every_days": 90,
        },
    ),
]


@pytest.mark.parametrize(("tier", "expected"), DEFAULTS)
def test_defaults(tier, expected):
    settings = tier_policy({"tier": tier}).settings
    assert {k: settings[k] for k in expected} == expected
    if settings["backup_mode"] == "wal_archiving_pitr":
        assert 0 < settings["archive_timeout_seconds"] <= settings["rpo_seconds"]
        assert settings["alert_wal_archive_lag_seconds"] == settings["rpo_seconds"] // 2
    else:
        assert settings["archive_timeout_seconds"] is None
    assert settings["pod_disruption_budget"] == ({"min_available": 1} if settings["odoo_replicas"] >= 2 else None)


def test_strengthening_overrides_are_accepted():
    settings = tier_policy(
        {
            "tier": "standard",
            "overrides": {"backup_mode": "wal_archiving_pitr", "rpo_seconds": "1h", "retention_days": 30},
        }
    ).settings
    # archive_timeout defaults to min(60 s, RPO) once WAL archiving is on.
    assert (settings["backup_mode"], settings["rpo_seconds"], settings["archive_timeout_seconds"]) == (
        "wal_archiving_pitr",
        3600,
        60,
    )
    assert settings["alert_wal_archive_lag_seconds"] == 1800


BAD = [
    (
        {"tier": "mission_critical", "overrides": {"backup_mode": "logical_daily"}},
        "overrides.backup_mode='logical_daily': weakens the mission_critical tier below its floor; "
        "accepted: one of wal_archiving_pitr for mission_critical, or choose a lower tier",
    ),
    (
        {"tier": "mission_critical", "overrides": {"rpo_seconds": "1h"}},
        "overrides.rpo_seconds=3600: weakens the mission_critical tier below its floor; "
        "accepted: <= 300 for mission_critical, or choose a lower tier",
    ),
    (
        {"tier": "regional", "overrides": {"retention_days": 7}},
        "overrides.retention_days=7: weakens the regional tier below its floor; "
        "accepted: >= 30 for regional, or choose a lower tier",
    ),
    (
        {"tier": "regional", "overrides": {"archive_timeout_seconds": "2h"}},
        "overrides.archive_timeout_seconds=7200: must be > 0 and <= the RPO (3600 s) so quiet databases still "
        "archive; accepted: 1..3600 seconds",
    ),
    (
        {"tier": "gold"},
        "tier='gold': unknown tier; accepted: mission_critical, regional, standard",
    ),
    (
        {"tier": "standard", "overrides": {"rpo": 60}},
        "rpo=60: unknown key for tier_policy overrides; accepted: "
        + ", ".join(
            [
                "rpo_seconds",
                "rto_seconds",
                "backup_mode",
                "archive_timeout_seconds",
                "full_backup_interval_hours",
                "retention_days",
                "retention_min_sets",
                "offsite_copy",
                "standby",
                "standby_replicas",
                "odoo_replicas",
                "autoscaling_allowed",
                "redis_persistence",
                "maintenance_window",
                "patch_cadence_days",
                "log_min_duration_statement_ms",
                "restore_drill_every_days",
                "restore_drill_kind",
                "alert_severity",
                "alert_route",
                "alert_backup_age_seconds",
                "alert_wal_archive_lag_seconds",
            ]
        ),
    ),
    (
        {"tier": "regional", "overrides": {"offsite_copy": False}},
        "overrides.offsite_copy=False: weakens the regional tier below its floor; "
        "accepted: true for regional, or choose a lower tier",
    ),
    (
        {"tier": "standard", "overrides": {"standby": "warm"}},
        "overrides.standby_replicas=0: does not match standby 'warm'; accepted: 0 with standby none, >= 1 with warm "
        "or hot",
    ),
]


@pytest.mark.parametrize(("inputs", "message"), BAD)
def test_bad_input(inputs, message):
    with pytest.raises(InputError) as err:
        tier_policy(inputs)
    assert str(err.value) == message
