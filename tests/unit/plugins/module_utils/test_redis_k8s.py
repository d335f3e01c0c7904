# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""redis_k8s: objects from the plan entry validate against real Kubernetes schemas and keep the plan's settings."""

from __future__ import annotations

import pytest

kubernetes_validate = pytest.importorskip("kubernetes_validate")

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.redis_k8s import (  # noqa: E402
    memory_limit,
    redis_k8s_objects,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.redis_sizing import redis_sizing  # noqa: E402

MIB = 1024**2
# Test secret, NOT SECRET: it must never reach an object.
TENANTS = [
    {
        "environment": "wh-north",
        "user": "odoo-wh-north",
        "password": "north-TEST-ONLY-pw-1",
        "key_prefix": "session:wh-north:",
    },
    {
        "environment": "wh-south",
        "user": "odoo-wh-south",
        "password": "south-TEST-ONLY-pw-1",
        "key_prefix": "session:wh-south:",
        "namespace": "odoo-south-prod",
    },
]


def _plan(persistent=True):
    sizing = redis_sizing({"tenants": 2, "users_per_tenant": 60, "sessions_persistence": persistent})
    return {
        "server": "redis-shared-01",
        "tenants": ["wh-north", "wh-south"],
        "key_prefixes": {t["environment"]: t["key_prefix"] for t in TENANTS},
        "settings": sizing.settings,
    }


@pytest.mark.parametrize("version", ["1.25", "1.30", "1.37"])
def test_objects_validate(version):
    for obj in redis_k8s_objects(_plan(), TENANTS, {"tls_secret": "redis-tls"}):
        kubernetes_validate.validate(obj, version, strict=True)


def test_objects_carry_the_plan_and_no_secret():
    plan = _plan()
    objects = redis_k8s_objects(plan, TENANTS)
    assert "TEST-ONLY" not in repr(objects)
    kinds = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert kinds == [
        ("ConfigMap", "redis-shared-01-sessions-config"),
        ("Service", "redis-shared-01-sessions"),
        ("StatefulSet", "redis-shared-01-sessions"),
        ("NetworkPolicy", "redis-shared-01-sessions"),
        ("ConfigMap", "redis-shared-01-cache-config"),
        ("Service", "redis-shared-01-cache"),
        ("StatefulSet", "redis-shared-01-cache"),
        ("NetworkPolicy", "redis-shared-01-cache"),
    ]
    conf = objects[0]["data"]["redis.conf"]
    assert conf.endswith(plan["settings"]["sessions"]["conf_text"])
    assert "maxmemory-policy noeviction\nappendonly yes\nappendfsync everysec\n" in conf
    assert "protected-mode yes\n" in conf and "aclfile /etc/redis/acl/users.acl\n" in conf
    assert "allkeys-lru" in objects[4]["data"]["redis.conf"]
    # Sessions persist (AOF on a PVC); the cache keeps nothing (emptyDir).
    assert objects[2]["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert "volumeClaimTemplates" not in objects[6]["spec"]
    # 64 MiB sessions + 32 MiB floor of overhead; 256 MiB cache + 50 %.
    assert objects[2]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "96Mi"
    assert objects[6]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "384Mi"


def test_network_policy_admits_only_the_tenants_odoo_pods():
    policy = redis_k8s_objects(_plan(), TENANTS, {"cache_enabled": False})[3]
    assert policy["spec"]["egress"] == []
    rule = policy["spec"]["ingress"][0]
    assert rule["ports"] == [{"protocol": "TCP", "port": 6379}]
    assert [s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in rule["from"]] == [
        "odoo-wh-north",
        "odoo-south-prod",
    ]
    assert rule["from"][0]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "odoo",
        "app.kubernetes.io/instance": "wh-north",
    }


def test_no_persistence_means_no_claim():
    objects = redis_k8s_objects(_plan(persistent=False), TENANTS, {"cache_enabled": False})
    assert len(objects) == 4
    assert "volumeClaimTemplates" not in objects[2]["spec"]
    assert 'save ""' in objects[0]["data"]["redis.conf"]


@pytest.mark.parametrize(
    ("maxmemory", "limit"),
    [(64 * MIB, 96 * MIB), (256 * MIB, 384 * MIB), (1073 * MIB, 1610 * MIB)],  # 1073 * 1.5 = 1609.5 -> 1610
)
def test_memory_limit(maxmemory, limit):
    assert memory_limit(maxmemory) == limit


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"server": "Redis_01"}, "server='Redis_01': not usable in object names"),
    ],
)
def test_bad_server_name(change, message):
    with pytest.raises(ValueError, match=message):
        redis_k8s_objects(dict(_plan(), **change), TENANTS)


def test_unknown_option():
    with pytest.raises(ValueError, match=r"options \['replicas'\]: unknown"):
        redis_k8s_objects(_plan(), TENANTS, {"replicas": 3})
