# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Observability of the estate: Prometheus scrape config, tier-driven alert rules, Alertmanager routes,
blackbox modules, Grafana dashboards and Prometheus-operator objects, all from the estate plan.

Pure Python, no Ansible imports (Python 3.8+). Deterministic: the same plan and options give the same
output, key order included (docs/observability.md).

Every threshold that depends on recovery promises comes from the environment's tier policy
(``plan.environments[<env>].policy.settings``, tier_policy.py); a server shared by tenants of several
tiers follows the strictest of them, as the plan does for its WAL archiving and standby.

Metric sources (what the lab scrapes for real, Debian 12 packages):
- node_exporter 1.5: ``node_filesystem_avail_bytes``, ``node_filesystem_size_bytes``, textfile collector
  (``--collector.textfile.directory``, Debian default ``/var/lib/prometheus/node-exporter``);
- postgres_exporter 0.11: ``pg_up``, ``pg_stat_activity_count``, ``pg_settings_max_connections``,
  ``pg_stat_archiver_failed_count``, ``pg_stat_archiver_last_archive_age`` (seconds), plus the
  ``odoo_platform_pg_replication`` custom query shipped by the role (``QUERIES_YAML``);
- redis_exporter 1.45: ``redis_up``, ``redis_evicted_keys_total``, ``redis_commands_rejected_calls_total``,
  ``redis_memory_used_bytes``, ``redis_memory_max_bytes``;
- blackbox_exporter 0.23: ``probe_success``, ``probe_ssl_earliest_cert_expiry``, ``probe_http_status_code``;
- the backup role's textfile metrics (``BACKUP_METRICS``; the contract is in docs/observability.md).
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

TIER_ORDER = ("mission_critical", "regional", "standard")
DAY = 86400

# The contract with the backup role (docs/observability.md): one file per environment in the
# textfile collector directory of the host that runs the backup, written atomically (tmp + rename).
TEXTFILE_DIRECTORY = "/var/lib/prometheus/node-exporter"
TEXTFILE_NAME = "odoo_platform_backup_{environment}.prom"
BACKUP_METRICS: dict[str, str] = {
    "odoo_platform_backup_last_success_timestamp_seconds": (
        "Unix time at which the newest verified backup set of the environment finished (manifest checksums checked)."
    ),
    "odoo_platform_backup_last_size_bytes": "Size in bytes of the newest verified backup set (database + filestore).",
    "odoo_platform_backup_last_duration_seconds": "Wall time in seconds of the run that produced the newest set.",
    "odoo_platform_backup_last_run_timestamp_seconds": "Unix time at which the last backup run ended, failed or not.",
    "odoo_platform_backup_last_run_success": "1 if the last backup run produced a verified set, 0 if it failed.",
    "odoo_platform_drill_last_run_timestamp_seconds": "Unix time at which the last restore drill ended, failed or not.",
    "odoo_platform_drill_last_success_timestamp_seconds": "Unix time at which the last successful restore drill ended.",
    "odoo_platform_drill_last_success": "1 if the last restore drill restored and verified the set, 0 if it failed.",
    "odoo_platform_drill_last_rto_seconds": "Measured recovery time of the last successful drill, in seconds.",
}
BACKUP_LABELS = ("environment", "tenant", "tier")
# Recording rules that publish each environment's policy as series, for dashboards ("backup age vs RPO").
POLICY_METRICS: dict[str, str] = {
    "odoo_platform_policy_rpo_seconds": "rpo_seconds",
    "odoo_platform_policy_rto_seconds": "rto_seconds",
    "odoo_platform_policy_backup_age_threshold_seconds": "alert_backup_age_seconds",
    "odoo_platform_policy_drill_every_seconds": "restore_drill_every_seconds",
}

DEFAULT_OPTIONS: dict[str, Any] = {
    "scrape_interval": "30s",
    "evaluation_interval": "30s",
    "scrape_timeout": "10s",
    "node_exporter_port": 9100,
    "postgres_exporter_port": 9187,
    "redis_exporter_port": 9121,
    "traefik_metrics_port": 8082,
    "traefik_metrics_path": "/metrics",
    "blackbox_address": "127.0.0.1:9115",
    "alertmanager_address": "127.0.0.1:9093",
    "probe_scheme": "https",
    "probe_insecure_tls": False,
    "monitoring_hosts": [],
    "exclude_hosts": [],
    "rule_files": ["/etc/prometheus/rules/*.yml"],
    "runbook_base_url": "https://git.sysgenpro.example/platform/odoo_platform/-/blob/main/docs/runbooks",
    "receivers": {},
    "business_hours": {"weekdays": ["monday:friday"], "start": "08:00", "end": "18:00", "location": "UTC"},
    "external_labels": {"monitor": "odoo-platform"},
    "connections_ratio": 0.85,
    "disk_ratio": 0.85,
    "redis_memory_ratio": 0.85,
    "cert_expiry_days": 14,
    "drill_margin_seconds": DAY,
    "replication_lag_default_seconds": 300,
}
_DURATION = re.compile(r"^\d+(ms|s|m|h|d)$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:/@-]*$")

