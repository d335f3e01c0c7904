# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Workload profiles: pools, queue_job channels, API paths, peak windows and their budget."""

from __future__ import annotations

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import plan, workload
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.container_spec import (
    container_spec,
    docker_actions,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.k8s_objects import k8s_objects
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_conf import render_odoo_conf
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_report import render_markdown
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError

_SECRETS = {"odoo_platform_db_password": "kT9v-2qLx_Wm8rPz", "odoo_platform_admin_password": "Zp4n_8vQm-3LwYx7"}
OPTIONS = {"image": "odoo:19.0", "db_host": "pg1", "db_sslmode": "require", "db_password": "p", "admin_password": "a"}


def _estate(pg_memory="16GiB", **envs):
    base = {
        "odoo_platform_runtime": "docker",
        "odoo_platform_container_host": "docker1",
        "odoo_platform_postgres_server": "pg1",
        "odoo_platform_odoo_version": "19.0",
        "odoo_platform_cpus": 2,
        "odoo_platform_memory": "4GiB",
    }
    hosts = {name: {**_SECRETS, **base, **values} for name, values in envs.items()}
    hosts["pg1"] = {"odoo_platform_pg_memory": pg_memory, "odoo_platform_pg_cpus": 4}
    groups = {
        "environments": list(envs),
        "tier_mission_critical": [],
        "tier_regional": [],
        "tier_standard": list(envs),
        "tenancy_shared": list(envs),
        "tenancy_dedicated": [],
        "postgres_servers": ["pg1"],
        "container_hosts": ["docker1"],
        "redis_servers": ["r1"],
    }
    return hosts, groups


@pytest.mark.parametrize(
    ("workers", "replicas", "channels"),
    [
        # queue_job runs each job inside the HTTP worker that took /queue_job/runjob: one slot per worker,
        # one worker kept free (health check, the runner's next dispatch).
        (5, 1, "root:4"),
        (2, 1, "root:1"),
        (1, 1, "root:1"),
        (4, 2, "root:7"),
    ],
)
def test_queue_job_channels(workers, replicas, channels):
    assert workload.queue_job_channels(workers, replicas)[0] == channels


@pytest.mark.parametrize(
    ("major", "extra", "paths"),
    [
        # Odoo external API docs: XML-RPC under /xmlrpc/2/, JSON-RPC at /jsonrpc; JSON-2 (/json/2/) from 19.0.
        (17, [], ["/jsonrpc", "/xmlrpc/2/"]),
        (19, [], ["/jsonrpc", "/xmlrpc/2/", "/json/2/"]),
        (18, ["/api/telematics/", "/jsonrpc"], ["/jsonrpc", "/xmlrpc/2/", "/api/telematics/"]),
    ],
)
def test_api_paths(major, extra, paths):
    assert workload.api_paths(major, extra) == paths


def test_balanced_has_no_side_pool():
    hosts, groups = _estate(wh={})
    env = plan.build_plan(hosts, groups)["environments"]["wh"]
    assert env["workload_profile"] == "balanced"
    assert env["pools"] == {}
    assert [i["name"] for i in env["instances"]] == ["wh/web"]


def test_warehouse_heavy_runs_a_jobs_pool_with_long_limits_and_channels():
    hosts, groups = _estate(wh={"odoo_platform_workload_profile": "warehouse_heavy"})
    result = plan.build_plan(hosts, groups)
    env = result["environments"]["wh"]
    jobs = env["pools"]["jobs"]
    # odoo_sizing for 2 CPUs / 4 GiB gives the container 5 workers (docs/tuning.md); all serve jobs.
    assert (jobs["workers"], jobs["replicas"], jobs["channels"]) == (5, 1, "root:4")
    assert jobs["settings"]["limit_time_real"] == workload.JOB_LIMIT_TIME_REAL
    assert jobs["settings"]["limit_time_cpu"] == workload.JOB_LIMIT_TIME_CPU
    instance = next(i for i in env["instances"] if i["name"] == "wh/jobs")
    assert (instance["workers"], instance["replicas"], instance["surge"]) == (5, 1, 0)
    # The budget counts the pool: the environment's CONNECTION LIMIT includes it.
    per_instance = result["postgres_servers"]["pg1"]["budget"]["settings"]["per_instance"]
    assert env["connection_limit"] == per_instance["wh/web"]["demand"] + per_instance["wh/jobs"]["demand"]


def test_jobs_pool_renders_queue_job_runner_and_channels_only_there():
    hosts, groups = _estate(wh={"odoo_platform_workload_profile": "warehouse_heavy", "odoo_platform_job_workers": 3})
    env = plan.build_plan(hosts, groups)["environments"]["wh"]
    spec = container_spec(env, OPTIONS)
    jobs_conf, web_conf = spec["files"]["odoo-jobs.conf"], spec["files"]["odoo-web.conf"]
    assert "server_wide_modules = base,web,queue_job\n" in jobs_conf
    assert jobs_conf.endswith("\n[queue_job]\nchannels = root:2\n")
    assert "workers = 3\n" in jobs_conf and "max_cron_threads = 0\n" in jobs_conf
    assert "limit_time_real = 3600\n" in jobs_conf
    assert "queue_job" not in web_conf
    jobs = next(i for i in spec["instances"] if i["component"] == "jobs")
    assert (jobs["exposed"], jobs["exclusive"], jobs["env"]) == (False, True, {"ODOO_PLATFORM_POOL": "jobs"})
    actions = docker_actions(spec, [], config_root="/etc/sysgenpro/odoo", network="n", volume="v")
    names = [s["start"]["name"] for s in actions["steps"]]
    assert names == [f"wh-web-{spec['hash'][:8]}-0", f"wh-jobs-{spec['hash'][:8]}"]
    assert [s["stop_first"] for s in actions["steps"]] == [False, True]


def test_transport_api_heavy_runs_an_api_pool_with_paths_and_integrations():
    hosts, groups = _estate(
        tr={
            "odoo_platform_workload_profile": "transport_api_heavy",
            "odoo_platform_api_replicas": 2,
            "odoo_platform_api_routes": ["/api/telematics/"],
            "odoo_platform_api_integrations": [{"name": "telematics", "source_ranges": ["198.51.100.0/24"]}],
            "odoo_platform_redis_server": "r1",
            "odoo_platform_redis_password": "r-TEST-ONLY-pw-0001",
        }
    )
    env = plan.build_plan(hosts, groups)["environments"]["tr"]
    api = env["pools"]["api"]
    assert (api["replicas"], api["max_replicas"]) == (2, 2)
    assert api["paths"] == ["/jsonrpc", "/xmlrpc/2/", "/json/2/", "/api/telematics/"]
    assert env["api_integrations"] == [
        {"name": "telematics", "source_ranges": ["198.51.100.0/24"], "average": 20, "burst": 40, "paths": []}
    ]
    instance = next(i for i in env["instances"] if i["name"] == "tr/api")
    assert (instance["replicas"], instance["surge"]) == (2, 1)
    spec = container_spec(env, {**OPTIONS, "redis_host": "r1", "redis_password": "x"})
    api_instance = next(i for i in spec["instances"] if i["component"] == "api")
    assert (api_instance["exposed"], api_instance["replicas"]) == (True, 2)


def test_peak_window_counts_at_its_peak_and_switches_on_when_asked():
    peaks = [{"name": "receiving", "schedule": "Mon-Fri 05:00-09:00", "web_replicas": 3, "cron_threads": 3}]
    values = {"odoo_platform_peak_windows": peaks, "odoo_platform_redis_server": "r1"}
    hosts, groups = _estate(wh=dict(values, odoo_platform_redis_password="r-TEST-ONLY-pw-0001"))
    env = plan.build_plan(hosts, groups)["environments"]["wh"]
    web = next(i for i in env["instances"] if i["name"] == "wh/web")
    cron = next(i for i in env["instances"] if i["name"] == "wh/cron")
    assert (env["replicas"], env["max_replicas"], web["replicas"]) == (1, 3, 3)
    assert cron["max_cron_threads"] == 3
    assert env["cron_apart"] is True  # three replicas at the peak: cron must already run apart
    assert env["active_peak"] is None and env["cron_threads"] == 2
    hosts["wh"]["odoo_platform_active_peak"] = "receiving"
    active = plan.build_plan(hosts, groups)["environments"]["wh"]
    assert (active["replicas"], active["cron_threads"], active["active_peak"]) == (3, 3, "receiving")


def test_a_peak_that_breaks_the_budget_is_refused():
    # 1 GiB for PostgreSQL caps max_connections well below three replicas of five workers at db_maxconn 8.
    peaks = [{"name": "month-end", "schedule": "monthly-last 08:00-20:00", "web_replicas": 3}]
    hosts, groups = _estate(
        pg_memory="1GiB",
        wh={"odoo_platform_peak_windows": peaks, "odoo_platform_redis_server": "r1", "odoo_platform_cpus": 1},
    )
    with pytest.raises(plan.PlanError) as err:
        plan.build_plan(hosts, groups)
    assert "pg1: odoo_platform_peak_windows: 'wh': at the peaks the server's connection demand" in str(err.value)
    assert "lower the peak targets, or give the database server more memory" in str(err.value)
    hosts["wh"]["odoo_platform_peak_windows"] = []
    plan.build_plan(hosts, groups)  # without the peak the same estate plans (db_maxconn may be lowered)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"odoo_platform_workload_profile": "warehouse"},
            "wh: odoo_platform_workload_profile: 'warehouse': unknown profile. "
            "Fix: accepted: balanced, warehouse_heavy, transport_api_heavy",
        ),
        (
            {"odoo_platform_peak_windows": [{"name": "rx", "schedule": "Mon-Fri 5-9", "web_replicas": 2}]},
            "wh: odoo_platform_peak_windows[0].schedule: 'Mon-Fri 5-9': is not a window. Fix: accepted: e.g. "
            "'Mon-Fri 05:00-09:00', 'daily 16:00-18:00', 'monthly-last 08:00-20:00'",
        ),
        (
            {"odoo_platform_peak_windows": [{"name": "rx", "schedule": "daily 05:00-09:00", "api_replicas": 2}]},
            "wh: odoo_platform_peak_windows[0].api_replicas: 2: needs an api pool. Fix: accepted: transport_api_heavy",
        ),
        (
            {"odoo_platform_workload_profile": "warehouse_heavy", "odoo_platform_job_workers": 9},
            "wh: odoo_platform_job_workers: 9: is more than the 5 workers the jobs container's memory and CPUs allow. "
            "Fix: accepted: <= 5, or more odoo_platform_job_memory/odoo_platform_job_cpus",
        ),
        (
            {"odoo_platform_active_peak": "month-end"},
            "wh: odoo_platform_active_peak: 'month-end': names no peak window. "
            "Fix: accepted: none defined in odoo_platform_peak_windows",
        ),
    ],
)
def test_bad_profile_input_names_the_variable(values, message):
    hosts, groups = _estate(wh=values)
    with pytest.raises(plan.PlanError) as err:
        plan.build_plan(hosts, groups)
    assert message in str(err.value)


