# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin filters over module_utils for the odoo_container role. Documentation: one <name>.yml per filter."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.container_spec import (
    container_spec,
    docker_actions,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.k8s_objects import k8s_objects
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_conf import check_dbfilters
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError
from ansible_collections.sysgenpro.odoo_platform.plugins.plugin_utils.tuning_filter import _plain


def _mapping(name: str, key: str, value: Any) -> dict[str, Any]:
    value = _plain(value)
    if not isinstance(value, dict):
        raise AnsibleFilterError(f"{name}: {key} must be a dict, got {type(value).__name__}")
    return value


def odoo_container_spec(plan: Any, options: Any) -> dict[str, Any]:
    """The runtime-neutral container spec of one environment (holds secrets: use no_log)."""
    try:
        return container_spec(
            _mapping("odoo_container_spec", "plan", plan), _mapping("odoo_container_spec", "options", options)
        )
    except (InputError, KeyError) as err:
        raise AnsibleFilterError(f"odoo_container_spec: {err}") from err


def odoo_container_docker_actions(  # noqa: PLR0917 - a filter's arguments are positional in Jinja
    spec: Any, containers: Any, config_root: str, network: str, volume: str, update_modules: Any = ()
) -> dict[str, Any]:
    """The steps one run needs on a Docker Engine to reach the spec."""
    if not isinstance(_plain(containers), list):
        raise AnsibleFilterError("odoo_container_docker_actions: containers must be docker_host_info's list")
    return docker_actions(
        _mapping("odoo_container_docker_actions", "spec", spec),
        _plain(containers),
        config_root=str(config_root),
        network=str(network),
        volume=str(volume),
        update_modules=[str(m) for m in _plain(update_modules) or []],
    )


def odoo_k8s_objects(spec: Any, options: Any = None) -> list[dict[str, Any]]:
    """Every Kubernetes object of one environment (the Secret holds odoo.conf: use no_log)."""
    try:
        return k8s_objects(_mapping("odoo_k8s_objects", "spec", spec), _plain(options or {}))
    except (InputError, KeyError) as err:
        raise AnsibleFilterError(f"odoo_k8s_objects: {err}") from err


def odoo_dbfilter_check(environments: Any, dbfilters: Any = None) -> list[str]:
    """Problems that let a host name of the estate reach no database or more than one."""
    return check_dbfilters(_mapping("odoo_dbfilter_check", "environments", environments), _plain(dbfilters or {}))


class FilterModule:
    """The odoo_container filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "odoo_container_spec": odoo_container_spec,
            "odoo_container_docker_actions": odoo_container_docker_actions,
            "odoo_k8s_objects": odoo_k8s_objects,
            "odoo_dbfilter_check": odoo_dbfilter_check,
        }
