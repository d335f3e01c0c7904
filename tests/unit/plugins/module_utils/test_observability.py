# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""observability: scrape targets and labels, tier-driven thresholds, routes, dashboards, the textfile contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import observability as obs
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import plan as estate_plan

ROOT = Path(__file__).resolve().parents[4]
_SECRETS = {"odoo_platform_db_password": "kT9v-2qLx_Wm8rPz", "odoo_platform_admin_password": "Zp4n_8vQm-3LwYx7"}


def _env(tenant, server, redis, docker, hostname, **extra):
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
        **extra,
    )


def _plan(erp_extra=None):
    """erp: mission-critical, dedicated; wh-a and wh-b: standard, shared (one server, Redis and Docker host)."""
    hosts = {
        "erp": _env("finance", "pg-erp", "redis-erp", "docker-erp", "erp.example.test", **(erp_extra or {})),
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


PLAN = _plan()


def _job(config, name):
    return next(j for j in config["scrape_configs"] if j["job_name"] == name)


def _rule(rules, alert, **labels):
    found = [
        r
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert") == alert and all(r["labels"].get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (alert, labels, found)
    return found[0]


def test_postgres_targets_carry_estate_labels_and_shared_servers_their_strictest_tier():
    config = obs.prometheus_config(PLAN, {"pg-erp": "10.0.0.5"})
    assert _job(config, "postgres")["static_configs"] == [
        {
            "targets": ["10.0.0.5:9187"],  # ansible_host when given; postgres_exporter's default port 9187
            "labels": {
                "environment": "erp",
                "environments": "erp",
                "host": "pg-erp",
                "role": "primary",
                "tenancy": "dedicated",
                "tenant": "finance",
                "tier": "mission_critical",
            },
        },
        {
            "targets": ["pg-shared:9187"],
            "labels": {
                "environment": "shared",
                "environments": "wh-a,wh-b",
                "host": "pg-shared",
                "role": "primary",
                "tenancy": "shared",
                "tenant": "shared",
                "tier": "standard",
            },
        },
    ]


@pytest.mark.parametrize(
    ("job", "targets"),
    [
        # node_exporter 9100 on every host an environment uses; redis_exporter 9121;
        # the traefik role's metrics entrypoint 8082.
        (
            "node",
            [
                "docker-erp:9100",
                "docker-shared:9100",
                "pg-erp:9100",
                "pg-shared:9100",
                "redis-erp:9100",
                "redis-shared:9100",
            ],
        ),
        ("redis", ["redis-erp:9121", "redis-shared:9121"]),
        ("traefik", ["docker-erp:8082", "docker-shared:8082"]),
        ("blackbox_health", ["https://erp.example.test/web/health", "https://wh-a.example.test/web/health"]),
        ("blackbox_login", ["https://erp.example.test/web/login", "https://wh-a.example.test/web/login"]),
    ],
)
def test_every_component_is_a_target(job, targets):
    found = [t for sc in _job(obs.prometheus_config(PLAN, {}), job)["static_configs"] for t in sc["targets"]]
    assert found[: len(targets)] == targets


def test_blackbox_probes_go_through_the_exporter_with_the_url_as_target():
    job = _job(obs.prometheus_config(PLAN, {}), "blackbox_health")
    assert job["params"] == {"module": ["odoo_health"]}
    assert job["relabel_configs"][-1] == {"target_label": "__address__", "replacement": "127.0.0.1:9115"}
    assert job["static_configs"][1]["labels"] == {
        "environment": "wh-a",
        "tenant": "warehouse-a",
        "tier": "standard",
        "tenancy": "shared",
        "probe": "health",
    }


def test_textfile_series_keep_their_own_environment_label():
    # honor_labels: a backup metric of wh-a scraped from the shared server keeps environment="wh-a".
    assert _job(obs.prometheus_config(PLAN, {}), "node")["honor_labels"] is True


@pytest.mark.parametrize(
    ("alert", "labels", "threshold"),
    [
        # tier_policy: alert_backup_age_seconds = full_backup_interval_hours 24 * 3600 + 2 h = 93600 (both tiers).
        ("OdooPlatformBackupTooOld", {"environment": "erp"}, "> 93600"),
        ("OdooPlatformBackupTooOld", {"environment": "wh-a"}, "> 93600"),
        # restore_drill_every_days: mission_critical 7, standard 90 (issue 3); + 1 day to run the drill.
        ("OdooPlatformRestoreDrillOverdue", {"environment": "erp"}, f"> {7 * 86400 + 86400}"),
        ("OdooPlatformRestoreDrillOverdue", {"environment": "wh-b"}, f"> {90 * 86400 + 86400}"),
        # rto_seconds: mission_critical 3600, standard 86400.
        ("OdooPlatformRestoreDrillRtoExceeded", {"environment": "erp"}, "> 3600"),
        ("OdooPlatformRestoreDrillRtoExceeded", {"environment": "wh-a"}, "> 86400"),
        # alert_wal_archive_lag_seconds = RPO 300 / 2 for mission_critical.
        ("OdooPlatformWalArchiveLagging", {"host": "pg-erp"}, "> 150"),
        ("OdooPlatformPostgresReplicationLag", {"host": "pg-erp"}, "> 150"),
        ("OdooPlatformPostgresConnectionsHigh", {"host": "pg-shared"}, "> 0.85"),
        ("OdooPlatformCertificateExpiringSoon", {"environment": "erp"}, f"< {14 * 86400}"),
        ("OdooPlatformHostDiskFull", {"host": "docker-shared"}, "> 0.85"),
        ("OdooPlatformRedisSessionsMemoryHigh", {"host": "redis-shared"}, "> 0.85"),
    ],
)
def test_thresholds_come_from_the_tier_policy(alert, labels, threshold):
    rule = _rule(obs.alert_rules(PLAN), alert, **labels)
    assert threshold in rule["expr"]


@pytest.mark.parametrize(
    ("alert", "labels", "severity", "route"),
    [
        # tier_policy: mission_critical -> critical/pager; standard -> warning/ticket.
        ("OdooPlatformBackupTooOld", {"environment": "erp"}, "critical", "pager"),
        ("OdooPlatformBackupTooOld", {"environment": "wh-b"}, "warning", "ticket"),
        ("OdooPlatformPostgresDown", {"host": "pg-erp"}, "critical", "pager"),
        ("OdooPlatformRedisDown", {"host": "redis-shared"}, "warning", "ticket"),
    ],
)
def test_severity_and_route_follow_the_tier(alert, labels, severity, route):
    rule = _rule(obs.alert_rules(PLAN), alert, **labels)
    assert (rule["labels"]["severity"], rule["labels"]["route"]) == (severity, route)


def test_wal_and_replication_alerts_only_where_the_tier_archives_and_has_a_standby():
    rules = obs.alert_rules(PLAN)
    hosts = {
        (r["alert"], r["labels"].get("host"))
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert", "").startswith(("OdooPlatformWal", "OdooPlatformPostgresReplication"))
    }
    # standard: logical_daily backups and no standby (tier_policy) -> nothing for pg-shared.
    assert hosts == {
        ("OdooPlatformWalArchivingFailing", "pg-erp"),
        ("OdooPlatformWalArchiveLagging", "pg-erp"),
        ("OdooPlatformPostgresReplicationLag", "pg-erp"),
    }


def test_an_override_moves_the_threshold():
    rules = obs.alert_rules(_plan({"odoo_platform_tier_overrides": {"alert_backup_age_seconds": "12h"}}))
    assert "> 43200" in _rule(rules, "OdooPlatformBackupTooOld", environment="erp")["expr"]


def test_every_alert_has_a_runbook_and_a_summary():
    rules = obs.alert_rules(PLAN, {"runbook_base_url": "https://example.test/runbooks/"})
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["annotations"]["runbook_url"] == f"https://example.test/runbooks/{rule['alert']}.md"
                assert rule["annotations"]["summary"]
    assert obs.alert_names(rules) == sorted(obs.ALERTS)


def test_policy_series_are_recorded_per_environment():
    records = obs.alert_rules(PLAN)["groups"][0]["rules"]
    erp_rpo = next(
        r for r in records if r["record"] == "odoo_platform_policy_rpo_seconds" and r["labels"]["environment"] == "erp"
    )
    assert erp_rpo["expr"] == "vector(300)"  # mission_critical RPO 5 min (issue 3)


def test_output_is_deterministic():
    first = json.dumps([obs.prometheus_config(PLAN, {}), obs.alert_rules(PLAN), obs.dashboards()])
    assert json.dumps([obs.prometheus_config(_plan(), {}), obs.alert_rules(_plan()), obs.dashboards()]) == first


def test_alertmanager_routes_per_tier_route():
    config = obs.alertmanager_config({"receivers": {"pager": {"webhook_configs": [{"url": "http://pager.test/"}]}}})
    routes = config["route"]["routes"]
    assert [r["receiver"] for r in routes] == ["pager", "pager", "ticket"]
    assert routes[0]["matchers"] == ['route="pager"']
    # Regional pages in business hours only, and always opens a ticket (continue to the next route).
    assert routes[1]["active_time_intervals"] == ["business_hours"]
    assert routes[1]["continue"] is True
    assert config["receivers"][0] == {"name": "pager", "webhook_configs": [{"url": "http://pager.test/"}]}
    assert config["receivers"][1] == {"name": "ticket"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scrape_intervall": "1m"}, "options='scrape_intervall': unknown option"),
        ({"scrape_interval": "1 minute"}, "scrape_interval='1 minute': not a Prometheus duration"),
        ({"probe_scheme": "ftp"}, "probe_scheme='ftp': unknown scheme; accepted: http, https"),
        ({"disk_ratio": 85}, "disk_ratio=85: must be a ratio between 0 and 1"),
    ],
)
def test_bad_options_are_refused_with_the_value(options, message):
    with pytest.raises(obs.ObservabilityError) as err:
        obs.prometheus_config(PLAN, {}, options)
    assert str(err.value).startswith(message)


def test_unknown_receiver_is_refused():
    with pytest.raises(obs.ObservabilityError, match="receivers='sms': unknown receiver; accepted: pager, ticket"):
        obs.alertmanager_config({"receivers": {"sms": {}}})


def test_textfile_contract():
    text = obs.textfile_metrics(
        "wh-a", "warehouse-a", "standard", {"odoo_platform_backup_last_success_timestamp_seconds": 1764000000}
    )
    # Prometheus text exposition format: HELP, TYPE, then the sample with its labels.
    assert text.splitlines()[1:] == [
        "# TYPE odoo_platform_backup_last_success_timestamp_seconds gauge",
        'odoo_platform_backup_last_success_timestamp_seconds{environment="wh-a",tenant="warehouse-a",tier="standard"}'
        " 1764000000",
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"odoo_platform_backup_age": 1}, "values='odoo_platform_backup_age': not a backup metric"),
        ({"odoo_platform_backup_last_size_bytes": "big"}, "odoo_platform_backup_last_size_bytes='big': not a number"),
    ],
)
def test_textfile_refuses_unknown_metrics_and_non_numbers(values, message):
    with pytest.raises(obs.ObservabilityError) as err:
        obs.textfile_metrics("wh-a", "warehouse-a", "standard", values)
    assert str(err.value).startswith(message)