# (alert name, summary) - the runbook of each is docs/runbooks/<name>.md.
ALERTS: dict[str, str] = {
    "OdooPlatformBackupTooOld": "Newest verified backup of {{ $labels.environment }} is older than its tier allows",
    "OdooPlatformWalArchivingFailing": "WAL archiving fails on {{ $labels.host }}",
    "OdooPlatformWalArchiveLagging": "Last WAL segment archived on {{ $labels.host }} is too old for the RPO",
    "OdooPlatformRestoreDrillFailed": "Last restore drill of {{ $labels.environment }} failed",
    "OdooPlatformRestoreDrillOverdue": "No successful restore drill of {{ $labels.environment }} within its cadence",
    "OdooPlatformRestoreDrillRtoExceeded": "Last restore drill of {{ $labels.environment }} took longer than its RTO",
    "OdooPlatformPostgresDown": "PostgreSQL on {{ $labels.host }} is down",
    "OdooPlatformPostgresConnectionsHigh": "Connections on {{ $labels.host }} above the budget threshold",
    "OdooPlatformPostgresReplicationLag": "Standby of {{ $labels.host }} lags behind",
    "OdooPlatformRedisDown": "Redis on {{ $labels.host }} is down",
    "OdooPlatformRedisSessionsEvicting": "Redis sessions instance on {{ $labels.host }} evicts keys (users logged out)",
    "OdooPlatformRedisSessionsRejectingWrites": "Redis sessions instance on {{ $labels.host }} rejects commands",
    "OdooPlatformRedisSessionsMemoryHigh": "Redis sessions instance on {{ $labels.host }} is near maxmemory",
    "OdooPlatformOdooDown": "Odoo {{ $labels.environment }} answers no probe from outside",
    "OdooPlatformOdooHealthCheckFailing": "Odoo {{ $labels.environment }} health check fails from outside",
    "OdooPlatformCertificateExpiringSoon": "TLS certificate of {{ $labels.environment }} expires soon",
    "OdooPlatformHostDiskFull": "Filesystem {{ $labels.mountpoint }} on {{ $labels.host }} is filling up",
    "OdooPlatformExporterDown": "Exporter {{ $labels.job }} on {{ $labels.host }} cannot be scraped",
}

# The custom postgres_exporter query (--extend.query-path): replay lag of every standby, read on the primary.
QUERIES_YAML = """\
odoo_platform_pg_replication:
  query: >-
    SELECT application_name,
           COALESCE(EXTRACT(EPOCH FROM replay_lag), 0) AS replay_lag_seconds,
           COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0) AS replay_lag_bytes
    FROM pg_stat_replication
  master: true
  metrics:
    - application_name:
        usage: LABEL
        description: Name of the standby (its primary_conninfo application_name).
    - replay_lag_seconds:
        usage: GAUGE
        description: Time between a commit on the primary and its replay on the standby, in seconds.
    - replay_lag_bytes:
        usage: GAUGE
        description: WAL bytes the standby has not replayed yet.
"""


class ObservabilityError(ValueError):
    """A bad input, with the value and what would be accepted."""

    def __init__(self, key: str, value: Any, problem: str, accepted: str) -> None:
        super().__init__(f"{key}={value!r}: {problem}; accepted: {accepted}")
        self.key = key
        self.value = value


def read_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options merged over DEFAULT_OPTIONS; unknown keys and bad durations are refused."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ObservabilityError("options", unknown[0], "unknown option", ", ".join(sorted(DEFAULT_OPTIONS)))
    merged = dict(DEFAULT_OPTIONS)
    merged.update(options)
    for key in ("scrape_interval", "evaluation_interval", "scrape_timeout"):
        if not _DURATION.match(str(merged[key])):
            raise ObservabilityError(key, merged[key], "not a Prometheus duration", "for example 15s, 1m")
    if merged["probe_scheme"] not in ("http", "https"):
        raise ObservabilityError("probe_scheme", merged["probe_scheme"], "unknown scheme", "http, https")
    for key in ("connections_ratio", "disk_ratio", "redis_memory_ratio"):
        if not 0 < float(merged[key]) < 1:
            raise ObservabilityError(key, merged[key], "must be a ratio between 0 and 1", "for example 0.85")
    return merged


def _strictest(tiers: Sequence[str]) -> str:
    return min(tiers, key=TIER_ORDER.index) if tiers else "standard"


def _label(value: Any) -> str:
    text = str(value if value is not None else "")
    if not _LABEL_VALUE.match(text):
        raise ObservabilityError("label value", text, "contains characters kept out of labels", "[A-Za-z0-9_.:/@-]")
    return text


