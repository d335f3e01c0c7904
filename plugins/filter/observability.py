# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the observability role: thin wrappers over module_utils/observability.py.

Documentation: observability_config.yml, observability_k8s_objects.yml, observability_textfile.yml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import observability


def _addresses(plan: Mapping[str, Any], hostvars: Any, options: Mapping[str, Any]) -> dict[str, str]:
    """Where each host to scrape is reached: its ansible_host, else its inventory name."""
    if hostvars is None:
        return {}
    hosts: set[str] = set(plan.get("postgres_servers") or {}) | set(plan.get("redis_servers") or {})
    hosts |= {str(e["runtime_host"]) for e in plan["environments"].values() if e.get("runtime_host")}
    hosts |= {str(h) for h in options.get("monitoring_hosts") or []}
    result = {}
    for host in sorted(hosts):
        if host in hostvars:
            address = hostvars[host].get("ansible_host")
            if isinstance(address, str) and address:
                result[host] = address
    return result


def observability_config(plan: Any, hostvars: Any = None, options: Any = None) -> dict[str, Any]:
    """Every generated file of the monitoring host, as data: prometheus, rules, alertmanager, blackbox, dashboards."""
    if not isinstance(plan, Mapping) or "environments" not in plan:
        raise AnsibleFilterError("observability_config: the input must be the estate plan (estate_plan filter)")
    opts = dict(options or {})
    try:
        rules = observability.alert_rules(plan, opts)
        return {
            "prometheus": observability.prometheus_config(plan, _addresses(plan, hostvars, opts), opts),
            "rules": rules,
            "alert_names": observability.alert_names(rules),
            "alertmanager": observability.alertmanager_config(opts),
            "blackbox": observability.blackbox_config(opts),
            "dashboards": observability.dashboards(),
            "postgres_queries": observability.QUERIES_YAML,
            "textfile_directory": observability.TEXTFILE_DIRECTORY,
        }
    except (KeyError, ValueError) as err:
        raise AnsibleFilterError(f"observability_config: {err}") from err


def observability_k8s_objects(plan: Any, options: Any = None) -> list[dict[str, Any]]:
    """PrometheusRule, Probe, ServiceMonitor and PodMonitor objects for the Prometheus operator."""
    if not isinstance(plan, Mapping) or "environments" not in plan:
        raise AnsibleFilterError("observability_k8s_objects: the input must be the estate plan (estate_plan filter)")
    try:
        return observability.k8s_objects(plan, dict(options or {}))
    except (KeyError, ValueError) as err:
        raise AnsibleFilterError(f"observability_k8s_objects: {err}") from err


def observability_textfile(values: Any, environment: str, tenant: str, tier: str) -> str:
    """The textfile-collector file of one environment's backup and drill metrics (the backup role's contract)."""
    try:
        return observability.textfile_metrics(str(environment), str(tenant), str(tier), dict(values or {}))
    except ValueError as err:
        raise AnsibleFilterError(f"observability_textfile: {err}") from err


class FilterModule:
    """Filters of the observability role."""

    def filters(self) -> dict[str, Any]:
        return {
            "observability_config": observability_config,
            "observability_k8s_objects": observability_k8s_objects,
            "observability_textfile": observability_textfile,
        }
