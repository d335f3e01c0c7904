# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the redis role: thin wrappers over module_utils/redis_server.py and redis_k8s.py.

Documentation: redis_tenant_problems.yml, redis_acl_file.yml, redis_config_drift.yml,
redis_session_endpoints.yml, redis_k8s_objects.yml.
"""

from __future__ import annotations

import json
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.redis_k8s import redis_k8s_objects
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.redis_server import (
    RedisInputError,
    check_tenants,
    config_drift,
    render_aclfile,
    session_endpoints,
)


def redis_tenant_problems(tenants: Any, admin_user: str, key_prefixes: Any) -> str:
    """'' when the tenant list is usable, else the first problem (never a password)."""
    try:
        check_tenants(list(tenants or []), str(admin_user), dict(key_prefixes or {}))
    except RedisInputError as err:
        return str(err)
    return ""


def redis_acl_file(tenants: Any, admin_user: str, admin_password: str, instance: str) -> str:
    """The ACL file of one instance (password hashes only)."""
    if instance not in ("sessions", "cache"):
        raise AnsibleFilterError(f"redis_acl_file: instance={instance!r}; accepted: sessions, cache")
    return render_aclfile(str(admin_user), str(admin_password), list(tenants or []), instance)


def redis_config_drift(live: Any, wanted: Any, as_args: bool = False) -> dict[str, str] | list[str]:
    """CONFIG SET pairs that bring live settings (redis-cli --json CONFIG GET output) to the wanted ones."""
    try:
        current = json.loads(live) if isinstance(live, str) else dict(live or {})
        drift = config_drift(current, dict(wanted))
    except (ValueError, TypeError) as err:
        raise AnsibleFilterError(f"redis_config_drift: {err}") from err
    if as_args:
        return [str(item) for pair in drift.items() for item in pair]
    return drift


def redis_session_endpoints(tenants: Any, host: str, port: Any, tls: bool = False) -> dict[str, Any]:
    """{environment: {host, port, user, prefix, key_prefix, tls}} for Odoo's session_redis; no passwords."""
    try:
        return session_endpoints(list(tenants or []), str(host), int(port), bool(tls))
    except RedisInputError as err:
        raise AnsibleFilterError(f"redis_session_endpoints: {err}") from err


def redis_k8s_objects_filter(plan: Any, tenants: Any, options: Any = None) -> list[dict[str, Any]]:
    """ConfigMap, Service, StatefulSet and NetworkPolicy per instance (see module_utils/redis_k8s.py)."""
    try:
        return redis_k8s_objects(dict(plan), list(tenants or []), dict(options or {}))
    except (KeyError, ValueError) as err:
        raise AnsibleFilterError(f"redis_k8s_objects: {err}") from err


class FilterModule:
    """Filters of the redis role."""

    def filters(self) -> dict[str, Any]:
        return {
            "redis_tenant_problems": redis_tenant_problems,
            "redis_acl_file": redis_acl_file,
            "redis_config_drift": redis_config_drift,
            "redis_session_endpoints": redis_session_endpoints,
            "redis_k8s_objects": redis_k8s_objects_filter,
        }