def test_dashboards_template_the_datasource():
    for uid, board in obs.dashboards().items():
        assert board["uid"] == uid
        assert board["templating"]["list"][0] == {
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
        }
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"][0]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


@pytest.mark.parametrize(
    ("expr", "metrics"),
    [
        ('sum by (host, state) (pg_stat_activity_count{host=~"$host"})', ["pg_stat_activity_count"]),
        (
            '(time() - max by (environment) (a_ts{environment=~"$environment"})) / on (environment) max by '
            "(environment) (b_threshold)",
            ["a_ts", "b_threshold"],
        ),
        ('increase(redis_evicted_keys_total{host=~"$host"}[5m])', ["redis_evicted_keys_total"]),
        ('count by (alertname) (ALERTS{alertstate="firing"})', ["ALERTS"]),
    ],
)
def test_query_metrics(expr, metrics):
    assert obs.query_metrics(expr) == metrics


def test_k8s_objects_only_rules_without_kubernetes_environments():
    objects = obs.k8s_objects(PLAN)
    assert [o["kind"] for o in objects] == ["PrometheusRule"]
    assert objects[0]["spec"] == obs.alert_rules(PLAN)


def test_role_ships_the_same_postgres_query_as_the_engine():
    role_file = ROOT / "roles" / "observability" / "files" / "postgres_exporter_queries.yml"
    text = role_file.read_text()
    assert text.endswith(obs.QUERIES_YAML)
    assert yaml.safe_load(text) == yaml.safe_load(obs.QUERIES_YAML)


