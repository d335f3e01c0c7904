# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate plan: the coupled sizing chain, its bounds and its hash."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import plan
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.estate import Finding

_SECRETS = {"odoo_platform_db_password": "kT9v-2qLx_Wm8rPz", "odoo_platform_admin_password": "Zp4n_8vQm-3LwYx7"}


def _env(server, **extra):
    return dict(
        _SECRETS,
        odoo_platform_runtime="docker",
        odoo_platform_container_host="docker1",
        odoo_platform_postgres_server=server,
        odoo_platform_odoo_version="17.0",
        **extra,
    )


def _estate(envs, tiers, servers):
    groups = {
        "environments": list(envs),
        "tier_mission_critical": [n for n, t in tiers.items() if t == "mission_critical"],
        "tier_regional": [n for n, t in tiers.items() if t == "regional"],
        "tier_standard": [n for n, t in tiers.items() if t == "standard"],
        "tenancy_shared": list(envs),
        "tenancy_dedicated": [],
        "postgres_servers": list(servers),
        "container_hosts": ["docker1"],
        "redis_servers": ["r1"],
    }
    return dict(envs, **servers), groups


def test_shared_server_counts_every_environment_and_follows_the_strictest_tier():
    envs = {
        "wh1": _env("pg1", odoo_platform_cpus=1, odoo_platform_memory="2GiB"),
        "wh2": _env("pg1", odoo_platform_cpus=1, odoo_platform_memory="2GiB"),
        "dist": _env("pg1", odoo_platform_cpus=2, odoo_platform_memory="4GiB", odoo_platform_redis_server="r1"),
    }
    hosts, groups = _estate(
        envs,
        {"wh1": "standard", "wh2": "standard", "dist": "regional"},
        {"pg1": {"odoo_platform_pg_memory": "32GiB", "odoo_platform_pg_cpus": 8}},
    )
    result = plan.build_plan(hosts, groups)
    server = result["postgres_servers"]["pg1"]
    assert server["tenants"] == ["dist", "wh1", "wh2"]
    assert server["tier"] == "regional"
    assert server["backup_mode"] == "wal_archiving_pitr"
    demand = sum(result["environments"][n]["connection_limit"] for n in envs)
    assert server["budget"]["settings"]["demand"] == demand
    assert server["settings"]["max_connections"] == demand + 10  # default reserved 10
    assert server["budget"]["settings"]["fits"] is True


def test_demand_that_does_not_fit_lowers_db_maxconn_and_warns():
    # FIELD_CASES F02 in the plan: a 2 GiB server carries at most
    # floor((2 GiB - 512 MiB shared_buffers) / (3 * 4 MiB)) - 8 = 128 - 8 = 120 connections
    # (PGTune's work_mem floor); 3 environments at db_maxconn 64 need far more.
    envs = {
        n: _env("pg1", odoo_platform_cpus=2, odoo_platform_memory="4GiB", odoo_platform_db_maxconn=64)
        for n in ("a", "b", "c")
    }
    hosts, groups = _estate(
        envs, dict.fromkeys(envs, "standard"), {"pg1": {"odoo_platform_pg_memory": "2GiB", "odoo_platform_pg_cpus": 2}}
    )
    result = plan.build_plan(hosts, groups)
    server = result["postgres_servers"]["pg1"]
    assert server["memory_cap_connections"] == 120
    # each environment: 1 replica + 1 surge, 5 workers (2*2+1) - 1 cron = 4 workers + 1 cron + 1 gevent = 6 processes
    processes = 3 * 2 * 6
    expected = (120 - 10) // processes  # = 3
    assert set(server["db_maxconn"].values()) == {expected}
    assert result["environments"]["a"]["web"]["settings"]["db_maxconn"] == expected
    assert server["settings"]["max_connections"] == processes * expected + 10
    assert any("below 4" in w for w in server["warnings"])


def test_work_mem_is_bounded_by_its_value_at_100_connections():
    # A 2 GiB server with few connections: PGTune at 40 connections would give
    # (2097152 - 524288) kB / ((40 + 8) * 3) = 10922 kB; bounded to its value at 100 connections,
    # 1572864 / ((100 + 8) * 3) = 4854 kB (le0pard/pgtune formulas; the measured 4.8 MB case).
    envs = {"a": _env("pg1", odoo_platform_cpus=1, odoo_platform_memory="1GiB")}
    hosts, groups = _estate(
        envs,
        {"a": "standard"},
        {
            "pg1": {
                "odoo_platform_pg_memory": "2GiB",
                "odoo_platform_pg_cpus": 2,
                "odoo_platform_pg_max_connections": 40,
            }
        },
    )
    server = plan.build_plan(hosts, groups)["postgres_servers"]["pg1"]
    assert server["settings"]["max_connections"] == 40
    assert server["settings"]["work_mem"] == "4854kB"
    assert "10922kB" in server["explain"]["work_mem"]


