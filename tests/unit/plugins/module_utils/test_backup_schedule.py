# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_schedule: run times from the tier policy, runner configs, the CronJob (kubernetes-validate)."""

from __future__ import annotations

import zlib

import kubernetes_validate
import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_schedule import (
    ScheduleError,
    cronjob,
    runner_config,
    runner_memory_bytes,
    schedule,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.s3_stream import MIB

VERSIONS = sorted({".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()},
                  key=lambda v: tuple(int(x) for x in v.split(".")))[-3:]  # fmt: skip
STORE = {"endpoint_url": "http://s3.lab:8333", "bucket": "b", "access_key": "AK", "secret_key": "SK"}
ENV = {
    "environment": "wh-north",
    "tenant": "north",
    "odoo_version": "18.0",
    "database": {"name": "wh_north", "user": "odoo_wh_north", "password": "pw", "host": "pg", "port": 5432},
    "data_dir": "/var/lib/odoo-wh-north",
    # tier_policy.py standard defaults: retention_days 14, retention_min_sets 7, offsite_copy true, 24 h.
    "policy": {"full_backup_interval_hours": 24, "retention_days": 14, "retention_min_sets": 7, "offsite_copy": True},
}


@pytest.mark.parametrize(
    ("interval", "start", "hours"),
    [(24, 1, [1]), (12, 1, [1, 13]), (8, 2, [2, 10, 18]), (6, 22, [4, 10, 16, 22]), (1, 0, list(range(24)))],
)
def test_schedule_hours(interval, start, hours):
    minute = zlib.crc32(b"wh-north") % 60
    result = schedule(interval, "wh-north", start)
    assert result["hours"] == hours
    assert result["minute"] == minute
    # systemd.time(7): "*-*-* HH,HH:MM:SS"; crontab(5): "M H,H * * *".
    assert result["on_calendar"] == f"*-*-* {','.join(f'{h:02d}' for h in hours)}:{minute:02d}:00"
    assert result["cron"] == f"{minute} {','.join(map(str, hours))} * * *"


@pytest.mark.parametrize(
    ("interval", "env", "start", "error"),
    [
        (5, "wh-north", 1, "must divide the day"),
        (48, "wh-north", 1, "must divide the day"),
        ("daily", "wh-north", 1, "must divide the day"),
        (24, "wh north", 1, "not a valid key component"),
        (24, "wh-north", 24, "must be an hour 0..23"),
    ],
)
def test_schedule_refuses(interval, env, start, error):
    with pytest.raises(ValueError, match=error):
        schedule(interval, env, start)


def test_runner_config_takes_retention_from_the_policy():
    config = runner_config(ENV, {"primary": STORE, "offsite": {**STORE, "bucket": "o"}, "max_deletions": 5})
    assert config["retention"] == {
        "retention_days": 14,
        "min_sets": 7,
        "max_deletions": 5,
        "incomplete_grace_hours": 48,
    }
    assert config["offsite"]["bucket"] == "o" and config["primary"]["sse"] == "none"


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"primary": STORE}, "requires an offsite copy"),
        ({"primary": {**STORE, "secret_key": ""}, "offsite": STORE}, "primary: set secret_key"),
        ({"primary": {**STORE, "sse": "aes"}, "offsite": STORE}, r"primary.sse='aes'"),
        ({"primary": STORE, "offsite": STORE, "max_object_size": 6 * 1024**4}, "5 TiB"),
    ],
)
def test_runner_config_refuses(settings, error):
    with pytest.raises(ValueError, match=error):
        runner_config(ENV, settings)


def test_runner_memory_is_independent_of_the_database():
    # 2 parts of 32 MiB uploading + 2 x 32 MiB for the part being read + 8 workers x 16 MiB + 96 MiB.
    assert runner_memory_bytes(32 * MIB, 2, 8) == (128 + 128 + 96) * MIB


@pytest.mark.parametrize("version", VERSIONS)
def test_cronjob_validates(version):
    obj = cronjob("wh-north", 24, namespace="odoo-wh-north", image="registry.example.test/odoo-backup:1",
                  config_secret="odoo-backup-wh-north", filestore_claim="odoo-wh-north-data")  # fmt: skip
    kubernetes_validate.validate(obj, version, strict=True)
    assert obj["spec"]["concurrencyPolicy"] == "Forbid"
    assert obj["spec"]["schedule"] == schedule(24, "wh-north")["cron"]


def test_cronjob_refuses_a_bad_interval():
    with pytest.raises(ScheduleError):
        cronjob("wh-north", 7, namespace="n", image="i", config_secret="s", filestore_claim="c")
