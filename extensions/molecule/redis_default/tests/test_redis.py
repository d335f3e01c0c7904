# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify the redis role on a live Debian 12 host: plan applied, ACLs, isolation, no eviction (F09)."""

from __future__ import annotations

import pytest
import redis
import yaml

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.redis_server import SESSION_COMMANDS
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.redis_sizing import redis_sizing

PORTS = {"sessions": 6379, "cache": 6380}


def _plan(scenario):
    return redis_sizing(scenario["scenario_sizing_inputs"]).settings


def test_units_and_files(host):
    for instance in PORTS:
        service = host.service(f"redis-server@{instance}")
        assert service.is_running and service.is_enabled
        for suffix, mode in ((".conf", 0o640), (".plan.conf", 0o640), (".acl", 0o640)):
            f = host.file(f"/etc/redis/redis-{instance}{suffix}")
            assert (f.user, f.group, f.mode) == ("root", "redis", mode)
    # The package's own instance (password-less default user on 127.0.0.1) never runs.
    assert host.run("systemctl is-enabled redis-server.service").stdout.strip() == "masked"
    acl = host.file("/etc/redis/redis-sessions.acl").content_string
    assert "TEST-ONLY" not in acl
    assert acl.startswith("user default off ")


@pytest.mark.parametrize("instance", list(PORTS))
def test_live_config_equals_plan(admin, scenario, address, instance):
    plan = _plan(scenario)[instance]
    live = admin(PORTS[instance]).config_get("*")
    assert int(live["maxmemory"]) == plan["maxmemory"]
    assert live["maxmemory-policy"] == plan["maxmemory_policy"]
    mode = plan["persistence_mode"]
    assert live["appendonly"] == ("yes" if mode == "aof" else "no")
    if mode == "aof":
        assert live["appendfsync"] == "everysec"
    elif mode == "rdb":
        assert live["save"] == "3600 1 300 100 60 10000"  # Redis 7.0 redis.conf default snapshot points
    else:
        assert live["save"] == ""
    assert live["protected-mode"] == "yes"
    assert live["bind"] == address
    assert live["aclfile"] == f"/etc/redis/redis-{instance}.acl"


def test_acl_list(admin, scenario):
    users = {}
    for line in admin(6379).acl_list():
        words = line.split()
        users[words[1]] = words[2:]
    assert set(users) == {"default", "platform-admin", "odoo-wh-north", "odoo-wh-south"}
    assert users["default"][0] == "off"
    assert "~*" in users["platform-admin"] and "+@all" in users["platform-admin"]
    for t in scenario["scenario_tenants"]:
        rules = users[t["user"]]
        assert rules[0] == "on"
        assert [r for r in rules if r.startswith("~")] == [f"~{t['key_prefix']}*"]
        assert "-@all" in rules
        assert {r[1:] for r in rules if r.startswith("+")} == set(SESSION_COMMANDS)


def test_tenant_uses_its_own_keys(tenant):
    north = tenant("wh-north")
    assert north.ping()
    assert north.set("session:wh-north:abc", "{}", ex=60)
    assert north.setex("session:wh-north:def", 60, "{}")
    assert north.expire("session:wh-north:abc", 120)
    assert 0 < north.ttl("session:wh-north:abc") <= 120
    assert north.get("session:wh-north:abc") == "{}"
    assert north.exists("session:wh-north:abc") == 1
    assert north.delete("session:wh-north:abc", "session:wh-north:def") == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.set("session:wh-south:abc", "{}"),
        lambda c: c.get("session:wh-south:abc"),
        lambda c: c.delete("session:wh-south:abc"),
        lambda c: c.flushall(),
        lambda c: c.config_get("maxmemory"),
        lambda c: c.keys("*"),
        lambda c: c.acl_list(),
    ],
    ids=["set-other", "get-other", "del-other", "flushall", "config", "keys", "acl"],
)
def test_tenant_gets_noperm(tenant, call):
    with pytest.raises(redis.exceptions.NoPermissionError):
        call(tenant("wh-north"))


def test_unauthenticated_refused(address, scenario):
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=address, port=6379).ping()
    # A password alone authenticates as 'default', which is off.
    password = scenario["scenario_tenants"][0]["password"]
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=address, port=6379, password=password).ping()


def test_cache_may_evict(admin, tenant):
    """Contrast: the cache instance drops old keys under pressure (allkeys-lru)."""
    cache = tenant("wh-north", 6380)
    value = "x" * 65536
    pipe = cache.pipeline(transaction=False)
    for i in range(800):  # 50 MiB into a 32 MiB cache
        pipe.set(f"cache:wh-north:{i}", value)
    pipe.execute()
    assert int(admin(6380).info("stats")["evicted_keys"]) > 0


def test_sessions_never_evict(admin, tenant):
    """FIELD_CASES F09: past maxmemory, writes are refused (OOM) and no session is ever evicted."""
    sessions = tenant("wh-south")
    value = "s" * 65536
    written = 0
    with pytest.raises(redis.exceptions.OutOfMemoryError, match="command not allowed when used memory"):
        for i in range(2000):  # 125 MiB at most, into 64 MiB
            sessions.set(f"session:wh-south:{i}", value, ex=3600)
            written += 1
    stats = admin(6379).info("stats")
    assert int(stats["evicted_keys"]) == 0
    assert sessions.exists(*[f"session:wh-south:{i}" for i in range(written)]) == written
    # redis-py maps the OOM error code to OutOfMemoryError. The rejected writes are visible to
    # monitoring (redis_exporter exports both).
    assert int(admin(6379).info("errorstats")["errorstat_OOM"]["count"]) >= 1
    assert int(admin(6379).info("commandstats")["cmdstat_set"]["rejected_calls"]) >= 1


def test_kubernetes_manifests_validate(ephemeral_dir):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    text = (ephemeral_dir / "kubernetes" / "redis-redis-molecule.yaml").read_text()
    objects = [o for o in yaml.safe_load_all(text) if o]
    assert [o["kind"] for o in objects].count("StatefulSet") == 2
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30", strict=True)
    assert "TEST-ONLY" not in yaml.safe_dump_all(objects)