def test_unknown_pool_role_is_refused():
    with pytest.raises(InputError, match="has no jobs pool"):
        hosts, groups = _estate(wh={})
        env = plan.build_plan(hosts, groups)["environments"]["wh"]
        render_odoo_conf(env, role="jobs", db_host="pg", db_password="p", admin_passwd="a")


def test_plan_report_shows_profile_pools_and_peaks():
    peaks = [{"name": "receiving", "schedule": "Mon-Fri 05:00-09:00", "job_workers": 5}]
    hosts, groups = _estate(
        wh={
            "odoo_platform_workload_profile": "warehouse_heavy",
            "odoo_platform_job_workers": 3,
            "odoo_platform_peak_windows": peaks,
        }
    )
    report = render_markdown(plan.build_plan(hosts, groups))
    assert "| `workload_profile` | warehouse_heavy |" in report
    assert "| `jobs pool` | 1 x 3 workers (budget at peak: 1 x 5) |" in report
    assert "| `queue_job channels` | root:2 |" in report
    assert "| `peak receiving` | Mon-Fri 05:00-09:00: job_workers=5 |" in report


def test_api_pool_on_kubernetes_has_its_service_and_ingress_policy():
    hosts, groups = _estate(
        tr={
            "odoo_platform_workload_profile": "transport_api_heavy",
            "odoo_platform_runtime": "kubernetes",
            "odoo_platform_kubernetes_cluster": "k8s-a",
        }
    )
    groups["kubernetes_clusters"] = ["k8s-a"]
    env = plan.build_plan(hosts, groups)["environments"]["tr"]
    objects = k8s_objects(container_spec(env, {**OPTIONS, "db_sslmode": "require"}), {"db_cidrs": ["10.0.0.0/24"]})
    service = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "odoo-tr-api")
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "api"
    policy = next(o for o in objects if o["metadata"]["name"] == "odoo-tr-ingress-api")
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": 8069, "protocol": "TCP"}]
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "odoo-tr-api")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "ODOO_PLATFORM_POOL", "value": "api"}]


def test_api_pool_peak_becomes_its_hpa_where_the_tier_allows_autoscaling():
    peaks = [{"name": "dispatch", "schedule": "Mon-Fri 16:00-19:00", "api_replicas": 4}]
    hosts, groups = _estate(
        tr={
            "odoo_platform_workload_profile": "transport_api_heavy",
            "odoo_platform_runtime": "kubernetes",
            "odoo_platform_kubernetes_cluster": "k8s-a",
            "odoo_platform_peak_windows": peaks,
            "odoo_platform_redis_server": "r1",
            "odoo_platform_redis_password": "r-TEST-ONLY-pw-0001",
        }
    )
    groups.update(kubernetes_clusters=["k8s-a"], tier_standard=[], tier_regional=["tr"])
    env = plan.build_plan(hosts, groups)["environments"]["tr"]
    assert env["policy"]["settings"]["autoscaling_allowed"] is True  # tier policy: regional may autoscale
    spec = container_spec(env, {**OPTIONS, "redis_host": "r1", "redis_password": "x"})
    objects = k8s_objects(spec, {"db_cidrs": ["10.0.0.0/24"]})
    hpa = next(o for o in objects if o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] == "odoo-tr-api")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 4)
