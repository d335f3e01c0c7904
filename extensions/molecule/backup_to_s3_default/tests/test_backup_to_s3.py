# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify the backup_to_s3 role on a live Debian 12 runner: files, timer, a real run through systemd."""

from __future__ import annotations

import json

import kubernetes_validate
import yaml

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_schedule import schedule

CONFIG = "/etc/sysgenpro-odoo-backup/wh-north.json"


def test_files_and_modes(host, scenario):
    config = host.file(CONFIG)
    assert (config.user, config.group, config.mode) == ("root", "root", 0o600)
    assert host.file("/etc/sysgenpro-odoo-backup").mode == 0o700
    data = json.loads(config.content_string)
    # The standard tier's policy (tier_policy.py): 14 days, 7 sets; offsite copy configured.
    assert data["retention"]["retention_days"] == 14 and data["retention"]["min_sets"] == 7
    assert data["offsite"]["bucket"] == "backups-offsite"
    assert host.file("/usr/local/bin/odoo-backup").mode == 0o755
    for unit in ("/etc/systemd/system/odoo-backup@.service", "/etc/systemd/system/odoo-backup-wh-north.timer"):
        assert scenario["scenario_primary"]["secret_key"] not in host.file(unit).content_string


def test_timer_follows_the_tier_policy(host):
    timer = host.service("odoo-backup-wh-north.timer")
    assert timer.is_enabled and timer.is_running
    expected = schedule(24, "wh-north", 1)["on_calendar"]
    assert f"OnCalendar={expected}\n" in host.file("/etc/systemd/system/odoo-backup-wh-north.timer").content_string


def test_the_timers_service_takes_a_verified_set(host, scenario):
    """The service the timer starts runs for real: Debian's boto3 against SeaweedFS, manifest, offsite copy."""
    run = host.run("systemctl start odoo-backup@wh-north.service")
    log = host.run("journalctl -u odoo-backup@wh-north.service --no-pager -o cat").stdout
    assert run.rc == 0, log
    assert "db.dump:" in log and "MiB/s" in log and "set complete" in log and "offsite copy of" in log
    for secret in (scenario["scenario_db_password"], scenario["scenario_primary"]["secret_key"]):
        assert secret not in log
    prom = host.file("/var/lib/prometheus/node-exporter/odoo_platform_backup_wh-north.prom").content_string
    assert (
        'odoo_platform_backup_last_run_success{environment="wh-north",tenant="warehouse-north",tier="standard"} 1'
        in prom
    )
    listing = json.loads(host.check_output(f"odoo-backup --config {CONFIG} list"))
    for store in ("primary", "offsite"):
        assert listing[store]["sets"] and all(s["complete"] for s in listing[store]["sets"])


def test_restore_as_the_odoo_role_into_a_new_database(host):
    """The runner restores the set it took into an empty database owned by the Odoo role."""
    host.run_expect([0], "rm -rf /var/lib/odoo-demo/filestore/wh_north_check")  # verify may run twice
    host.run_expect([0], "runuser -u postgres -- psql -c 'DROP DATABASE IF EXISTS wh_north_check'")
    host.run_expect([0], "runuser -u postgres -- psql -c 'CREATE DATABASE wh_north_check OWNER odoo_wh_north'")
    result = json.loads(host.check_output(f"odoo-backup --config {CONFIG} restore --target wh_north_check"))
    assert result["missing_attachments"] == 0 and result["tables"]["res_partner"] == 100
    assert host.file("/var/lib/odoo-demo/filestore/wh_north_check/ab/abcdef").content_string == "attachment\n"


def test_cronjob_rendered_and_valid(ephemeral_dir):
    obj = yaml.safe_load((ephemeral_dir / "kubernetes" / "wh-north-cronjob.yaml").read_text())
    kubernetes_validate.validate(obj, kubernetes_validate.utils.latest_version(), strict=True)
    assert obj["spec"]["schedule"] == schedule(24, "wh-north", 1)["cron"]