def _hosts_of(plan: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every infrastructure host of the plan and the environments that use it."""
    users: dict[str, set[str]] = {}
    for name, env in plan["environments"].items():
        for key in ("postgres_server", "redis_server", "runtime_host"):
            host = env.get(key) if key != "redis_server" else (env.get("redis") or {}).get("server")
            if host and (key != "runtime_host" or env.get("runtime") == "docker"):
                users.setdefault(host, set()).add(name)
    # A streaming standby (plan postgres_servers[<name>].role == "standby") serves its primary's tenants.
    for name, server in (plan.get("postgres_servers") or {}).items():
        primary = server.get("standby_of")
        if server.get("role") == "standby" and primary in users:
            users.setdefault(name, set()).update(users[primary])
    return {host: sorted(envs) for host, envs in sorted(users.items())}


def _group_labels(plan: Mapping[str, Any], envs: Sequence[str]) -> dict[str, str]:
    """Labels of a host or server used by ``envs``: the environment and tenant when it has one tenant,
    ``shared`` otherwise (the ``environments`` label then lists them); the strictest tier among them."""
    records = [plan["environments"][e] for e in envs]
    single = len(records) == 1
    tenancies = {r.get("tenancy") or "shared" for r in records}
    return {
        "environment": _label(records[0]["environment"]) if single else "shared",
        "tenant": _label(records[0]["tenant"]) if single else "shared",
        "tier": _strictest([r["tier"] for r in records]),
        "tenancy": tenancies.pop() if len(tenancies) == 1 else "shared",
        "environments": ",".join(_label(e) for e in envs),
    }


def _policy_of(plan: Mapping[str, Any], envs: Sequence[str]) -> dict[str, Any]:
    """The policy of the strictest tier among ``envs`` (first such environment in name order)."""
    records = [plan["environments"][e] for e in sorted(envs)]
    tier = _strictest([r["tier"] for r in records])
    return next(dict(r["policy"]["settings"]) for r in records if r["tier"] == tier)


def _address(addresses: Mapping[str, str], host: str, port: int) -> str:
    return f"{addresses.get(host) or host}:{int(port)}"


def scrape_configs(
    plan: Mapping[str, Any], addresses: Mapping[str, str], options: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Prometheus ``scrape_configs``: node, postgres, redis, traefik and blackbox jobs with estate labels."""
    opts = read_options(options)
    hosts = _hosts_of(plan)
    pg_servers = sorted(plan.get("postgres_servers") or {})
    redis_servers = sorted(plan.get("redis_servers") or {})
    container_hosts = sorted(
        {
            e["runtime_host"]
            for e in plan["environments"].values()
            if e.get("runtime") == "docker" and e.get("runtime_host")
        }
    )

    def static(host: str, port: int, role: str, users: Sequence[str]) -> dict[str, Any]:
        labels = dict(_group_labels(plan, users), host=_label(host), role=role)
        return {"targets": [_address(addresses, host, port)], "labels": dict(sorted(labels.items()))}

    excluded = {str(h) for h in opts["exclude_hosts"]}
    node_targets = [static(h, opts["node_exporter_port"], "server", hosts[h]) for h in hosts if h not in excluded]
    for host in sorted(str(h) for h in opts["monitoring_hosts"] if str(h) not in hosts):
        labels = {
            "environment": "platform",
            "environments": "",
            "host": _label(host),
            "role": "monitoring",
            "tenancy": "shared",
            "tenant": "platform",
            "tier": _strictest([e["tier"] for e in plan["environments"].values()]),
        }
        node_targets.append({"targets": [_address(addresses, host, opts["node_exporter_port"])], "labels": labels})
    pg_targets = []
    for name in pg_servers:
        server = plan["postgres_servers"][name]
        target = static(name, opts["postgres_exporter_port"], server.get("role") or "primary", hosts[name])
        if server.get("role") == "standby":
            target["labels"] = dict(sorted(dict(target["labels"], primary=_label(server["standby_of"])).items()))
        pg_targets.append(target)
    jobs: list[dict[str, Any]] = [
        # honor_labels: the backup role's textfile series carry their own environment/tenant/tier.
        {"job_name": "node", "honor_labels": True, "static_configs": node_targets},
        {"job_name": "postgres", "static_configs": pg_targets},
        {
            "job_name": "redis",
            "static_configs": [static(s, opts["redis_exporter_port"], "sessions", hosts[s]) for s in redis_servers],
        },
        {
            "job_name": "traefik",
            "metrics_path": opts["traefik_metrics_path"],
            "static_configs": [
                static(h, opts["traefik_metrics_port"], "ingress", hosts[h])
                for h in container_hosts
                if h not in excluded
            ],
        },
    ]
    jobs.extend(_blackbox_jobs(plan, opts))
    return [job for job in jobs if job["static_configs"]]


def _blackbox_jobs(plan: Mapping[str, Any], opts: Mapping[str, Any]) -> list[dict[str, Any]]:
    jobs = []
    for probe, path, module in (("health", "/web/health", "odoo_health"), ("login", "/web/login", "odoo_login")):
        targets = []
        for name, env in plan["environments"].items():
            if env.get("lifecycle", "active") != "active":
                continue
            labels = {
                "environment": _label(name),
                "tenant": _label(env["tenant"]),
                "tier": env["tier"],
                "tenancy": env.get("tenancy") or "shared",
                "probe": probe,
            }
            urls = [f"{opts['probe_scheme']}://{h}{path}" for h in env.get("hostnames") or []]
            if urls:
                targets.append({"targets": urls, "labels": labels})
        jobs.append(
            {
                "job_name": f"blackbox_{probe}",
                "metrics_path": "/probe",
                "params": {"module": [module]},
                "static_configs": targets,
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": opts["blackbox_address"]},
                ],
            }
        )
    return jobs


