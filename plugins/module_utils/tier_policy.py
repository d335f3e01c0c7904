# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recovery-tier policy: RPO/RTO, backups, replicas, maintenance and alerting per tier.

Pure Python, no Ansible imports (Python 3.8+).

Each tier's defaults (issue 3) are also its floor: an override may make a tier stronger
(smaller RPO, longer retention, more replicas, more frequent drills) but never weaker; a weaker
override is refused with the floor in the message. Keys that are not about strength
(maintenance window, alert routing, autoscaling, slow-query logging) may be changed freely.
Durations are whole seconds in the output; inputs also accept '5min', '1h', '35d'.
"""

from __future__ import annotations

from typing import Any, Mapping

from .plan_result import InputError, Result, check_keys, read_bool, to_int
from .units import parse_duration

TIERS = ("mission_critical", "regional", "standard")
BACKUP_MODES = ("logical_daily", "wal_archiving_pitr")  # weakest first
STANDBY = ("none", "warm", "hot")
REDIS_PERSISTENCE = ("none", "rdb", "aof")
DRILL_KINDS = ("logical_restore", "full_restore", "pitr_restore")
DAY = 86400

_DEFAULTS: dict[str, dict[str, Any]] = {
    "mission_critical": {
        "rpo_seconds": 300,
        "rto_seconds": 3600,
        "backup_mode": "wal_archiving_pitr",
        "archive_timeout_seconds": 60,
        "full_backup_interval_hours": 24,
        "retention_days": 35,
        "retention_min_sets": 7,
        "offsite_copy": True,
        "standby": "hot",
        "standby_replicas": 1,
        "odoo_replicas": 2,
        "autoscaling_allowed": True,
        "redis_persistence": "aof",
        "maintenance_window": "sun 02:00-04:00",
        "patch_cadence_days": 30,
        "log_min_duration_statement_ms": 500,
        "restore_drill_every_days": 7,
        "restore_drill_kind": "pitr_restore",
        "alert_severity": "critical",
        "alert_route": "pager",
    },
    "regional": {
        "rpo_seconds": 3600,
        "rto_seconds": 4 * 3600,
        "backup_mode": "wal_archiving_pitr",
        "archive_timeout_seconds": 300,
        "full_backup_interval_hours": 24,
        "retention_days": 30,
        "retention_min_sets": 7,
        "offsite_copy": True,
        "standby": "warm",
        "standby_replicas": 1,
        "odoo_replicas": 2,
        "autoscaling_allowed": True,
        "redis_persistence": "aof",
        "maintenance_window": "sat 22:00-02:00",
        "patch_cadence_days": 30,
        "log_min_duration_statement_ms": 1000,
        "restore_drill_every_days": 30,
        "restore_drill_kind": "full_restore",
        "alert_severity": "warning",
        "alert_route": "pager_business_hours",
    },
    "standard": {
        "rpo_seconds": DAY,
        "rto_seconds": DAY,
        "backup_mode": "logical_daily",
        "archive_timeout_seconds": None,
        "full_backup_interval_hours": 24,
        "retention_days": 14,
        "retention_min_sets": 7,
        "offsite_copy": True,
        "standby": "none",
        "standby_replicas": 0,
        "odoo_replicas": 1,
        "autoscaling_allowed": False,
        "redis_persistence": "rdb",
        "maintenance_window": "daily 20:00-06:00",
        "patch_cadence_days": 90,
        "log_min_duration_statement_ms": 2000,
        "restore_drill_every_days": 90,
        "restore_drill_kind": "logical_restore",
        "alert_severity": "warning",
        "alert_route": "ticket",
    },
}
# How each strength key is ordered: "max" = the default is a ceiling, "min" = a floor,
# a tuple = an ordered scale (weakest first).
_FLOORS: dict[str, Any] = {
    "rpo_seconds": "max",
    "rto_seconds": "max",
    "backup_mode": BACKUP_MODES,
    "full_backup_interval_hours": "max",
    "retention_days": "min",
    "retention_min_sets": "min",
    "offsite_copy": "min",
    "standby": STANDBY,
    "standby_replicas": "min",
    "odoo_replicas": "min",
    "redis_persistence": REDIS_PERSISTENCE,
    "patch_cadence_days": "max",
    "restore_drill_every_days": "max",
    "restore_drill_kind": DRILL_KINDS,
}
_DURATIONS = (
    "rpo_seconds",
    "rto_seconds",
    "archive_timeout_seconds",
    "alert_backup_age_seconds",
    "alert_wal_archive_lag_seconds",
)
_DERIVED = ("alert_backup_age_seconds", "alert_wal_archive_lag_seconds")
OVERRIDE_KEYS = tuple(_DEFAULTS["mission_critical"]) + _DERIVED


def tier_policy(inputs: Mapping[str, Any]) -> Result:
    """The policy of ``tier`` with ``overrides`` applied; weakening overrides are refused."""
    check_keys(inputs, "tier_policy", ("tier", "overrides"), required=("tier",))
    tier = inputs["tier"]
    if tier not in TIERS:
        raise InputError("tier", tier, "unknown tier", ", ".join(TIERS))
    overrides = inputs.get("overrides") or {}
    check_keys(overrides, "tier_policy overrides", OVERRIDE_KEYS)
    result = Result(inputs={"tier": tier, "overrides": dict(overrides)})
    policy = dict(_DEFAULTS[tier])
    for key, raw in overrides.items():
        value = _read_override(key, raw)
        _check_floor(tier, key, value)
        policy[key] = value
    _derive(policy, overrides)
    _check_consistency(policy)
    for key, value in policy.items():
        why = "override" if key in overrides else f"{tier} default"
        result.set(key, value, why)
    result.set("tier", tier, "input")
    _explain_derived(result, policy, overrides)
    return result


def _read_override(key: str, raw: Any) -> Any:
    if key in _DURATIONS:
        return parse_duration(f"overrides.{key}", raw)
    default = _DEFAULTS["mission_critical"][key]
    if isinstance(default, bool):
        return read_bool({f"overrides.{key}": raw}, f"overrides.{key}", default)
    if isinstance(default, int):
        value = to_int(f"overrides.{key}", raw, "a whole number")
        if value < 0 and key != "log_min_duration_statement_ms":
            raise InputError(f"overrides.{key}", raw, "is negative", "a whole number >= 0")
        return value
    scale = _FLOORS.get(key)
    if isinstance(scale, tuple) and raw not in scale:
        raise InputError(f"overrides.{key}", raw, "unknown value", ", ".join(scale))
    if not isinstance(raw, str):
        raise InputError(f"overrides.{key}", raw, "is not a string", "a string")
    return raw


def _check_floor(tier: str, key: str, value: Any) -> None:
    rule = _FLOORS.get(key)
    floor = _DEFAULTS[tier].get(key)
    if rule is None or floor is None:
        return
    if isinstance(floor, bool):
        weaker, bound = floor and not value, "true"
    elif rule == "max":
        weaker, bound = value > floor, f"<= {floor}"
    elif rule == "min":
        weaker, bound = value < floor, f">= {floor}"
    else:
        weaker = rule.index(value) < rule.index(floor)
        bound = "one of " + ", ".join(rule[rule.index(floor) :])
    if weaker:
        raise InputError(
            f"overrides.{key}",
            value,
            f"weakens the {tier} tier below its floor",
            f"{bound} for {tier}, or choose a lower tier",
        )


def _derive(policy: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    pitr = policy["backup_mode"] == "wal_archiving_pitr"
    if not pitr:
        policy["archive_timeout_seconds"] = None
    elif policy["archive_timeout_seconds"] is None or "archive_timeout_seconds" not in overrides:
        # Archive at least every minute, and never less often than the RPO allows.
        policy["archive_timeout_seconds"] = min(policy["archive_timeout_seconds"] or 60, policy["rpo_seconds"])
    policy["pod_disruption_budget"] = {"min_available": 1} if policy["odoo_replicas"] >= 2 else None
    policy.setdefault("alert_backup_age_seconds", policy["full_backup_interval_hours"] * 3600 + 2 * 3600)
    if pitr:
        policy.setdefault("alert_wal_archive_lag_seconds", max(policy["rpo_seconds"] // 2, 1))
    else:
        policy["alert_wal_archive_lag_seconds"] = None


def _check_consistency(policy: Mapping[str, Any]) -> None:
    pitr = policy["backup_mode"] == "wal_archiving_pitr"
    timeout = policy["archive_timeout_seconds"]
    if pitr and not 0 < timeout <= policy["rpo_seconds"]:
        raise InputError(
            "overrides.archive_timeout_seconds",
            timeout,
            f"must be > 0 and <= the RPO ({policy['rpo_seconds']} s) so quiet databases still archive",
            f"1..{policy['rpo_seconds']} seconds",
        )
    lag = policy["alert_wal_archive_lag_seconds"]
    if pitr and not 0 < lag < policy["rpo_seconds"]:
        raise InputError(
            "overrides.alert_wal_archive_lag_seconds",
            lag,
            "must alert before the RPO is breached",
            f"1..{policy['rpo_seconds'] - 1} seconds",
        )
    if (policy["standby"] == "none") != (policy["standby_replicas"] == 0):
        raise InputError(
            "overrides.standby_replicas",
            policy["standby_replicas"],
            f"does not match standby {policy['standby']!r}",
            "0 with standby none, >= 1 with warm or hot",
        )
    if policy["restore_drill_kind"] == "pitr_restore" and not pitr:
        raise InputError(
            "overrides.restore_drill_kind",
            "pitr_restore",
            "needs backup_mode wal_archiving_pitr",
            "logical_restore or full_restore",
        )


def _explain_derived(result: Result, policy: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    if policy["archive_timeout_seconds"] is not None:
        result.note(
            "archive_timeout_seconds",
            f"{policy['archive_timeout_seconds']} s <= RPO {policy['rpo_seconds']} s, so a quiet database still "
            "ships a WAL segment within the RPO",
        )
    result.note(
        "pod_disruption_budget",
        "minAvailable 1 when odoo_replicas >= 2; none for one replica (it would block node drains)",
    )
    if "alert_backup_age_seconds" not in overrides:
        result.note("alert_backup_age_seconds", "full_backup_interval_hours * 3600 + 2 h of slack")
    if policy["alert_wal_archive_lag_seconds"] is not None and "alert_wal_archive_lag_seconds" not in overrides:
        result.note("alert_wal_archive_lag_seconds", f"RPO {policy['rpo_seconds']} s / 2: alert with half the RPO left")
