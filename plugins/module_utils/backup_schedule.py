# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup schedules, runner configs and Kubernetes CronJobs from the tier policy.

Pure Python, no Ansible imports (Python 3.8+). The backup_to_s3 role and its filters are thin
wrappers over these functions.

The tier policy (tier_policy.py) gives ``full_backup_interval_hours`` (at most 24 for every tier),
``retention_days``, ``retention_min_sets`` and ``offsite_copy``. Runs are spread over the hour by a
stable per-environment minute, so many environments on one runner do not start together.
"""

from __future__ import annotations

import zlib
from typing import Any, Mapping

from .backup_set import validate_component
from .s3_stream import DEFAULT_MAX_OBJECT_SIZE, MIB, SSE_CHOICES, part_size_for

INTERVALS = (1, 2, 3, 4, 6, 8, 12, 24)  # divide the day evenly: every run falls on the same hours daily
CONFIG_MOUNT = "/etc/sysgenpro-odoo-backup"
CLI_MODULE = "sysgenpro_backup.backup_cli"
STORE_KEYS = ("endpoint_url", "bucket", "access_key", "secret_key")


class ScheduleError(ValueError):
    """An input the schedule or config cannot be built from; the message names it and the fix."""


def stagger_minute(environment: str) -> int:
    """A stable minute 0..59 for the environment (crc32), so runs do not all start at :00."""
    return zlib.crc32(environment.encode("utf-8")) % 60


def schedule(interval_hours: Any, environment: str, start_hour: int = 1) -> dict[str, Any]:
    """When the environment's backups run: systemd ``OnCalendar`` and a cron expression with the same times."""
    try:
        interval = int(interval_hours)
    except (TypeError, ValueError):
        interval = -1
    if interval not in INTERVALS:
        raise ScheduleError(
            f"full_backup_interval_hours={interval_hours!r} must divide the day: one of "
            f"{', '.join(str(i) for i in INTERVALS)}"
        )
    if not 0 <= int(start_hour) <= 23:
        raise ScheduleError(f"start_hour={start_hour!r} must be an hour 0..23")
    minute = stagger_minute(validate_component("environment", environment))
    hours = sorted((int(start_hour) + k * interval) % 24 for k in range(24 // interval))
    return {
        "interval_hours": interval,
        "hours": hours,
        "minute": minute,
        "on_calendar": f"*-*-* {','.join(f'{h:02d}' for h in hours)}:{minute:02d}:00",
        "cron": f"{minute} {','.join(str(h) for h in hours)} * * *",
    }


def runner_memory_bytes(part_size: int, upload_concurrency: int, filestore_workers: int) -> int:
    """An upper bound of the runner's memory: the dump's parts uploading, the part being read (twice
    while its chunks are joined), one file buffer per worker, and 96 MiB for the interpreter, boto3
    and psycopg2. Independent of the database's size."""
    return (upload_concurrency + 2) * part_size + filestore_workers * 2 * 8 * MIB + 96 * MIB


def _store(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ScheduleError(f"{what} must be a mapping with {', '.join(STORE_KEYS)}")
    missing = [k for k in STORE_KEYS if not data.get(k)]
    if missing:
        raise ScheduleError(f"{what}: set {', '.join(missing)}")
    sse = data.get("sse") or "none"
    if sse not in SSE_CHOICES:
        raise ScheduleError(f"{what}.sse={sse!r}: one of {', '.join(SSE_CHOICES)}")
    out = {k: data[k] for k in STORE_KEYS}
    for key in ("region", "prefix", "sse_kms_key_id", "ca_bundle"):
        if data.get(key):
            out[key] = data[key]
    out["sse"] = sse
    if "verify_tls" in data:
        out["verify_tls"] = bool(data["verify_tls"])
    return out


def runner_config(env: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON config of one environment's runner (holds secrets: written 0600).

    ``env``: environment, tenant, odoo_version, database {name, host, port, user, password, sslmode,
    sslrootcert}, data_dir, policy (the plan's policy.settings). ``settings``: primary, offsite (may
    be empty unless the policy asks for an offsite copy), lock_dir, max_object_size,
    upload_concurrency, filestore_workers, max_deletions, restore_admin (optional).
    """
    environment = validate_component("environment", env.get("environment"))
    policy = env.get("policy") or {}
    database = dict(env.get("database") or {})
    for key in ("name", "user"):
        if not database.get(key):
            raise ScheduleError(f"environment {environment}: database.{key} is empty")
    primary = _store(settings.get("primary"), "primary")
    offsite = settings.get("offsite") or {}
    if policy.get("offsite_copy") and not offsite:
        raise ScheduleError(
            f"environment {environment}: its tier policy requires an offsite copy (offsite_copy true) but no "
            "offsite store is set: configure the offsite endpoint, bucket and credentials"
        )
    max_object = int(settings.get("max_object_size") or DEFAULT_MAX_OBJECT_SIZE)
    part_size_for(max_object)  # refuses sizes S3 cannot hold
    config: dict[str, Any] = {
        "environment": environment,
        "tenant": str(env.get("tenant") or ""),
        "odoo_version": str(env.get("odoo_version") or ""),
        "database": database,
        "data_dir": str(env.get("data_dir") or "/var/lib/odoo"),
        "primary": primary,
        "offsite": _store(offsite, "offsite") if offsite else None,
        "lock_dir": str(settings.get("lock_dir") or "/var/lib/sysgenpro-odoo-backup/locks"),
        "max_object_size": max_object,
        "upload_concurrency": int(settings.get("upload_concurrency") or 4),
        "filestore_workers": int(settings.get("filestore_workers") or 8),
        "retention": {
            "retention_days": int(policy.get("retention_days", 14)),
            "min_sets": int(policy.get("retention_min_sets", 7)),
            "max_deletions": int(settings.get("max_deletions") or 10),
            "incomplete_grace_hours": 2 * int(policy.get("full_backup_interval_hours", 24)),
        },
        "restore": {},
        "metrics": {"directory": str(settings.get("metrics_dir") or ""), "tier": str(policy.get("tier") or "")},
    }
    if settings.get("restore_admin"):
        config["restore"]["admin"] = dict(settings["restore_admin"])
    return config


def cronjob(
    environment: str,
    interval_hours: Any,
    *,
    namespace: str,
    image: str,
    config_secret: str,
    filestore_claim: str,
    part_size: int = 32 * MIB,
    upload_concurrency: int = 4,
    filestore_workers: int = 8,
    start_hour: int = 1,
    uid: int = 101,
) -> dict[str, Any]:
    """A batch/v1 CronJob that runs one backup of ``environment`` in the collection's backup image.

    The config (with secrets) comes from an existing Secret (e.g. External Secrets), mounted
    read-only; the Odoo filestore claim is mounted read-only; no overlap (concurrencyPolicy Forbid).
    """
    when = schedule(interval_hours, environment, start_hour)
    memory = runner_memory_bytes(part_size, upload_concurrency, filestore_workers)
    name = f"odoo-backup-{environment}"[:52]  # CronJob names: at most 52 characters
    labels = {
        "app.kubernetes.io/name": "odoo-backup",
        "app.kubernetes.io/instance": environment,
        "app.kubernetes.io/managed-by": "sysgenpro.odoo_platform",
    }
    container = {
        "name": "backup",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--config", f"{CONFIG_MOUNT}/config.json", "backup"],
        "resources": {
            "requests": {"cpu": "250m", "memory": f"{-(-memory // MIB)}Mi"},
            "limits": {"memory": f"{-(-memory // MIB)}Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True},
            {"name": "filestore", "mountPath": "/var/lib/odoo", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "state", "mountPath": "/var/lib/sysgenpro-odoo-backup"},
        ],
    }
    pod = {
        "metadata": {"labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": uid,
                "runAsGroup": uid,
                "fsGroup": uid,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": [
                {"name": "config", "secret": {"secretName": config_secret, "defaultMode": 0o400}},
                {"name": "filestore", "persistentVolumeClaim": {"claimName": filestore_claim, "readOnly": True}},
                {"name": "tmp", "emptyDir": {}},
                {"name": "state", "emptyDir": {}},
            ],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "schedule": when["cron"],
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": int(when["interval_hours"]) * 3600,
                    "template": pod,
                },
            },
        },
    }
