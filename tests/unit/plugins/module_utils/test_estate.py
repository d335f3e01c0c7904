# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate preflight: every finding names the host, the variable and the fix."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import estate

GROUPS = {
    "all": ["erp", "wh1", "pg1", "pg2", "docker1"],
    "environments": ["erp", "wh1"],
    "tier_mission_critical": ["erp"],
    "tier_regional": [],
    "tier_standard": ["wh1"],
    "tenancy_dedicated": ["erp"],
    "tenancy_shared": ["wh1"],
    "postgres_servers": ["pg1", "pg2"],
    "container_hosts": ["docker1"],
    "kubernetes_clusters": ["k8s-a"],
}
_SECRETS_AND_SIZE = {
    "odoo_platform_db_password": "kT9v-2qLx_Wm8rPz",
    "odoo_platform_admin_password": "Zp4n_8vQm-3LwYx7",
    "odoo_platform_cpus": 2,
    "odoo_platform_memory": "4GiB",
}
_SERVER = {"odoo_platform_pg_memory": "16GiB", "odoo_platform_pg_cpus": 4, "odoo_platform_pg_version": 15}
ENVS = {
    "erp": {
        "odoo_platform_runtime": "kubernetes",
        "odoo_platform_kubernetes_cluster": "k8s-a",
        "odoo_platform_postgres_server": "pg1",
        "odoo_platform_hostnames": ["erp.example.com"],
        **_SECRETS_AND_SIZE,
    },
    "wh1": {
        "odoo_platform_runtime": "docker",
        "odoo_platform_container_host": "docker1",
        "odoo_platform_postgres_server": "pg2",
        "odoo_platform_hostnames": ["wh1.example.com"],
        **_SECRETS_AND_SIZE,
    },
    "pg1": dict(_SERVER),
    "pg2": dict(_SERVER),
}


def _messages(groups, envs):
    return [str(f) for f in estate.preflight(envs, groups)]


def test_a_good_estate_passes():
    assert estate.preflight(ENVS, GROUPS) == []


def _with(groups_change=None, envs_change=None):
    groups, envs = copy.deepcopy(GROUPS), copy.deepcopy(ENVS)
    for group, hosts in (groups_change or {}).items():
        groups[group] = hosts
    for name, values in (envs_change or {}).items():
        envs.setdefault(name, {}).update(values)
    return groups, envs


