# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container spec and the Docker rollout decisions: hash, secrets, steps, rollback inputs."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.container_spec import (
    LABEL_COMPONENT,
    LABEL_CONFIG_DIR,
    LABEL_ENV,
    LABEL_SPEC,
    container_spec,
    docker_actions,
    docker_container_params,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_sizing import odoo_sizing
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError

DB_PASSWORD, ADMIN, REDIS_PW = "Db-s3cret%$", "Adm1n-s3cret", "R3dis-s3cret:@/"
OPTIONS = {
    "image": "sysgenpro-lab/odoo-standin:18.0",
    "db_host": "pg1",
    "db_sslmode": "require",
    "db_password": DB_PASSWORD,
    "admin_password": ADMIN,
}


def _plan(replicas=1, version="18.0", redis=False):
    settings = odoo_sizing({"cpus": 1, "memory": "1GiB", "odoo_version": version, "replicas": replicas}).settings
    return {
        "environment": "wh-north",
        "tenant": "north",
        "tier": "standard",
        "tenancy": "shared",
        "odoo_version": version,
        "database": "wh_north",
        "db_role": "odoo_wh_north",
        "hostnames": ["wh-north.example.test"],
        "replicas": replicas,
        "max_replicas": replicas,
        "cron_apart": replicas > 1,
        "cron_threads": 2,
        "redis": {
            "enabled": redis,
            "key_prefix": "session:wh-north:",
            "user": "odoo_wh_north",
            "server": "redis1",
            "reason": "test",
        },
        "policy": {"settings": {"pod_disruption_budget": {}, "autoscaling_allowed": False}},
        "web": {"settings": settings},
    }


def _engine(spec, actions, running=True, image=None):
    """What docker_host_info (verbose) would report after a run created ``actions``' containers."""
    return [
        {
            "Names": [f"/{step['start']['name']}"],
            "Labels": step["start"]["labels"],
            "Image": image or spec["image"],
            "State": "running" if running else "exited",
        }
        for step in actions["steps"]
        if step["start"]
    ]


def _actions(spec, containers, **kwargs):
    return docker_actions(spec, containers, config_root="/etc/sysgenpro/odoo", network="n", volume="v", **kwargs)


def test_uid_gid_follow_the_official_image_per_series():
    # tests/images/odoo-standin/README.md: 101:101 for 16.0/17.0, 100:101 for 18.0/19.0.
    assert (container_spec(_plan(version="17.0"), OPTIONS)["uid"], container_spec(_plan(), OPTIONS)["uid"]) == (
        101,
        100,
    )


def test_hash_is_stable_and_follows_what_runs():
    spec = container_spec(_plan(), OPTIONS)
    assert spec["hash"] == container_spec(_plan(), OPTIONS)["hash"]
    assert spec["hash"] != container_spec(_plan(), {**OPTIONS, "image": "odoo:18.0"})["hash"]
    assert spec["hash"] != container_spec(_plan(), {**OPTIONS, "db_password": "other"})["hash"]


def test_secrets_only_in_files_never_in_container_options():
    spec = container_spec(
        _plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "redis1", "redis_password": REDIS_PW}
    )
    actions = _actions(spec, [])
    public = json.dumps({k: v for k, v in spec.items() if k != "files"}) + json.dumps(actions)
    assert DB_PASSWORD not in public and ADMIN not in public
    assert DB_PASSWORD in spec["files"]["odoo-web.conf"]


def test_verify_full_needs_the_ca():
    with pytest.raises(InputError, match="db_sslmode verify-full must verify the server"):
        container_spec(_plan(), {**OPTIONS, "db_sslmode": "verify-full"})
    spec = container_spec(_plan(), {**OPTIONS, "db_sslmode": "verify-full", "db_ca_cert": "-----BEGIN CERT..."})
    assert spec["env"]["PGSSLROOTCERT"] == "/etc/odoo/db-ca.crt"
    params = _actions(spec, [])["steps"][0]["start"]
    assert {"type": "bind", "source": f"/etc/sysgenpro/odoo/wh-north/{spec['hash']}/db-ca.crt",
            "target": "/etc/odoo/db-ca.crt", "read_only": True} in params["mounts"]  # fmt: skip