def test_more_than_one_replica_runs_cron_apart():
    envs = {"erp": _env("pg1", odoo_platform_cpus=4, odoo_platform_memory="8GiB", odoo_platform_redis_server="r1")}
    hosts, groups = _estate(
        envs, {"erp": "mission_critical"}, {"pg1": {"odoo_platform_pg_memory": "16GiB", "odoo_platform_pg_cpus": 4}}
    )
    result = plan.build_plan(hosts, groups)
    env = result["environments"]["erp"]
    assert env["redis"]["enabled"] is True
    assert (env["redis"]["user"], env["redis"]["key_prefix"]) == ("odoo_erp", "session:erp:")
    assert result["redis_servers"]["r1"]["tenants"] == ["erp"]
    assert env["replicas"] == 2  # mission_critical tier policy
    assert env["cron_apart"] is True
    assert env["web"]["settings"]["max_cron_threads"] == 0
    assert [i["name"] for i in env["instances"]] == ["erp/web", "erp/cron"]
    web, cron = env["instances"]
    assert (web["replicas"], web["surge"]) == (2, 1)
    assert (cron["workers"], cron["max_cron_threads"], cron["replicas"], cron["surge"]) == (0, 2, 1, 0)


def test_several_replicas_without_redis_are_refused():
    envs = {"erp": _env("pg1", odoo_platform_cpus=4, odoo_platform_memory="8GiB")}
    servers = {"pg1": {"odoo_platform_pg_memory": "16GiB", "odoo_platform_pg_cpus": 4}}
    hosts, groups = _estate(envs, {"erp": "mission_critical"}, servers)
    with pytest.raises(plan.PlanError) as err:
        plan.build_plan(hosts, groups)
    (finding,) = err.value.findings
    assert str(finding) == (
        "erp: odoo_platform_redis_server: None: 2 web replicas need shared sessions. Fix: accepted: "
        "a host of redis_servers, since sessions kept on each replica's disk are lost between replicas"
    )


def test_every_number_is_explained():
    envs = {"wh1": _env("pg1", odoo_platform_cpus=1, odoo_platform_memory="2GiB")}
    hosts, groups = _estate(
        envs, {"wh1": "standard"}, {"pg1": {"odoo_platform_pg_memory": "8GiB", "odoo_platform_pg_cpus": 4}}
    )
    result = plan.build_plan(hosts, groups)
    env, server = result["environments"]["wh1"], result["postgres_servers"]["pg1"]
    for part in (env["web"], env["policy"], server["budget"]):
        assert set(part["settings"]) <= set(part["explain"])
    assert set(server["settings"]) <= set(server["explain"])


def test_hash_is_stable_and_follows_the_inventory():
    envs = {"wh1": _env("pg1", odoo_platform_cpus=1, odoo_platform_memory="2GiB")}
    servers = {"pg1": {"odoo_platform_pg_memory": "8GiB", "odoo_platform_pg_cpus": 4}}
    hosts, groups = _estate(envs, {"wh1": "standard"}, servers)
    first = plan.build_plan(hosts, groups)
    assert plan.build_plan(copy.deepcopy(hosts), copy.deepcopy(groups))["hash"] == first["hash"]
    assert plan.plan_hash(first) == first["hash"]
    hosts["pg1"]["odoo_platform_pg_memory"] = "16GiB"
    assert plan.build_plan(hosts, groups)["hash"] != first["hash"]


def test_inputs_that_cannot_be_planned_name_host_and_variable():
    envs = {"tiny": _env("pg1", odoo_platform_cpus=1, odoo_platform_memory="256MiB")}
    hosts, groups = _estate(
        envs, {"tiny": "standard"}, {"pg1": {"odoo_platform_pg_memory": "8GiB", "odoo_platform_pg_cpus": 4}}
    )
    with pytest.raises(plan.PlanError) as err:
        plan.build_plan(hosts, groups)
    (finding,) = err.value.findings
    assert isinstance(finding, Finding)
    assert (finding.host, finding.variable) == ("tiny", "odoo_platform_memory")


