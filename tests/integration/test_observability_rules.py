# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The generated Prometheus, Alertmanager and blackbox files pass the real tools (Debian 12's promtool 2.42,
amtool 0.25, blackbox_exporter 0.23, run in the monitoring lab image), and `promtool test rules` proves every
alert: one evaluation where it stays quiet and one where it fires, with the exact labels and annotations."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import observability as obs
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import plan as estate_plan

from .harness import ROOT

pytestmark = pytest.mark.integration
IMAGE = "sysgenpro-lab/monitoring:bookworm"
_SECRETS = {"odoo_platform_db_password": "kT9v-2qLx_Wm8rPz", "odoo_platform_admin_password": "Zp4n_8vQm-3LwYx7"}


def _env(tenant, server, redis, docker, hostname):
    return dict(
        _SECRETS,
        odoo_platform_tenant=tenant,
        odoo_platform_runtime="docker",
        odoo_platform_container_host=docker,
        odoo_platform_postgres_server=server,
        odoo_platform_redis_server=redis,
        odoo_platform_hostnames=[hostname],
        odoo_platform_cpus=1,
        odoo_platform_memory="2GiB",
    )


def _plan():
    """erp: mission-critical, dedicated; wh-a and wh-b: standard, shared."""
    hosts = {
        "erp": _env("finance", "pg-erp", "redis-erp", "docker-erp", "erp.example.test"),
        "wh-a": _env("warehouse-a", "pg-shared", "redis-shared", "docker-shared", "wh-a.example.test"),
        "wh-b": _env("warehouse-b", "pg-shared", "redis-shared", "docker-shared", "wh-b.example.test"),
        "pg-erp": {"odoo_platform_pg_memory": "4GiB", "odoo_platform_pg_cpus": 2},
        "pg-shared": {"odoo_platform_pg_memory": "4GiB", "odoo_platform_pg_cpus": 2},
    }
    groups = {
        "environments": ["erp", "wh-a", "wh-b"],
        "tier_mission_critical": ["erp"],
        "tier_regional": [],
        "tier_standard": ["wh-a", "wh-b"],
        "tenancy_dedicated": ["erp"],
        "tenancy_shared": ["wh-a", "wh-b"],
        "postgres_servers": ["pg-erp", "pg-shared"],
        "redis_servers": ["redis-erp", "redis-shared"],
        "container_hosts": ["docker-erp", "docker-shared"],
    }
    return estate_plan.build_plan(hosts, groups)


# Labels the alerts must carry (tier_policy: mission_critical -> severity critical, route pager).
ERP = {
    "environment": "erp",
    "tenant": "finance",
    "tier": "mission_critical",
    "tenancy": "dedicated",
    "severity": "critical",
    "route": "pager",
}
PG, REDIS, DOCKER = (dict(ERP, host=h) for h in ("pg-erp", "redis-erp", "docker-erp"))
M = 60
H = 3600