def test_redis_sessions_when_the_plan_says_so():
    with pytest.raises(InputError, match="the plan keeps wh-north's sessions in Redis"):
        container_spec(_plan(replicas=2, redis=True), OPTIONS)
    with pytest.raises(InputError) as err:
        container_spec(_plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "redis1"})
    assert str(err.value) == (
        "redis_password='<value not shown>': is empty, yet wh-north authenticates to Redis as ACL user "
        "odoo_wh_north; accepted: the tenant's Redis password from the vault (odoo_platform_redis_password)"
    )
    spec = container_spec(
        _plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "redis1", "redis_password": REDIS_PW}
    )
    # camptocamp session_redis: keys session:<ODOO_SESSION_REDIS_PREFIX>:<sid>, the ACL user's ~session:wh-north:*.
    assert {k: v for k, v in spec["env"].items() if k.startswith("ODOO_SESSION_REDIS")} == {
        "ODOO_SESSION_REDIS": "1",
        "ODOO_SESSION_REDIS_HOST": "redis1",
        "ODOO_SESSION_REDIS_PORT": "6379",
        "ODOO_SESSION_REDIS_PREFIX": "wh-north",
        "ODOO_SESSION_REDIS_USER": "odoo_wh_north",
        "ODOO_SESSION_REDIS_PASSWORD_FILE": "/etc/odoo/redis-password",
    }
    # The password is a file, never in the environment, and never in what may be logged.
    assert spec["files"]["redis-password"] == REDIS_PW + "\n"
    assert REDIS_PW not in repr(spec["env"]) and REDIS_PW not in repr(spec["redacted_files"])
    for name in ("odoo-web.conf", "odoo-cron.conf"):
        assert "server_wide_modules = base,web,session_redis" in spec["files"][name]
    tls = container_spec(
        _plan(replicas=2, redis=True),
        {**OPTIONS, "redis_host": "redis1", "redis_password": REDIS_PW, "redis_tls": True},
    )
    assert tls["env"]["ODOO_SESSION_REDIS_SSL"] == "1"
    # A rotated password gives a new spec hash: the containers are replaced and read the new file.
    rotated = container_spec(
        _plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "redis1", "redis_password": REDIS_PW + "2"}
    )
    assert rotated["hash"] != spec["hash"]


def test_redis_password_file_is_mounted_read_only():
    spec = container_spec(
        _plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "redis1", "redis_password": REDIS_PW}
    )
    params = docker_container_params(
        spec, spec["instances"][0], name="n", network="net", volume="vol", config_dir="/etc/sysgenpro/odoo/x"
    )
    assert {"type": "bind", "source": "/etc/sysgenpro/odoo/x/redis-password",
            "target": "/etc/odoo/redis-password", "read_only": True} in params["mounts"]  # fmt: skip
    assert all("REDIS_URL" not in key for key in params["env"])


def test_first_deployment_initialises_and_starts_every_container():
    spec = container_spec(_plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "r", "redis_password": REDIS_PW})
    actions = _actions(spec, [])
    assert actions["init"] and not actions["up_to_date"]
    names = [s["start"]["name"] for s in actions["steps"]]
    short = spec["hash"][:8]
    assert names == [f"wh-north-web-{short}-0", f"wh-north-web-{short}-1", f"wh-north-cron-{short}"]
    web = actions["steps"][0]["start"]
    assert web["memory"] == f"{1024**3}B" and web["user"] == "100:101"
    assert web["networks"] == [{"name": "n", "aliases": ["wh-north-web"]}]
    assert web["labels"][LABEL_SPEC] == spec["hash"]
    assert "aliases" not in actions["steps"][2]["start"]["networks"][0]  # cron is not routed


def test_second_run_is_up_to_date():
    spec = container_spec(_plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "r", "redis_password": REDIS_PW})
    actions = _actions(spec, [])
    again = _actions(spec, _engine(spec, actions))
    assert again["up_to_date"] and not again["init"] and again["steps"] == []


def test_a_stopped_container_of_the_same_spec_is_started_again():
    spec = container_spec(_plan(), OPTIONS)
    actions = _actions(spec, [])
    again = _actions(spec, _engine(spec, actions, running=False))
    assert not again["up_to_date"] and [s["start"]["name"] for s in again["steps"]] == actions["new_names"]


def test_new_image_pairs_each_new_container_with_an_old_one():
    old_spec = container_spec(_plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "r", "redis_password": REDIS_PW})
    engine = _engine(old_spec, _actions(old_spec, []))
    new_spec = container_spec(
        _plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "r", "redis_password": REDIS_PW, "image": "odoo:18.0"}
    )
    actions = _actions(new_spec, engine, update_modules=["stock"])
    old_names = [c["Names"][0][1:] for c in engine]
    assert [(s["stop"], s["stop_first"]) for s in actions["steps"]] == [
        (old_names[0], False),
        (old_names[1], False),
        (old_names[2], True),  # cron: old one stops first (one instance)
    ]
    assert actions["old"] == sorted(old_names)
    assert actions["update"] and actions["update_command"][-3:] == ["-u", "stock", "--stop-after-init"]
    assert actions["stale_dirs"] == [f"/etc/sysgenpro/odoo/wh-north/{old_spec['hash']}"]
    assert actions["rollback_dirs"] == [actions["config_dir"]]
    assert not actions["init"]


def test_scale_in_stops_the_extra_old_replica_last():
    old_spec = container_spec(_plan(replicas=2, redis=True), {**OPTIONS, "redis_host": "r", "redis_password": REDIS_PW})
    engine = [c for c in _engine(old_spec, _actions(old_spec, [])) if c["Labels"][LABEL_COMPONENT] == "web"]
    actions = _actions(container_spec(_plan(replicas=1), OPTIONS), engine)
    assert [(bool(s["start"]), s["stop"]) for s in actions["steps"]] == [
        (True, engine[0]["Names"][0][1:]),
        (False, engine[1]["Names"][0][1:]),
    ]


def test_other_environments_are_ignored():
    spec = container_spec(_plan(), OPTIONS)
    foreign = [{"Names": ["/x"], "Labels": {LABEL_ENV: "other", LABEL_CONFIG_DIR: "/d"}, "State": "running"}]
    assert _actions(spec, foreign)["init"]