@pytest.mark.parametrize(
    ("groups_change", "envs_change", "expected"),
    [
        pytest.param(
            {"tier_standard": ["wh1", "erp"]},
            None,
            [
                "erp: tier group: must be in exactly one of tier_mission_critical, tier_regional, tier_standard "
                "(found: tier_mission_critical, tier_standard). "
                "Fix: list erp under exactly one tier group in the inventory"
            ],
            id="two-tiers",
        ),
        pytest.param(
            {"tier_mission_critical": []},
            None,
            [
                "erp: tier group: must be in exactly one of tier_mission_critical, tier_regional, tier_standard "
                "(found: none). Fix: list erp under exactly one tier group in the inventory"
            ],
            id="no-tier",
        ),
        pytest.param(
            {"tenancy_shared": []},
            None,
            [
                "wh1: tenancy group: must be in exactly one of tenancy_dedicated, tenancy_shared (found: none). "
                "Fix: list wh1 under exactly one tenancy group in the inventory"
            ],
            id="no-tenancy",
        ),
        pytest.param(
            {"environments": ["erp"]},
            None,
            [
                "wh1: group environments: is in a tier or tenancy group but not in the environments group. "
                "Fix: add wh1 under all.children.environments.hosts"
            ],
            id="not-in-environments",
        ),
        pytest.param(
            None,
            {"wh1": {"odoo_platform_postgres_server": "pg9"}},
            [
                "wh1: odoo_platform_postgres_server: names 'pg9', which is not in the postgres_servers group. "
                "Fix: set it to a host of postgres_servers (pg1, pg2)"
            ],
            id="unknown-db-server",
        ),
        pytest.param(
            None,
            {"wh1": {"odoo_platform_container_host": None}},
            ["wh1: odoo_platform_container_host: is not set. Fix: set it to a host of container_hosts (docker1)"],
            id="missing-container-host",
        ),
        pytest.param(
            None,
            {"erp": {"odoo_platform_runtime": "podman"}},
            ["erp: odoo_platform_runtime: is 'podman'. Fix: set it to one of docker, kubernetes"],
            id="unknown-runtime",
        ),
        pytest.param(
            {"tenancy_dedicated": ["erp", "wh1"], "tenancy_shared": []},
            {"erp": {"odoo_platform_postgres_server": "pg2"}},
            [
                "erp: odoo_platform_postgres_server: pg2 is shared with wh1, but erp is dedicated. "
                "Fix: give erp its own host, or move it to tenancy_shared",
                "wh1: odoo_platform_postgres_server: pg2 is shared with erp, but wh1 is dedicated. "
                "Fix: give wh1 its own host, or move it to tenancy_shared",
            ],
            id="dedicated-on-shared-server",
        ),
        pytest.param(
            None,
            {"wh1": {"odoo_platform_hostnames": ["erp.example.com"]}},
            [
                "wh1: odoo_platform_hostnames: 'erp.example.com' is also used by erp. "
                "Fix: give every environment its own host names"
            ],
            id="hostname-used-twice",
        ),
        pytest.param(
            None,
            {"wh1": {"odoo_platform_hostnames": ["WH1.example.com"]}},
            [
                "wh1: odoo_platform_hostnames: 'WH1.example.com' is not a DNS-1123 host name. "
                "Fix: use lowercase letters, digits, '-' and '.', e.g. erp.example.com"
            ],
            id="hostname-not-dns",
        ),
        pytest.param(
            None,
            {"wh1": {"odoo_platform_db_password": None}},
            [
                "wh1: odoo_platform_db_password: is not defined. Fix: set it to a vault reference, e.g. "
                'odoo_platform_db_password: "{{ vault_wh1_db_password }}"'
            ],
            id="missing-secret",
        ),
        pytest.param(
            {"redis_servers": ["r1"]},
            {"wh1": {"odoo_platform_redis_server": "r1"}},
            [
                "wh1: odoo_platform_redis_password: is not defined. Fix: set it to a vault reference, e.g. "
                'odoo_platform_redis_password: "{{ vault_wh1_redis_password }}"'
            ],
            id="redis-placed-without-its-acl-password",
        ),
        pytest.param(
            {"redis_servers": ["r1"]},
            {"wh1": {"odoo_platform_redis_server": "r1", "odoo_platform_redis_enabled": False}},
            [],
            id="redis-disabled-needs-no-password",
        ),
        pytest.param(
            None,
            {"wh1": {"odoo_platform_admin_password": "CHANGE_ME"}},
            [
                "wh1: odoo_platform_admin_password: is a placeholder or not a string. "
                "Fix: set a real secret in the vault file (ansible-vault edit ...)"
            ],
            id="placeholder-secret",
        ),
        pytest.param(
            None,
            {"wh1": {"odoo_platform_db_password": estate.Unresolved("'vault_wh1_db_password' is undefined")}},
            [
                "wh1: odoo_platform_db_password: cannot be resolved ('vault_wh1_db_password' is undefined). "
                "Fix: define the vault variable it refers to in the inventory's vault file"
            ],
            id="undefined-vault-variable",
        ),
        pytest.param(
            None,
            {"wh1": {"odoo_platform_memory": "8 gigs"}},
            [
                "wh1: odoo_platform_memory: '8 gigs' has an unknown unit 'gigs'. "
                "Fix: write it like 4GiB (integer bytes, PostgreSQL units (kB, MB, GB, TB = powers of 1024), "
                "IEC units (KiB, MiB, GiB, TiB), Kubernetes "
                "quantities (Ki, Mi, Gi, Ti; decimal k, M, G, T = powers of 1000), e.g. 4GiB, 4096Mi, 4294967296)"
            ],
            id="memory-8-gigs",
        ),
        pytest.param(
            None,
            {"wh1": {"odoo_platform_odoo_version": "14.0"}},
            [
                "wh1: odoo_platform_odoo_version: is '14.0', which is not supported. Fix: legacy 14.0 is only "
                "accepted with odoo_platform_lifecycle: onboarding; migrate to one of 16.0, 17.0, 18.0, 19.0"
            ],
            id="legacy-version-not-onboarding",
        ),
        pytest.param(
            None,
            {"pg2": {"odoo_platform_pg_version": 12}},
            ["pg2: odoo_platform_pg_version: is 12, which is not supported. Fix: use one of 14, 15, 16, 17, 18"],
            id="old-postgres",
        ),
    ],
)
def test_each_mistake_is_named_with_its_fix(groups_change, envs_change, expected):
    groups, envs = _with(groups_change, envs_change)
    assert _messages(groups, envs) == expected


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("wh-north", True),
        ("a", True),
        ("a" * 63, True),
        ("a" * 64, False),  # DNS-1123 label: at most 63 characters (RFC 1123 / Kubernetes names)
        ("WH-North", False),
        ("wh_north", False),
        ("-wh", False),
        ("wh-", False),
        ("wh.north", False),
    ],
)
def test_names_must_be_dns_1123_labels(name, ok):
    groups, envs = _with(
        {"environments": ["erp", "wh1", name], "tier_standard": ["wh1", name], "tenancy_shared": ["wh1", name]},
        {name: dict(ENVS["wh1"])},
    )
    found = [f for f in estate.preflight(envs, groups) if f.variable == "inventory_hostname"]
    assert (found == []) is ok
    if not ok:
        assert found[0].host == name
        assert "rename the environment" in found[0].fix