# alert: (interval, input series, quiet eval time, firing eval time, extra labels of the result, rendered $value).
# Thresholds (tier_policy defaults, issue 3): mission_critical backup age 24 h + 2 h = 93600 s, drills every 7 days
# (+ 1 day margin), RTO 3600 s, WAL lag RPO 300 / 2 = 150 s; fixed: 85 % connections/disk/memory, 14 days cert.
# $value renderings follow Prometheus' humanizeDuration ("1d 3h 0m 0s") and humanizePercentage ("90%").
CASES = {
    "OdooPlatformBackupTooOld": (
        "1h",
        {'odoo_platform_backup_last_success_timestamp_seconds{environment="erp"}': "0x40"},
        "25h",
        "27h",
        ERP,
        "1d 3h 0m 0s",
    ),
    "OdooPlatformRestoreDrillFailed": (
        "1m",
        {'odoo_platform_drill_last_success{environment="erp"}': "1x30 0x30"},
        "20m",
        "40m",
        ERP,
        None,
    ),
    "OdooPlatformRestoreDrillOverdue": (
        "1h",
        {'odoo_platform_drill_last_success_timestamp_seconds{environment="erp"}': "0x250"},
        "190h",
        "193h",
        ERP,
        None,
    ),
    "OdooPlatformRestoreDrillRtoExceeded": (
        "1m",
        {'odoo_platform_drill_last_rto_seconds{environment="erp"}': "1800x10 4000x10"},
        "5m",
        "15m",
        ERP,
        "4000",
    ),
    "OdooPlatformOdooDown": (
        "1m",
        {
            'probe_success{environment="erp",probe="health"}': "1x10 0x20",
            'probe_success{environment="erp",probe="login"}': "1x10 0x20",
        },
        "5m",
        "20m",
        ERP,
        None,
    ),
    "OdooPlatformOdooHealthCheckFailing": (
        "1m",
        {
            'probe_success{environment="erp",probe="health"}': "1x10 0x20",
            'probe_success{environment="erp",probe="login"}': "1x30",
        },
        "5m",
        "20m",
        ERP,
        None,
    ),
    "OdooPlatformCertificateExpiringSoon": (
        "1h",
        {'probe_ssl_earliest_cert_expiry{environment="erp"}': f"{20 * 86400}x200"},
        "100h",
        "150h",
        ERP,
        "13d 18h 0m 0s",
    ),
    "OdooPlatformPostgresDown": (
        "1m",
        {'pg_up{host="pg-erp"}': "1x10 0x20", 'up{job="postgres",host="pg-erp"}': "1x30"},
        "5m",
        "20m",
        PG,
        None,
    ),
    "OdooPlatformPostgresConnectionsHigh": (
        "1m",
        {
            'pg_stat_activity_count{host="pg-erp",state="idle"}': "10x10 90x20",
            'pg_settings_max_connections{host="pg-erp"}': "100x30",
        },
        "5m",
        "20m",
        PG,
        "90%",
    ),
    "OdooPlatformWalArchivingFailing": (
        "1m",
        {'pg_stat_archiver_failed_count{host="pg-erp"}': "0x20 1x20"},
        "15m",
        "25m",
        PG,
        None,
    ),
    "OdooPlatformWalArchiveLagging": (
        "1m",
        {'pg_stat_archiver_last_archive_age{host="pg-erp"}': "60x10 200x10"},
        "5m",
        "15m",
        PG,
        "3m 20s",
    ),
    "OdooPlatformPostgresReplicationLag": (
        "1m",
        {'odoo_platform_pg_replication_replay_lag_seconds{host="pg-erp",application_name="standby1"}': "10x10 400x20"},
        "5m",
        "25m",
        PG,
        "6m 40s",
    ),
    "OdooPlatformRedisDown": (
        "1m",
        {'redis_up{host="redis-erp"}': "1x10 0x20", 'up{job="redis",host="redis-erp"}': "1x30"},
        "5m",
        "20m",
        REDIS,
        None,
    ),
    "OdooPlatformRedisSessionsEvicting": (
        "1m",
        {'redis_evicted_keys_total{host="redis-erp"}': "0x20 5x20"},
        "15m",
        "25m",
        REDIS,
        None,
    ),
    "OdooPlatformRedisSessionsRejectingWrites": (
        "1m",
        {'redis_commands_rejected_calls_total{host="redis-erp",cmd="set"}': "0x20 3x20"},
        "15m",
        "25m",
        REDIS,
        None,
    ),
    "OdooPlatformRedisSessionsMemoryHigh": (
        "1m",
        {
            'redis_memory_used_bytes{host="redis-erp"}': "50x10 90x30",
            'redis_memory_max_bytes{host="redis-erp"}': "100x40",
        },
        "5m",
        "30m",
        REDIS,
        "90%",
    ),
    "OdooPlatformHostDiskFull": (
        "1m",
        {
            'node_filesystem_avail_bytes{host="docker-erp",fstype="ext4",mountpoint="/"}': "50x10 10x30",
            'node_filesystem_size_bytes{host="docker-erp",fstype="ext4",mountpoint="/"}': "100x40",
        },
        "5m",
        "30m",
        dict(DOCKER, fstype="ext4", mountpoint="/"),
        "90%",
    ),
    "OdooPlatformExporterDown": (
        "1m",
        {'up{host="docker-erp",job="node"}': "1x10 0x20"},
        "5m",
        "20m",
        dict(DOCKER, job="node"),
        None,
    ),
}


