# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the traefik role: thin wrappers over module_utils/traefik_config.py.

Documentation: traefik_sites.yml, traefik_dynamic_config.yml, traefik_static_config.yml,
traefik_router_problems.yml, traefik_k8s_objects.yml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import traefik_config
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError

_ENV_KEYS = ("odoo_platform_maintenance", "odoo_platform_allow_cidrs", "odoo_platform_admin_cidrs")


def traefik_sites(environments: Any, runtime_host: str, hostvars: Any = None) -> list[dict[str, Any]]:
    """The sites of every active environment of the plan on ``runtime_host`` (whole inventory)."""
    if not isinstance(environments, Mapping):
        raise AnsibleFilterError(f"traefik_sites: the input must be the plan's environments, got {environments!r}")
    options: dict[str, dict[str, Any]] = {}
    for name in environments:
        if hostvars is not None and name in hostvars:
            host = hostvars[name]
            options[name] = {key: host[key] for key in _ENV_KEYS if key in host}
    try:
        return traefik_config.sites_from_plan(dict(environments), str(runtime_host), options)
    except InputError as err:
        raise AnsibleFilterError(f"traefik_sites: {err}") from err


def traefik_dynamic_config(sites: Any, options: Any = None) -> dict[str, Any]:
    """The file provider's dynamic configuration (routers, services, middlewares, TLS)."""
    try:
        return traefik_config.dynamic_config(list(sites or []), dict(options or {}))
    except InputError as err:
        raise AnsibleFilterError(f"traefik_dynamic_config: {err}") from err


def traefik_static_config(options: Any = None, dynamic_file: Any = None) -> dict[str, Any]:
    """traefik.yml: entrypoints, API, /ping, metrics, JSON logs, file provider."""
    try:
        return traefik_config.static_config(dict(options or {}), str(dynamic_file) if dynamic_file else None)
    except InputError as err:
        raise AnsibleFilterError(f"traefik_static_config: {err}") from err


def traefik_router_problems(api_routers: Any, dynamic: Any) -> list[str]:
    """What Traefik's /api/http/routers lacks against the dynamic configuration; [] = loaded."""
    if not isinstance(dynamic, Mapping):
        raise AnsibleFilterError(f"traefik_router_problems: dynamic must be a dict, got {type(dynamic).__name__}")
    return traefik_config.router_problems(api_routers if isinstance(api_routers, list) else [], dynamic)


def traefik_k8s_objects(sites: Any, options: Any = None, k8s: Any = None) -> list[dict[str, Any]]:
    """IngressRoute, Middleware, TLSOption and ServersTransport objects per site."""
    try:
        return traefik_config.k8s_objects(list(sites or []), dict(options or {}), dict(k8s or {}))
    except InputError as err:
        raise AnsibleFilterError(f"traefik_k8s_objects: {err}") from err


class FilterModule:
    """Filters of the traefik role."""

    def filters(self) -> dict[str, Any]:
        return {
            "traefik_sites": traefik_sites,
            "traefik_dynamic_config": traefik_dynamic_config,
            "traefik_static_config": traefik_static_config,
            "traefik_router_problems": traefik_router_problems,
            "traefik_k8s_objects": traefik_k8s_objects,
        }
