# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The five tuning filters: thin wrappers, error translation, docs, and the issue's acceptance command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.filter import (
    connection_budget,
    odoo_sizing,
    pg_tune,
    redis_sizing,
    tier_policy,
)

ROOT = Path(__file__).resolve().parents[4]
FILTERS = {
    "pg_tune": (pg_tune, {"memory": "4GiB", "cpus": 2, "max_connections": 100, "workload": "web"}),
    "odoo_sizing": (odoo_sizing, {"cpus": 4, "memory": "8GiB", "odoo_version": "17.0", "concurrent_users": 60}),
    "connection_budget": (
        connection_budget,
        {"max_connections": 100, "reserved": 8, "instances": [{"name": "erp", "workers": 4, "max_cron_threads": 2}]},
    ),
    "redis_sizing": (redis_sizing, {"users_per_tenant": 40, "tenants": 12}),
    "tier_policy": (tier_policy, {"tier": "regional"}),
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filter_is_registered_and_explains(name):
    module, inputs = FILTERS[name]
    function = module.FilterModule().filters()[name]
    settings = function(inputs)
    explained = function(inputs, explain=True)
    assert set(explained) == {"settings", "explain", "warnings", "inputs"}
    assert explained["settings"] == settings
    assert set(settings) <= set(explained["explain"])


@pytest.mark.parametrize(
    ("name", "inputs", "message"),
    [
        (
            "pg_tune",
            {"memory": "4GiB", "workload": "webshop"},
            "pg_tune: workload='webshop': unknown value; accepted: web, oltp, dw, desktop, mixed",
        ),
        (
            "odoo_sizing",
            {"cpus": 4, "memory": "8GiB"},
            "odoo_sizing: odoo_version=None: is required by odoo_sizing; accepted: a value for odoo_version (keys: "
            "cpus, memory, odoo_version, concurrent_users, replicas, max_cron_threads, db_maxconn, db_maxconn_gevent, "
            "light_worker_memory, heavy_worker_memory, heavy_worker_percent, limit_time_cpu, limit_time_real, "
            "limit_time_real_cron, limit_request, gevent_port)",
        ),
        (
            "tier_policy",
            "gold",
            "tier_policy: tier_policy='gold': must be a dict of inputs, got str; accepted: tier, overrides",
        ),
    ],
)
def test_errors_become_filter_errors(name, inputs, message):
    module = FILTERS[name][0]
    with pytest.raises(AnsibleFilterError) as err:
        module.FilterModule().filters()[name](inputs)
    assert err.value.message == message


def test_explain_must_be_boolean():
    with pytest.raises(AnsibleFilterError, match=r"pg_tune: explain='yes': must be true or false"):
        pg_tune.pg_tune({"memory": "4GiB"}, explain="yes")


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_ansible_doc(name):
    run = subprocess.run(
        ["ansible-doc", "-t", "filter", f"sysgenpro.odoo_platform.{name}"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"sysgenpro.odoo_platform.{name}" in run.stdout
    assert "EXAMPLES" in run.stdout and "RETURN VALUES" in run.stdout


def test_acceptance_command_prints_f04_values():
    # Issue 3 acceptance; values from FIELD_CASES F04 (PGTune's formulas on a 4 GiB base).
    msg = (
        "msg={{ {'memory': '4GiB', 'cpus': 2, 'max_connections': 100, 'workload': 'web'}"
        " | sysgenpro.odoo_platform.pg_tune }}"
    )
    run = subprocess.run(
        ["ansible", "localhost", "-m", "debug", "-a", msg],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for line in (
        "shared_buffers: 1GB",
        "effective_cache_size: 3GB",
        "maintenance_work_mem: 256MB",
        "wal_buffers: 16MB",
        "work_mem: 9709kB",
    ):
        assert line in run.stdout