def _seconds(duration: str) -> int:
    return int(duration[:-1]) * {"m": M, "h": H}[duration[-1]]


def _fresh_series(plan, interval: str, steps: int) -> dict[str, str]:
    """Backups and drills of every environment that track time(): nothing stale unless a case says so."""
    step = _seconds(interval)
    return {
        f'{metric}{{environment="{env}"}}': f"0+{step}x{steps}"
        for env in plan["environments"]
        for metric in (
            "odoo_platform_backup_last_success_timestamp_seconds",
            "odoo_platform_drill_last_success_timestamp_seconds",
        )
    }


def _render(template: str, labels: dict[str, str], value: str | None) -> str:
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)
    return re.sub(r"\{\{ \$value( \| \w+)? \}\}", lambda _m: str(value), text)


def _rule_for(rules, alert: str, labels: dict[str, str]):
    return next(
        r
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert") == alert and all(r["labels"].get(k) == v for k, v in labels.items() if k in r["labels"])
    )


def _unit_tests(plan, rules, interval_filter: str = "1m") -> dict:
    """promtool evaluates every rule at each evaluation_interval up to eval_time: the cases measured in hours
    run in a suite of their own, evaluated hourly, so the whole run stays at a few seconds."""
    tests = []
    for alert, (interval, series, quiet, firing, labels, value) in sorted(CASES.items()):
        if interval != interval_filter:
            continue
        inputs = dict(_fresh_series(plan, interval, 300), **series)
        rule = _rule_for(rules, alert, labels)
        annotations = {k: _render(v, labels, value) for k, v in rule["annotations"].items()}
        tests.append(
            {
                "name": alert,
                "interval": interval,
                "input_series": [{"series": s, "values": v} for s, v in sorted(inputs.items())],
                "alert_rule_test": [
                    {"eval_time": quiet, "alertname": alert, "exp_alerts": []},
                    {
                        "eval_time": firing,
                        "alertname": alert,
                        "exp_alerts": [{"exp_labels": dict(labels), "exp_annotations": annotations}],
                    },
                ],
            }
        )
    if interval_filter != "1m":
        return {"rule_files": ["rules/odoo_platform.yml"], "evaluation_interval": interval_filter, "tests": tests}
    # A never-recorded backup is an RPO breach too (absent()).
    tests.append(
        {
            "name": "OdooPlatformBackupTooOld when no backup was ever recorded",
            "interval": "1m",
            "input_series": [
                {"series": s, "values": v}
                for s, v in sorted(_fresh_series(plan, "1m", 30).items())
                if 'environment="erp"' not in s or "drill" in s
            ],
            "alert_rule_test": [
                {
                    "eval_time": "10m",
                    "alertname": "OdooPlatformBackupTooOld",
                    "exp_alerts": [
                        {
                            "exp_labels": dict(ERP),
                            "exp_annotations": {
                                k: _render(v, ERP, "")
                                for k, v in _rule_for(rules, "OdooPlatformBackupTooOld", ERP)["annotations"].items()
                            },
                        }
                    ],
                }
            ],
        }
    )
    return {"rule_files": ["rules/odoo_platform.yml"], "evaluation_interval": "1m", "tests": tests}


