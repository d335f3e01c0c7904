# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify the observability role on live VMs: real Prometheus scrapes real exporters, the backup-age alert
fires when the backup metric goes stale, the monitoring role is least-privilege, dashboards query real metrics."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import observability as obs

MON = "sysgenpro-molecule-obs-mon"
PG = "sysgenpro-molecule-obs-pg"
REDIS = "sysgenpro-molecule-obs-redis"
# Each test drives the whole scenario from the monitoring VM; run it once, not once per inventory host.
testinfra_hosts = [f"docker://{MON}"]
# tier_policy: mission_critical alert_backup_age_seconds = 24 h * 3600 + 2 h = 93600 s.
BACKUP_AGE_LIMIT = 93600
TEXTFILE = "/var/lib/prometheus/node-exporter/odoo_platform_backup_erp.prom"


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60, interval: float = 1) -> Any:
    """Poll until ``check`` returns something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"{what}: not true after {timeout}s (last: {last!r})")


def _write_textfile(host, values):
    text = obs.textfile_metrics("erp", "finance", "mission_critical", values)
    # Written beside the target, then renamed: node_exporter never reads half a file (the backup role's contract).
    host.run(f"cat > {TEXTFILE}.tmp <<'EOF'\n{text}EOF\nmv {TEXTFILE}.tmp {TEXTFILE}")


def _firing(api, alert, environment):
    return [
        a
        for a in api("/api/v1/alerts")["alerts"]
        if a["labels"]["alertname"] == alert
        and a["labels"].get("environment") == environment
        and a["state"] == "firing"
    ]


def test_every_target_is_up(api):
    def all_up():
        targets = api("/api/v1/targets")["activeTargets"]
        return targets if targets and all(t["health"] == "up" for t in targets) else None

    targets = wait_for(all_up, "every scrape target up", timeout=90)
    jobs = sorted(t["labels"]["job"] for t in targets)
    assert jobs == sorted(["node"] * 3 + ["postgres", "redis", "traefik", "blackbox_health", "blackbox_login"]), jobs
    postgres = next(t for t in targets if t["labels"]["job"] == "postgres")
    assert {k: postgres["labels"][k] for k in ("environment", "tenant", "tier", "tenancy", "host")} == {
        "environment": "erp",
        "tenant": "finance",
        "tier": "mission_critical",
        "tenancy": "dedicated",
        "host": PG,
    }


def test_exporters_see_their_services(api):
    def value(query):
        result = api(f"/api/v1/query?query={query}")["result"]
        return {r["metric"].get("probe") or r["metric"].get("application_name") or "": r["value"][1] for r in result}

    assert wait_for(lambda: value("pg_up") == {"": "1"}, "pg_up = 1")
    assert wait_for(lambda: value("redis_up") == {"": "1"}, "redis_up = 1")
    # Both Odoo probes succeed through Traefik (HTTPS, Traefik's default certificate).
    assert wait_for(lambda: value("probe_success") == {"health": "1", "login": "1"}, "probes succeed")
    # The role's custom query reports the streaming standby's replay lag.
    assert wait_for(
        lambda: "standby1" in value("odoo_platform_pg_replication_replay_lag_seconds"), "standby replay lag"
    )


def test_backup_age_alert_follows_the_textfile(api, vm):
    pg = vm(PG)
    now = int(time.time())
    fresh = {
        "odoo_platform_backup_last_success_timestamp_seconds": now,
        "odoo_platform_backup_last_size_bytes": 123456789,
        "odoo_platform_drill_last_success_timestamp_seconds": now,
        "odoo_platform_drill_last_success": 1,
        "odoo_platform_drill_last_rto_seconds": 600,
    }
    _write_textfile(pg, fresh)
    wait_for(lambda: not _firing(api, "OdooPlatformBackupTooOld", "erp"), "backup alert quiet with a fresh backup")
    _write_textfile(pg, dict(fresh, odoo_platform_backup_last_success_timestamp_seconds=now - BACKUP_AGE_LIMIT - 600))
    alert = wait_for(lambda: _firing(api, "OdooPlatformBackupTooOld", "erp"), "backup alert firing when stale")[0]
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["route"] == "pager"
    assert alert["annotations"]["runbook_url"].endswith("/docs/runbooks/OdooPlatformBackupTooOld.md")
    # Prometheus hands it to Alertmanager, which routes it by the tier's route label.
    received = wait_for(
        lambda: [a for a in api("/api/v2/alerts", 9093) if a["labels"]["alertname"] == "OdooPlatformBackupTooOld"],
        "Alertmanager received the alert",
    )
    assert received[0]["receivers"] == [{"name": "pager"}]


def test_monitoring_role_is_least_privilege(vm):
    pg = vm(PG)
    psql = 'su postgres -c "psql -tAc \\"{}\\""'
    flags = pg.check_output(
        psql.format(
            "select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin "
            "from pg_roles where rolname = 'odoo_platform_monitor'"
        )
    )
    assert flags == "f|f|f|f|f|t"
    groups = pg.check_output(
        psql.format(
            "select string_agg(g.rolname, ',') from pg_auth_members m join pg_roles g on g.oid = m.roleid "
            "join pg_roles u on u.oid = m.member where u.rolname = 'odoo_platform_monitor'"
        )
    )
    assert groups == "pg_monitor"
    env = pg.file("/etc/default/prometheus-postgres-exporter")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    # The password is in the root-only environment file, never on the exporter's command line.
    assert "TEST-ONLY" not in pg.check_output("ps -eo args")
    assert vm(REDIS).file("/etc/default/prometheus-redis-exporter").mode == 0o600
    assert "TEST-ONLY" not in vm(REDIS).check_output("ps -eo args")


def test_installed_files_pass_the_tools(host):
    assert host.run("promtool check config /etc/prometheus/prometheus.yml").rc == 0
    assert host.run("amtool check-config /etc/prometheus/alertmanager.yml").rc == 0
    assert host.file("/etc/prometheus/rules/odoo_platform.yml").content_string.startswith("#")


def test_dashboards_query_metrics_that_exist(api, host):
    """Every panel of every dashboard selects metrics Prometheus really has (scraped or recorded)."""
    wait_for(lambda: api("/api/v1/query?query=traefik_entrypoint_requests_total")["result"], "Traefik counted requests")
    names = set(api("/api/v1/label/__name__/values"))
    missing = {}
    for uid in obs.dashboards():
        board = host.file(f"/etc/odoo-platform/dashboards/{uid}.json").content_string
        for panel in json.loads(board)["panels"]:
            for target in panel["targets"]:
                absent = [m for m in obs.query_metrics(target["expr"]) if m not in names]
                if absent:
                    missing[f"{uid}: {panel['title']}"] = absent
    assert missing == {}