def test_a_weaker_tier_override_is_refused_with_the_variable():
    envs = {
        "erp": _env(
            "pg1",
            odoo_platform_cpus=2,
            odoo_platform_memory="4GiB",
            odoo_platform_tier_overrides={"backup_mode": "logical_daily"},
        )
    }
    hosts, groups = _estate(
        envs, {"erp": "mission_critical"}, {"pg1": {"odoo_platform_pg_memory": "8GiB", "odoo_platform_pg_cpus": 4}}
    )
    with pytest.raises(plan.PlanError) as err:
        plan.build_plan(hosts, groups)
    assert err.value.findings[0].variable == "odoo_platform_tier_overrides"


@pytest.mark.parametrize(
    ("tiers", "mode"),
    [
        # Tier policy (docs/tuning.md): standard -> RDB snapshots, regional and mission-critical -> AOF.
        ({"wh1": "standard", "wh2": "standard"}, "rdb"),
        # One sessions instance serves every tenant on the server: the strictest tier's persistence wins.
        ({"wh1": "standard", "wh2": "regional"}, "aof"),
    ],
)
def test_redis_persistence_follows_the_strictest_tenant(tiers, mode):
    envs = {
        name: _env("pg1", odoo_platform_cpus=1, odoo_platform_memory="2GiB", odoo_platform_redis_server="r1")
        for name in tiers
    }
    hosts, groups = _estate(envs, tiers, {"pg1": {"odoo_platform_pg_memory": "16GiB", "odoo_platform_pg_cpus": 4}})
    sessions = plan.build_plan(hosts, groups)["redis_servers"]["r1"]["settings"]["sessions"]
    assert sessions["persistence_mode"] == mode
    assert sessions["conf"]["appendonly"] == ("yes" if mode == "aof" else "no")


def test_standby_streams_its_primarys_settings_and_tenants():
    envs = {"erp": _env("pg1", odoo_platform_cpus=2, odoo_platform_memory="4GiB", odoo_platform_redis_server="r1")}
    servers = {
        "pg1": {"odoo_platform_pg_memory": "16GiB", "odoo_platform_pg_cpus": 4},
        "pg1-standby": {
            "odoo_platform_pg_memory": "16GiB",
            "odoo_platform_pg_cpus": 4,
            "odoo_platform_pg_standby_of": "pg1",
        },
    }
    hosts, groups = _estate(envs, {"erp": "mission_critical"}, servers)
    result = plan.build_plan(hosts, groups)
    primary, standby = result["postgres_servers"]["pg1"], result["postgres_servers"]["pg1-standby"]
    assert (primary["role"], primary["standbys"]) == ("primary", ["pg1-standby"])
    assert (standby["role"], standby["standby_of"], standby["standby_kind"]) == ("standby", "pg1", "hot")
    # PostgreSQL "Hot Standby": max_connections and the other max_* must be >= the primary's.
    assert standby["settings"] == primary["settings"]
    assert [t["role"] for t in standby["tenant_roles"]] == ["odoo_erp"]
    assert not [w for w in result["warnings"] if "standby" in w]


def test_a_tier_that_wants_a_standby_warns_without_one():
    envs = {"erp": _env("pg1", odoo_platform_cpus=2, odoo_platform_memory="4GiB", odoo_platform_redis_server="r1")}
    hosts, groups = _estate(
        envs, {"erp": "mission_critical"}, {"pg1": {"odoo_platform_pg_memory": "16GiB", "odoo_platform_pg_cpus": 4}}
    )
    result = plan.build_plan(hosts, groups)
    assert (
        "pg1: tier mission_critical wants a hot standby and none streams from it: add a host to postgres_servers "
        "with odoo_platform_pg_standby_of: pg1"
    ) in result["warnings"]


def test_a_standby_of_an_unknown_primary_is_refused():
    envs = {"wh": _env("pg1", odoo_platform_cpus=1, odoo_platform_memory="2GiB")}
    servers = {
        "pg1": {"odoo_platform_pg_memory": "16GiB", "odoo_platform_pg_cpus": 4},
        "pg2": {"odoo_platform_pg_memory": "16GiB", "odoo_platform_pg_cpus": 4, "odoo_platform_pg_standby_of": "pg9"},
    }
    hosts, groups = _estate(envs, {"wh": "standard"}, servers)
    with pytest.raises(plan.PlanError) as err:
        plan.build_plan(hosts, groups)
    assert str(err.value) == (
        "pg2: odoo_platform_pg_standby_of: names 'pg9', which is not a PostgreSQL server with tenants. "
        "Fix: set it to one of pg1"
    )