def test_onboarding_accepts_a_legacy_version():
    groups, envs = _with(None, {"wh1": {"odoo_platform_odoo_version": "14.0", "odoo_platform_lifecycle": "onboarding"}})
    assert estate.preflight(envs, groups) == []


def test_all_findings_are_reported_together():
    groups, envs = _with(
        {"tier_standard": ["wh1", "erp"], "tenancy_shared": []},
        {"erp": {"odoo_platform_postgres_server": None}},
    )
    findings = estate.preflight(envs, groups)
    assert [(f.host, f.variable) for f in findings] == [
        ("erp", "tier group"),
        ("erp", "odoo_platform_postgres_server"),
        ("wh1", "tenancy group"),
    ]


def test_summary_rows_and_table():
    rows = estate.summary(ENVS, GROUPS)
    assert [r["environment"] for r in rows] == ["erp", "wh1"]
    assert rows[0]["tier"] == "mission_critical"
    assert rows[0]["tenancy"] == "dedicated"
    assert rows[0]["runtime_host"] == "k8s-a"
    assert rows[1]["runtime_host"] == "docker1"
    only = estate.summary(ENVS, GROUPS, only=["wh1"])
    assert [r["environment"] for r in only] == ["wh1"]
    lines = estate.summary_table(rows)
    assert lines[0].split() == [
        "ENVIRONMENT",
        "TIER",
        "TENANCY",
        "URL",
        "IMAGE",
        "WORKERS",
        "MEMORY",
        "SOFT/HARD",
        "DATABASE",
        "SESSIONS",
        "HEALTH",
    ]
    assert lines[1].split()[:5] == ["erp", "mission_critical", "dedicated", "https://erp.example.com/", "-"]


def test_summary_enriched_with_plan_and_containers():
    rows = estate.summary(ENVS, GROUPS, only=["wh1"])
    plan = {
        "environments": {
            "wh1": {
                "web": {
                    "settings": {
                        "workers": 3,
                        "max_cron_threads": 1,
                        "limit_memory_soft": 629145600,
                        "limit_memory_hard": 1677721600,
                    }
                },
                "replicas": 1,
                "cron_apart": False,
                "cron_threads": 1,
                "database": "wh1",
                "postgres_server": "pg2",
                "connection_limit": 40,
                "redis": {"enabled": True, "user": "odoo_wh1", "server": "r1"},
                "lifecycle": "active",
            }
        }
    }
    label = {"org.sysgenpro.odoo.environment": "wh1"}
    containers = [
        {"Id": "a1", "Labels": label, "State": "running", "Status": "Up 2 minutes (healthy)", "Image": "odoo:18.0"},
        {"Id": "a1", "Labels": label, "State": "running", "Status": "Up 2 minutes (healthy)", "Image": "odoo:18.0"},
        {
            "Id": "b2",
            "Labels": label,
            "State": "running",
            "Status": "Up 1 minute (health: starting)",
            "Image": "odoo:18.0",
        },
        {"Labels": {"org.sysgenpro.odoo.environment": "erp"}, "State": "running", "Status": "Up (healthy)"},
    ]
    (row,) = estate.enrich(rows, plan, containers)
    assert row["workers"] == "3 x1, cron 1"
    assert row["limits"] == "600Mi/1600Mi"  # the Odoo docs' sample limits, per worker
    assert row["database"] == "wh1@pg2 (limit 40)"
    assert row["redis"] == "redis odoo_wh1@r1"
    assert row["image"] == "odoo:18.0"
    assert row["health"] == "1/2 healthy"
    (stopped,) = estate.enrich(rows, plan, [])
    assert stopped["health"] == "not running"
