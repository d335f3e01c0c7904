# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_cli: the metrics textfile survives a failed run; configs readable by others are refused."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_cli import load_config, write_metrics
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_run import BackupError

LABELS = '{environment="wh-north",tenant="north",tier="standard"}'


def test_failed_run_keeps_the_last_success(tmp_path):
    data = {"environment": "wh-north", "tenant": "north", "metrics": {"directory": str(tmp_path), "tier": "standard"}}
    path = write_metrics(data, {"bytes": 1234, "seconds": 5.5}, 1000.0)
    write_metrics(data, None, 2000.0)
    text = (tmp_path / "odoo_platform_backup_wh-north.prom").read_text()
    assert path.endswith("odoo_platform_backup_wh-north.prom")
    for sample in (
        f"odoo_platform_backup_last_success_timestamp_seconds{LABELS} 1000",
        f"odoo_platform_backup_last_size_bytes{LABELS} 1234",
        f"odoo_platform_backup_last_duration_seconds{LABELS} 5.5",
        f"odoo_platform_backup_last_run_timestamp_seconds{LABELS} 2000",
        f"odoo_platform_backup_last_run_success{LABELS} 0",
    ):
        assert sample in text.splitlines()


def test_no_metrics_without_a_directory(tmp_path):
    assert write_metrics({"environment": "wh-north"}, None, 1.0) == ""


def test_config_readable_by_others_is_refused(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"environment": "x"}))
    config.chmod(0o644)
    with pytest.raises(BackupError, match=r"is readable by others \(mode 0o644\): chmod 0600 it"):
        load_config(str(config))
    config.chmod(0o600)
    assert load_config(str(config)) == {"environment": "x"}
