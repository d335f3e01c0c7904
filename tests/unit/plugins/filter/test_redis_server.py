# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""redis_server filters: thin wrappers, exact errors, no password in any output."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.filter.redis_server import FilterModule

F = FilterModule().filters()
# Test secret, NOT SECRET.
TENANTS = [
    {"environment": "wh-north", "user": "odoo-n", "password": "north-TEST-ONLY-pw-1", "key_prefix": "session:wh-north:"}
]


def test_registered():
    assert set(F) == {
        "redis_tenant_problems",
        "redis_acl_file",
        "redis_config_drift",
        "redis_session_endpoints",
        "redis_k8s_objects",
    }


def test_tenant_problems():
    assert F["redis_tenant_problems"](TENANTS, "platform-admin", {"wh-north": "session:wh-north:"}) == ""
    problem = F["redis_tenant_problems"]([dict(TENANTS[0], password="x")], "platform-admin", {})
    assert problem.startswith("redis_tenants[0].password='<hidden>'")


def test_config_drift_from_redis_cli_json():
    live = '{"maxmemory":"0","maxmemory-policy":"noeviction","save":""}'
    wanted = {"maxmemory": "64mb", "maxmemory-policy": "noeviction", "save": '""'}
    assert F["redis_config_drift"](live, wanted) == {"maxmemory": "64mb"}
    assert F["redis_config_drift"](live, dict(wanted, save='"900 1"'), as_args=True) == [
        "maxmemory",
        "64mb",
        "save",
        "900 1",
    ]
    with pytest.raises(AnsibleFilterError, match="redis_config_drift: maxmemory='lots'"):
        F["redis_config_drift"]('{"maxmemory": "lots"}', wanted)


def test_acl_file_instance_choice():
    with pytest.raises(AnsibleFilterError, match="instance='queue'; accepted: sessions, cache"):
        F["redis_acl_file"](TENANTS, "platform-admin", "admin-TEST-ONLY-pw-1", "queue")


def test_session_endpoints_error():
    with pytest.raises(AnsibleFilterError, match="cannot be produced by session_redis"):
        F["redis_session_endpoints"]([dict(TENANTS[0], key_prefix="cache:x:")], "10.0.0.5", 6379)