def prometheus_config(
    plan: Mapping[str, Any], addresses: Mapping[str, str], options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The whole ``prometheus.yml`` as data."""
    opts = read_options(options)
    return {
        "global": {
            "scrape_interval": opts["scrape_interval"],
            "scrape_timeout": opts["scrape_timeout"],
            "evaluation_interval": opts["evaluation_interval"],
            "external_labels": dict(sorted(opts["external_labels"].items())),
        },
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [opts["alertmanager_address"]]}]}]},
        "rule_files": list(opts["rule_files"]),
        "scrape_configs": scrape_configs(plan, addresses, opts),
    }


def blackbox_config(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """blackbox_exporter modules for the Odoo probes: /web/health must answer 200, /web/login 200 with a form."""
    opts = read_options(options)
    tls = {"insecure_skip_verify": bool(opts["probe_insecure_tls"])}
    base = {
        "preferred_ip_protocol": "ip4",
        "valid_status_codes": [200],
        "follow_redirects": False,
        "fail_if_not_ssl": opts["probe_scheme"] == "https",
        "tls_config": tls,
    }
    return {
        "modules": {
            "odoo_health": {"prober": "http", "timeout": "5s", "http": dict(base)},
            # The login page renders from the database: it proves more of the stack than /web/health.
            "odoo_login": {
                "prober": "http",
                "timeout": "10s",
                "http": dict(base, fail_if_body_not_matches_regexp=["(?i)password"]),
            },
        }
    }


def _alert(
    name: str,
    expr: str,
    context: tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]],
    description: str,
    *,
    for_: str | None = None,
) -> dict[str, Any]:
    """One alerting rule; ``context`` is (labels, policy, options): severity and route come from the policy."""
    labels, policy, opts = context
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = dict(
        sorted(
            dict(
                {k: v for k, v in labels.items() if k != "environments"},
                severity=policy["alert_severity"],
                route=policy["alert_route"],
            ).items()
        )
    )
    # $labels in a template are the expression's output labels, which aggregations drop: name the environment
    # and host from the rule's own labels instead.
    summary = ALERTS[name]
    for key in ("environment", "host"):
        if key in rule["labels"]:
            summary = summary.replace(f"{{{{ $labels.{key} }}}}", rule["labels"][key])
    rule["annotations"] = {
        "summary": summary,
        "description": description,
        "runbook_url": f"{str(opts['runbook_base_url']).rstrip('/')}/{name}.md",
    }
    return rule


def _env_labels(env: Mapping[str, Any]) -> dict[str, str]:
    return {
        "environment": _label(env["environment"]),
        "tenant": _label(env["tenant"]),
        "tier": env["tier"],
        "tenancy": env.get("tenancy") or "shared",
    }


def _sel(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _env_rules(env: Mapping[str, Any], opts: Mapping[str, Any]) -> list[dict[str, Any]]:
    policy = env["policy"]["settings"]
    labels = _env_labels(env)
    sel = _sel(environment=labels["environment"])
    age = int(policy["alert_backup_age_seconds"])
    drill_every = int(policy["restore_drill_every_days"]) * DAY
    drill_limit = drill_every + int(opts["drill_margin_seconds"])
    rto = int(policy["rto_seconds"])
    rules = [
        _alert(
            "OdooPlatformBackupTooOld",
            f"(time() - max(odoo_platform_backup_last_success_timestamp_seconds{sel})) > {age}"
            f" or absent(odoo_platform_backup_last_success_timestamp_seconds{sel})",
            (labels, policy, opts),
            f"The newest verified backup set is older than {age} s (tier {env['tier']}: full backup every "
            f"{policy['full_backup_interval_hours']} h + 2 h; RPO {policy['rpo_seconds']} s), or none was ever "
            "recorded.",
        ),
        _alert(
            "OdooPlatformRestoreDrillFailed",
            f"max(odoo_platform_drill_last_success{sel}) == 0",
            (labels, policy, opts),
            f"The last {policy['restore_drill_kind']} drill did not restore and verify the set.",
        ),
        _alert(
            "OdooPlatformRestoreDrillOverdue",
            f"(time() - max(odoo_platform_drill_last_success_timestamp_seconds{sel})) > {drill_limit}"
            f" or absent(odoo_platform_drill_last_success_timestamp_seconds{sel})",
            (labels, policy, opts),
            f"Tier {env['tier']} drills every {policy['restore_drill_every_days']} days; no successful drill for "
            f"{drill_limit} s (cadence + {int(opts['drill_margin_seconds'])} s to run it).",
        ),
        _alert(
            "OdooPlatformRestoreDrillRtoExceeded",
            f"max(odoo_platform_drill_last_rto_seconds{sel}) > {rto}",
            (labels, policy, opts),
            f"The last drill measured an RTO of {{{{ $value }}}} s; tier {env['tier']} promises {rto} s.",
        ),
    ]
    if env.get("hostnames") and env.get("lifecycle", "active") == "active":
        cert_days = int(opts["cert_expiry_days"])
        rules += [
            _alert(
                "OdooPlatformOdooDown",
                f"max(probe_success{sel}) == 0",
                (labels, policy, opts),
                "Neither /web/health nor /web/login answers through Traefik: users cannot work.",
                for_="2m",
            ),
            _alert(
                "OdooPlatformOdooHealthCheckFailing",
                f"min(probe_success{_sel(environment=labels['environment'], probe='health')}) == 0",
                (labels, policy, opts),
                "GET /web/health through Traefik does not answer 200.",
                for_="5m",
            ),
            _alert(
                "OdooPlatformCertificateExpiringSoon",
                f"(min(probe_ssl_earliest_cert_expiry{sel}) - time()) < {cert_days * DAY}",
                (labels, policy, opts),
                f"The certificate served for the environment expires in {{{{ $value | humanizeDuration }}}}"
                f" (threshold {cert_days} days).",
                for_="10m",
            ),
        ]
    return rules


def _server_rules(
    plan: Mapping[str, Any], hosts: Mapping[str, list[str]], opts: Mapping[str, Any]
) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    ratio = float(opts["connections_ratio"])
    for server in sorted(plan.get("postgres_servers") or {}):
        labels = _group_labels(plan, hosts[server])
        labels["host"] = _label(server)
        policy = _policy_of(plan, hosts[server])
        sel = _sel(host=labels["host"])
        rules += [
            _alert(
                "OdooPlatformPostgresDown",
                f"max(pg_up{sel}) == 0 or max(up{_sel(job='postgres', host=labels['host'])}) == 0",
                (labels, policy, opts),
                f"postgres_exporter cannot reach PostgreSQL, or is down; environments: {labels['environments']}.",
                for_="1m",
            ),
            _alert(
                "OdooPlatformPostgresConnectionsHigh",
                f"sum(pg_stat_activity_count{sel}) / max(pg_settings_max_connections{sel}) > {ratio}",
                (labels, policy, opts),
                f"Connections use {{{{ $value | humanizePercentage }}}} of max_connections (threshold {ratio:.0%}); "
                "the plan sized max_connections from the Odoo connection budget (docs/plan.md).",
                for_="5m",
            ),
        ]
        if plan["postgres_servers"][server].get("role") == "standby":
            continue  # WAL archiving and replication lag are watched on the primary
        lags = [
            plan["environments"][e]["policy"]["settings"].get("alert_wal_archive_lag_seconds") for e in hosts[server]
        ]
        lags = [int(x) for x in lags if x]
        if lags:
            lag = min(lags)
            rules += [
                _alert(
                    "OdooPlatformWalArchivingFailing",
                    f"increase(pg_stat_archiver_failed_count{sel}[10m]) > 0",
                    (labels, policy, opts),
                    "archive_command failed in the last 10 minutes: point-in-time recovery is at risk.",
                ),
                _alert(
                    "OdooPlatformWalArchiveLagging",
                    f"max(pg_stat_archiver_last_archive_age{sel}) > {lag}",
                    (labels, policy, opts),
                    f"The last WAL segment was archived {{{{ $value | humanizeDuration }}}} ago; the threshold {lag} s "
                    f"is half the RPO ({policy['rpo_seconds']} s).",
                ),
            ]
        if policy.get("standby", "none") != "none":
            lag = min(lags) if lags else int(opts["replication_lag_default_seconds"])
            rules.append(
                _alert(
                    "OdooPlatformPostgresReplicationLag",
                    f"max(odoo_platform_pg_replication_replay_lag_seconds{sel}) > {lag}",
                    (labels, policy, opts),
                    f"A standby replays {{{{ $value | humanizeDuration }}}} behind the primary (threshold {lag} s): "
                    "a failover now would lose more than the RPO allows.",
                    for_="5m",
                )
            )
    mem = float(opts["redis_memory_ratio"])
    for server in sorted(plan.get("redis_servers") or {}):
        labels = _group_labels(plan, hosts[server])
        labels["host"] = _label(server)
        policy = _policy_of(plan, hosts[server])
        sel = _sel(host=labels["host"])
        rules += [
            _alert(
                "OdooPlatformRedisDown",
                f"max(redis_up{sel}) == 0 or max(up{_sel(job='redis', host=labels['host'])}) == 0",
                (labels, policy, opts),
                f"The sessions instance does not answer: logins fail for {labels['environments']}.",
                for_="1m",
            ),
            _alert(
                "OdooPlatformRedisSessionsEvicting",
                f"increase(redis_evicted_keys_total{sel}[5m]) > 0",
                (labels, policy, opts),
                "Keys were evicted from the sessions instance: users are logged out at random (FIELD_CASES F09).",
            ),
            _alert(
                "OdooPlatformRedisSessionsRejectingWrites",
                f"sum(increase(redis_commands_rejected_calls_total{sel}[5m])) > 0",
                (labels, policy, opts),
                "Commands were rejected (OOM at maxmemory with noeviction, or ACL denials): session writes fail.",
            ),
            _alert(
                "OdooPlatformRedisSessionsMemoryHigh",
                f"max(redis_memory_used_bytes{sel}) / max(redis_memory_max_bytes{sel} > 0) > {mem}",
                (labels, policy, opts),
                f"used_memory is {{{{ $value | humanizePercentage }}}} of maxmemory (threshold {mem:.0%}); at 100 % "
                "session writes are refused.",
                for_="10m",
            ),
        ]
    return rules


def _host_rules(
    plan: Mapping[str, Any], hosts: Mapping[str, list[str]], opts: Mapping[str, Any]
) -> list[dict[str, Any]]:
    rules = []
    disk = float(opts["disk_ratio"])
    excluded = {str(h) for h in opts["exclude_hosts"]}
    for host, users in hosts.items():
        if host in excluded:
            continue
        labels = dict(_group_labels(plan, users), host=_label(host))
        policy = _policy_of(plan, users)
        fs = f'host="{labels["host"]}",fstype!~"tmpfs|overlay|squashfs|nsfs",mountpoint!~"/etc/.*"'
        rules += [
            _alert(
                "OdooPlatformHostDiskFull",
                f"1 - (node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}}) > {disk}",
                (labels, policy, opts),
                f"The filesystem is {{{{ $value | humanizePercentage }}}} full (threshold {disk:.0%}).",
                for_="10m",
            ),
            _alert(
                "OdooPlatformExporterDown",
                f'up{{host="{labels["host"]}",job=~"node|traefik"}} == 0',
                (labels, policy, opts),
                "Prometheus cannot scrape this exporter: its alerts are blind.",
                for_="5m",
            ),
        ]
    return rules


def _policy_records(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    records = []
    for name, env in plan["environments"].items():
        policy = dict(env["policy"]["settings"])
        policy["restore_drill_every_seconds"] = int(policy["restore_drill_every_days"]) * DAY
        for metric, key in POLICY_METRICS.items():
            records.append(
                {
                    "record": metric,
                    "expr": f"vector({int(policy[key])})",
                    "labels": _env_labels(dict(env, environment=name)),
                }
            )
    return records


def alert_rules(plan: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Prometheus rule file (``groups``): policy records, per-environment, per-server and per-host alerts."""
    opts = read_options(options)
    hosts = _hosts_of(plan)
    groups = [{"name": "odoo_platform_policy", "rules": _policy_records(plan)}]
    for name, env in plan["environments"].items():
        groups.append(
            {"name": f"odoo_platform_environment_{name}", "rules": _env_rules(dict(env, environment=name), opts)}
        )
    groups.append({"name": "odoo_platform_servers", "rules": _server_rules(plan, hosts, opts)})
    groups.append({"name": "odoo_platform_hosts", "rules": _host_rules(plan, hosts, opts)})
    return {"groups": [g for g in groups if g["rules"]]}


def alert_names(rules: Mapping[str, Any]) -> list[str]:
    """The distinct alert names of a rule file, sorted."""
    return sorted({r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r})


def alertmanager_config(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Alertmanager routes per tier policy route: ``pager`` pages, ``pager_business_hours`` pages in business
    hours and always opens a ticket, ``ticket`` opens a ticket. Receivers come from ``options.receivers``."""
    opts = read_options(options)
    receivers = dict(opts["receivers"] or {})
    unknown = sorted(set(receivers) - {"pager", "ticket"})
    if unknown:
        raise ObservabilityError("receivers", unknown[0], "unknown receiver", "pager, ticket")
    hours = dict(DEFAULT_OPTIONS["business_hours"], **(opts["business_hours"] or {}))
    interval: dict[str, Any] = {
        "weekdays": list(hours["weekdays"]),
        "times": [{"start_time": hours["start"], "end_time": hours["end"]}],
    }
    if hours.get("location") and hours["location"] != "UTC":
        interval["location"] = hours["location"]
    return {
        "route": {
            "receiver": "ticket",
            "group_by": ["alertname", "environment", "host"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "24h",
            "routes": [
                {"matchers": ['route="pager"'], "receiver": "pager", "repeat_interval": "1h"},
                {
                    "matchers": ['route="pager_business_hours"'],
                    "receiver": "pager",
                    "repeat_interval": "4h",
                    "active_time_intervals": ["business_hours"],
                    "continue": True,
                },
                {"matchers": ['route=~"pager_business_hours|ticket"'], "receiver": "ticket"},
            ],
        },
        # A down service makes its dependent checks fail too: page once, for the cause.
        "inhibit_rules": [
            {
                "source_matchers": ['alertname="OdooPlatformOdooDown"'],
                "target_matchers": ['alertname="OdooPlatformOdooHealthCheckFailing"'],
                "equal": ["environment"],
            },
            {
                "source_matchers": ['alertname="OdooPlatformPostgresDown"'],
                "target_matchers": ['alertname=~"OdooPlatformPostgres.+|OdooPlatformWal.+"'],
                "equal": ["host"],
            },
            {
                "source_matchers": ['alertname="OdooPlatformRedisDown"'],
                "target_matchers": ['alertname=~"OdooPlatformRedisSessions.+"'],
                "equal": ["host"],
            },
        ],
        "time_intervals": [{"name": "business_hours", "time_intervals": [interval]}],
        "receivers": [dict({"name": name}, **dict(receivers.get(name) or {})) for name in ("pager", "ticket")],
    }


def textfile_metrics(environment: str, tenant: str, tier: str, values: Mapping[str, Any]) -> str:
    """The textfile-collector file for one environment (the backup role's contract): HELP/TYPE lines and one
    sample per given metric, sorted. ``values`` maps metric names of BACKUP_METRICS to numbers."""
    unknown = sorted(set(values) - set(BACKUP_METRICS))
    if unknown:
        raise ObservabilityError("values", unknown[0], "not a backup metric", ", ".join(sorted(BACKUP_METRICS)))
    labels = _sel(environment=_label(environment), tenant=_label(tenant), tier=_label(tier))
    lines = []
    for metric in sorted(values):
        value = values[metric]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ObservabilityError(metric, value, "not a number", "an int or float")
        lines += [f"# HELP {metric} {BACKUP_METRICS[metric]}", f"# TYPE {metric} gauge", f"{metric}{labels} {value}"]
    return "\n".join(lines) + "\n"


# Grafana dashboards: (title, unit, query) per panel; ``$environment`` and ``$host`` are template variables.
_DASHBOARDS: dict[str, dict[str, Any]] = {
    "odoo-platform-estate": {
        "title": "Odoo platform - estate overview",
        "variables": {"environment": "label_values(odoo_platform_policy_rpo_seconds, environment)"},
        "panels": [
            (
                "Odoo health from outside (1 = up)",
                "none",
                'min by (environment) (probe_success{environment=~"$environment"})',
            ),
            (
                "Backup age / tier threshold (> 1 alerts)",
                "percentunit",
                "(time() - max by (environment) "
                '(odoo_platform_backup_last_success_timestamp_seconds{environment=~"$environment"})) '
                "/ on (environment) max by (environment) "
                '(odoo_platform_policy_backup_age_threshold_seconds{environment=~"$environment"})',
            ),
            (
                "Newest verified backup age",
                "s",
                "time() - max by (environment) "
                '(odoo_platform_backup_last_success_timestamp_seconds{environment=~"$environment"})',
            ),
            (
                "Newest verified backup size",
                "bytes",
                'max by (environment) (odoo_platform_backup_last_size_bytes{environment=~"$environment"})',
            ),
            (
                "Last restore drill (1 = verified)",
                "none",
                'max by (environment) (odoo_platform_drill_last_success{environment=~"$environment"})',
            ),
            (
                "Drill RTO / tier RTO",
                "percentunit",
                'max by (environment) (odoo_platform_drill_last_rto_seconds{environment=~"$environment"}) '
                "/ on (environment) max by (environment) "
                '(odoo_platform_policy_rto_seconds{environment=~"$environment"})',
            ),
            (
                "PostgreSQL connections / max_connections",
                "percentunit",
                "sum by (host) (pg_stat_activity_count) / max by (host) (pg_settings_max_connections)",
            ),
            ("Firing alerts", "none", 'count by (alertname, environment) (ALERTS{alertstate="firing"})'),
        ],
    },
    "odoo-platform-postgres": {
        "title": "Odoo platform - PostgreSQL",
        "variables": {"host": "label_values(pg_up, host)"},
        "panels": [
            ("PostgreSQL up", "none", 'pg_up{host=~"$host"}'),
            ("Connections by state", "none", 'sum by (host, state) (pg_stat_activity_count{host=~"$host"})'),
            ("max_connections", "none", 'pg_settings_max_connections{host=~"$host"}'),
            ("Database size", "bytes", 'pg_database_size_bytes{host=~"$host"}'),
            ("WAL archive failures (10m)", "none", 'increase(pg_stat_archiver_failed_count{host=~"$host"}[10m])'),
            ("Last WAL archive age", "s", 'pg_stat_archiver_last_archive_age{host=~"$host"}'),
            ("Standby replay lag", "s", 'odoo_platform_pg_replication_replay_lag_seconds{host=~"$host"}'),
        ],
    },
    "odoo-platform-redis": {
        "title": "Odoo platform - Redis sessions",
        "variables": {"host": "label_values(redis_up, host)"},
        "panels": [
            ("Redis up", "none", 'redis_up{host=~"$host"}'),
            (
                "Memory used / maxmemory",
                "percentunit",
                'redis_memory_used_bytes{host=~"$host"} / (redis_memory_max_bytes{host=~"$host"} > 0)',
            ),
            ("Evicted keys (5m)", "none", 'increase(redis_evicted_keys_total{host=~"$host"}[5m])'),
            (
                "Rejected commands (5m)",
                "none",
                'sum by (host) (increase(redis_commands_rejected_calls_total{host=~"$host"}[5m]))',
            ),
            ("Connected clients", "none", 'redis_connected_clients{host=~"$host"}'),
        ],
    },
    "odoo-platform-hosts": {
        "title": "Odoo platform - hosts",
        "variables": {"host": "label_values(node_uname_info, host)"},
        "panels": [
            (
                "Filesystem used",
                "percentunit",
                '1 - node_filesystem_avail_bytes{host=~"$host",fstype!~"tmpfs|overlay"} '
                '/ node_filesystem_size_bytes{host=~"$host",fstype!~"tmpfs|overlay"}',
            ),
            ("Load (1m)", "none", 'node_load1{host=~"$host"}'),
            ("Available memory", "bytes", 'node_memory_MemAvailable_bytes{host=~"$host"}'),
            (
                "CPU busy",
                "percentunit",
                '1 - avg by (host) (rate(node_cpu_seconds_total{host=~"$host",mode="idle"}[5m]))',
            ),
            ("Textfile collector errors", "none", 'node_textfile_scrape_error{host=~"$host"}'),
        ],
    },
    "odoo-platform-ingress": {
        "title": "Odoo platform - ingress and probes",
        "variables": {"environment": "label_values(probe_success, environment)"},
        "panels": [
            ("Probe success", "none", 'probe_success{environment=~"$environment"}'),
            ("Probe duration", "s", 'probe_duration_seconds{environment=~"$environment"}'),
            (
                "Certificate expires in",
                "s",
                'probe_ssl_earliest_cert_expiry{environment=~"$environment"} - time()',
            ),
            (
                "Traefik requests per second",
                "reqps",
                "sum by (host, code) (rate(traefik_entrypoint_requests_total[5m]))",
            ),
        ],
    },
}
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Words of PromQL that look like metric names in query_metrics.
_PROMQL_WORDS = frozenset(("by", "on", "without", "group_left", "group_right", "bool", "and", "or", "unless"))


def dashboards() -> dict[str, dict[str, Any]]:
    """Grafana dashboards (uid -> dashboard JSON model) with a templated Prometheus datasource."""
    result = {}
    for uid, spec in _DASHBOARDS.items():
        variables: list[dict[str, Any]] = [
            {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus", "current": {}}
        ]
        for name, query in spec["variables"].items():
            variables.append(
                {
                    "name": name,
                    "type": "query",
                    "datasource": dict(_DATASOURCE),
                    "query": {"query": query, "refId": f"{name}-values"},
                    "definition": query,
                    "includeAll": True,
                    "multi": True,
                    "refresh": 2,
                    "current": {},
                }
            )
        panels = []
        for index, (title, unit, expr) in enumerate(spec["panels"]):
            panels.append(
                {
                    "id": index + 1,
                    "type": "timeseries",
                    "title": title,
                    "datasource": dict(_DATASOURCE),
                    "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
                    "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                    "targets": [
                        {"refId": "A", "datasource": dict(_DATASOURCE), "expr": expr, "legendFormat": "__auto"}
                    ],
                }
            )
        result[uid] = {
            "uid": uid,
            "title": spec["title"],
            "tags": ["odoo-platform"],
            "schemaVersion": 39,
            "version": 1,
            "editable": False,
            "time": {"from": "now-24h", "to": "now"},
            "refresh": "1m",
            "templating": {"list": variables},
            "panels": panels,
        }
    return result


def query_metrics(expr: str) -> list[str]:
    """The metric names a PromQL expression selects (functions, keywords and label names excluded)."""
    without_labels = re.sub(r"\{[^}]*\}", "{}", expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    without_groupings = re.sub(r"\b(by|on|without|group_left|group_right)\s*\([^)]*\)", " ", without_ranges)
    names = set()
    for token in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_groupings):
        word = token.group(0)
        rest = without_groupings[token.end() :].lstrip()
        if word in _PROMQL_WORDS or rest.startswith("("):
            continue
        names.add(word)
    return sorted(names)


def k8s_objects(plan: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Prometheus-operator objects: one PrometheusRule with every rule group, a Probe per Kubernetes
    environment (blackbox), a ServiceMonitor for Traefik and a PodMonitor for Redis exporter sidecars."""
    opts = read_options(options)
    namespace = "monitoring"
    meta_labels = {"app.kubernetes.io/part-of": "odoo-platform", "app.kubernetes.io/managed-by": "ansible"}
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "odoo-platform", "namespace": namespace, "labels": dict(meta_labels)},
            "spec": alert_rules(plan, opts),
        }
    ]
    k8s_envs = {n: e for n, e in plan["environments"].items() if e.get("runtime") == "kubernetes"}
    for name, env in k8s_envs.items():
        labels = _env_labels(dict(env, environment=name))
        for probe, path, module in (("health", "/web/health", "odoo_health"), ("login", "/web/login", "odoo_login")):
            objects.append(
                {
                    "apiVersion": "monitoring.coreos.com/v1",
                    "kind": "Probe",
                    "metadata": {"name": f"odoo-{name}-{probe}", "namespace": namespace, "labels": dict(meta_labels)},
                    "spec": {
                        "jobName": f"blackbox_{probe}",
                        "interval": opts["scrape_interval"],
                        "module": module,
                        "prober": {"url": opts["blackbox_address"], "path": "/probe"},
                        "targets": {
                            "staticConfig": {
                                "static": [f"{opts['probe_scheme']}://{h}{path}" for h in env.get("hostnames") or []],
                                "labels": dict(labels, probe=probe),
                            }
                        },
                    },
                }
            )
    if k8s_envs:
        objects += [
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": {"name": "traefik", "namespace": namespace, "labels": dict(meta_labels)},
                "spec": {
                    "namespaceSelector": {"any": True},
                    "selector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
                    "endpoints": [
                        {"port": "metrics", "path": opts["traefik_metrics_path"], "interval": opts["scrape_interval"]}
                    ],
                },
            },
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PodMonitor",
                "metadata": {"name": "odoo-platform-redis", "namespace": namespace, "labels": dict(meta_labels)},
                "spec": {
                    "namespaceSelector": {"matchNames": sorted(f"odoo-{n}" for n in k8s_envs)},
                    "selector": {"matchLabels": {"app.kubernetes.io/name": "redis"}},
                    "podMetricsEndpoints": [{"port": "metrics", "interval": opts["scrape_interval"]}],
                },
            },
        ]
    return objects