def test_role_argument_specs_equal_its_defaults():
    defaults = yaml.safe_load((ROOT / "roles" / "observability" / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROOT / "roles" / "observability" / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(defaults)
    assert {k: v["default"] for k, v in options.items()} == defaults


def test_excluded_hosts_are_neither_scraped_nor_alerted_on():
    options = {"exclude_hosts": ["docker-erp"]}
    config = obs.prometheus_config(PLAN, {}, options)
    scraped = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert not any(t.startswith("docker-erp:") for t in scraped)
    assert "pg-erp:9187" in scraped
    hosts = {r["labels"].get("host") for g in obs.alert_rules(PLAN, options)["groups"] for r in g["rules"]}
    assert "docker-erp" not in hosts


def _plan_with_standby():
    hosts = {
        "erp": _env("finance", "pg-erp", "redis-erp", "docker-erp", "erp.example.test"),
        "pg-erp": {"odoo_platform_pg_memory": "4GiB", "odoo_platform_pg_cpus": 2},
        "pg-erp-standby": {
            "odoo_platform_pg_memory": "4GiB",
            "odoo_platform_pg_cpus": 2,
            "odoo_platform_pg_standby_of": "pg-erp",
        },
    }
    groups = {
        "environments": ["erp"],
        "tier_mission_critical": ["erp"],
        "tier_regional": [],
        "tier_standard": [],
        "tenancy_dedicated": ["erp"],
        "tenancy_shared": [],
        "postgres_servers": ["pg-erp", "pg-erp-standby"],
        "redis_servers": ["redis-erp"],
        "container_hosts": ["docker-erp"],
    }
    return estate_plan.build_plan(hosts, groups)


def test_a_standby_is_scraped_with_its_primary_tenants_and_watched_from_its_primary():
    plan = _plan_with_standby()
    config = obs.prometheus_config(plan, {})
    standby = next(sc for sc in _job(config, "postgres")["static_configs"] if sc["targets"] == ["pg-erp-standby:9187"])
    assert standby["labels"]["role"] == "standby"
    assert standby["labels"]["primary"] == "pg-erp"
    assert standby["labels"]["environment"] == "erp"
    assert "pg-erp-standby:9100" in _job(config, "node")["static_configs"][-1]["targets"] + [
        t for sc in _job(config, "node")["static_configs"] for t in sc["targets"]
    ]
    rules = obs.alert_rules(plan)
    on_standby = sorted(
        r["alert"] for g in rules["groups"] for r in g["rules"] if r.get("labels", {}).get("host") == "pg-erp-standby"
    )
    # Archiving and replay lag are read on the primary; the standby is watched for being up and full.
    assert on_standby == [
        "OdooPlatformExporterDown",
        "OdooPlatformHostDiskFull",
        "OdooPlatformPostgresConnectionsHigh",
        "OdooPlatformPostgresDown",
    ]


def test_a_monitoring_host_is_scraped_once():
    extra = _job(obs.prometheus_config(PLAN, {}, {"monitoring_hosts": ["mon-1", "docker-erp"]}), "node")
    targets = [t for sc in extra["static_configs"] for t in sc["targets"]]
    # docker-erp already is a target with erp's labels; mon-1 is added with the platform's.
    assert targets.count("docker-erp:9100") == 1
    mon = next(sc for sc in extra["static_configs"] if sc["targets"] == ["mon-1:9100"])
    assert (mon["labels"]["environment"], mon["labels"]["role"], mon["labels"]["tier"]) == (
        "platform",
        "monitoring",
        "mission_critical",
    )