def _run(workdir: Path, script: str) -> subprocess.CompletedProcess:
    name = f"sysgenpro-test-obs-promtool-{workdir.name}"[:60]
    try:
        return subprocess.run(
            [
                *("docker", "run", "--rm", "--name", name, "--label", "org.sysgenpro.lab=true", "--network", "none"),
                *("-v", f"{workdir}:/work/obs", "-w", "/work/obs", IMAGE, "sh", "-ec", script),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_every_alert_has_a_case_and_a_runbook():
    assert sorted(CASES) == sorted(obs.ALERTS)
    missing = [a for a in obs.ALERTS if not (ROOT / "docs" / "runbooks" / f"{a}.md").is_file()]
    assert missing == []


def test_generated_files_pass_promtool_amtool_and_blackbox(lab, tmp_path):
    plan = _plan()
    options = {"rule_files": ["/work/obs/rules/*.yml"]}
    (tmp_path / "rules").mkdir()
    rules = obs.alert_rules(plan, options)
    files = {
        "prometheus.yml": obs.prometheus_config(plan, {}, options),
        "rules/odoo_platform.yml": rules,
        "alertmanager.yml": obs.alertmanager_config(
            {"receivers": {"pager": {"webhook_configs": [{"url": "http://127.0.0.1:9/pager"}]}}}
        ),
        "blackbox.yml": obs.blackbox_config(options),
        "tests-minutes.yml": _unit_tests(plan, rules, "1m"),
        "tests-hours.yml": _unit_tests(plan, rules, "1h"),
    }
    for name, data in files.items():
        (tmp_path / name).write_text(yaml.safe_dump(data, sort_keys=False))
    result = _run(
        tmp_path,
        "promtool check config prometheus.yml; promtool check rules rules/odoo_platform.yml; "
        "promtool test rules tests-minutes.yml tests-hours.yml; amtool check-config alertmanager.yml; "
        "prometheus-blackbox-exporter --config.check --config.file=blackbox.yml",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "FAILED" not in result.stdout


def test_promtool_catches_a_wrong_expectation(lab, tmp_path):
    """The harness would notice a rule that does not fire: a test with a wrong threshold fails."""
    plan = _plan()
    rules = obs.alert_rules(plan)
    suite = _unit_tests(plan, rules, "1h")
    suite["tests"] = [t for t in suite["tests"] if t["name"] == "OdooPlatformBackupTooOld"]
    suite["tests"][0]["alert_rule_test"][1]["eval_time"] = "25h"  # 90000 s < 93600 s: must not fire yet
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "odoo_platform.yml").write_text(yaml.safe_dump(rules))
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(suite))
    result = _run(tmp_path, "promtool test rules tests.yml")
    assert result.returncode != 0
    assert "OdooPlatformBackupTooOld" in result.stdout + result.stderr


def test_prometheus_operator_objects_pass_the_crd_validators(tmp_path):
    """PrometheusRule, Probe, ServiceMonitor and PodMonitor validate with @kubernetes-models/prometheus-operator."""
    tool = ROOT / "tools" / "prometheus-validators"
    if not (tool / "node_modules" / "@kubernetes-models" / "prometheus-operator").is_dir():
        pytest.fail("run `npm ci --prefix tools/prometheus-validators` first (the Makefile's validators target)")
    hosts = {
        "erp": dict(
            _env("finance", "pg-erp", "redis-erp", "docker-erp", "erp.example.test"),
            odoo_platform_runtime="kubernetes",
            odoo_platform_kubernetes_cluster="k8s-prod",
        ),
        "pg-erp": {"odoo_platform_pg_memory": "4GiB", "odoo_platform_pg_cpus": 2},
    }
    groups = {
        "environments": ["erp"],
        "tier_mission_critical": ["erp"],
        "tier_regional": [],
        "tier_standard": [],
        "tenancy_dedicated": ["erp"],
        "tenancy_shared": [],
        "postgres_servers": ["pg-erp"],
        "redis_servers": ["redis-erp"],
        "kubernetes_clusters": ["k8s-prod"],
    }
    objects = obs.k8s_objects(estate_plan.build_plan(hosts, groups))
    assert sorted(o["kind"] for o in objects) == ["PodMonitor", "Probe", "Probe", "PrometheusRule", "ServiceMonitor"]
    manifest = tmp_path / "monitoring.yml"
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    ok = subprocess.run(
        ["node", str(tool / "validate.mjs"), str(manifest)], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert "5 object(s) valid" in ok.stdout
    # The validators are real: a bad duration in a rule is refused.
    objects[0]["spec"]["groups"][1]["rules"][0]["for"] = "five minutes"
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    bad = subprocess.run(
        ["node", str(tool / "validate.mjs"), str(manifest)], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert "PrometheusRule/odoo-platform: data/spec/groups/1/rules/0/for must match pattern" in bad.stderr
