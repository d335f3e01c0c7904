# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""odoo_sizing: the Odoo docs' sample, per-version options, bad input, invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_sizing import odoo_sizing
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError

MIB = 1024**2
# Odoo deployment docs, configuration sample "4 CPU, 8 threads, 60 concurrent users" (FIELD_CASES F03);
# RAM is not stated there, the input uses 8 GiB.
DOCS_SAMPLE = {"cpus": 4, "memory": "8GiB", "concurrent_users": 60}
DOCS_VALUES = {
    "workers": 8,
    "max_cron_threads": 1,
    "limit_memory_soft": 629145600,
    "limit_memory_hard": 1677721600,
    "limit_time_cpu": 600,
    "limit_time_real": 1200,
    "limit_request": 8192,
}


@pytest.mark.parametrize("version", ["16.0", "17.0", "18.0", "19.0", 17, "12.0"])
def test_docs_sample(version):
    settings = odoo_sizing({**DOCS_SAMPLE, "odoo_version": version}).settings
    assert {k: settings[k] for k in DOCS_VALUES} == DOCS_VALUES


@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [
        # Odoo config.py: gevent_port from 16.0 (longpolling_port before); db_maxconn_gevent from 17.0;
        # limit_memory_soft_gevent / limit_memory_hard_gevent from 18.0; limit_time_real_cron in all.
        ("15.0", {"longpolling_port", "limit_time_real_cron"}, {"gevent_port", "db_maxconn_gevent"}),
        ("16.0", {"gevent_port", "limit_time_real_cron"}, {"longpolling_port", "db_maxconn_gevent"}),
        ("17.0", {"gevent_port", "db_maxconn_gevent"}, {"limit_memory_soft_gevent", "limit_memory_hard_gevent"}),
        ("18.0", {"db_maxconn_gevent", "limit_memory_soft_gevent", "limit_memory_hard_gevent"}, {"longpolling_port"}),
        ("19.0", {"db_maxconn_gevent", "limit_memory_soft_gevent", "limit_memory_hard_gevent"}, {"longpolling_port"}),
    ],
)
def test_version_options(version, present, absent):
    settings = odoo_sizing({**DOCS_SAMPLE, "odoo_version": version}).settings
    assert present <= set(settings)
    assert not absent & set(settings)


def test_docs_sample_plan_values():
    # processes = 8 workers + 1 cron + 1 gevent; per process 0.8 * 150 MiB + 0.2 * 1 GiB
    # = 125829120 + 214748364.8 -> 340577485 bytes (docs' "memory size calculation").
    settings = odoo_sizing({**DOCS_SAMPLE, "odoo_version": "18.0"}).settings
    assert settings["processes"] == 10
    assert settings["estimated_ram"] == 10 * 340577485
    assert settings["limit_memory_soft_gevent"] == 629145600
    assert settings["resources"] == {"requests": {"cpu": "4", "memory": "3249Mi"}, "limits": {"memory": "8Gi"}}


def test_small_container_lowers_limits_by_the_documented_rule():
    # docs/tuning.md rule, worked by hand: 2 CPU, 4 GiB, no users -> workers 2*2+1-1 = 4 (memory allows
    # floor(4294967296 / 340577485) - 2 = 10); processes 6; soft = min(600 MiB, 3/4 * 4096 MiB / 6 = 512 MiB)
    # = 536870912; hard = min(1600 MiB, floor(512 * 8/3) = 1365 MiB, 4096 - 5 * 512 = 1536 MiB) = 1431306240.
    settings = odoo_sizing({"cpus": 2, "memory": "4Gi", "odoo_version": "16.0"}).settings
    assert settings["workers"] == 4
    assert settings["limit_memory_soft"] == 512 * MIB
    assert settings["limit_memory_hard"] == 1365 * MIB


def test_millicores_and_web_pods_without_cron():
    # 1500m: 2 * 1.5 + 1 = 4 slots; max_cron_threads 0 (cron in its own deployment) -> 4 workers.
    settings = odoo_sizing({"cpus": "1500m", "memory": "4Gi", "odoo_version": 17, "max_cron_threads": 0}).settings
    assert settings["workers"] == 4
    assert settings["max_cron_threads"] == 0
    assert settings["resources"]["requests"]["cpu"] == "1500m"


BAD = [
    (
        {"cpus": 4, "memory": "8GiB", "odoo_version": "20.0"},
        "odoo_version='20.0': unknown Odoo series; accepted: an Odoo series 12.0 to 19.0 ('17.0' or 17); "
        "deployments use 16.0-19.0",
    ),
    (
        {"cpus": 4, "memory": "8 gigs", "odoo_version": "17.0"},
        "memory='8 gigs': has an unknown unit 'gigs'; accepted: integer bytes, PostgreSQL units (kB, MB, GB, TB "
        "= powers of 1024), IEC units (KiB, MiB, GiB, TiB), Kubernetes quantities (Ki, Mi, Gi, Ti; decimal k, M, "
        "G, T = powers of 1000), e.g. 4GiB, 4096Mi, 4294967296",
    ),
    (
        {"cpus": 4, "memory": "8GiB", "odoo_version": "17.0", "workers": 9},
        "workers=9: unknown key for odoo_sizing; accepted: cpus, memory, odoo_version, concurrent_users, replicas, "
        "max_cron_threads, db_maxconn, db_maxconn_gevent, light_worker_memory, heavy_worker_memory, "
        "heavy_worker_percent, limit_time_cpu, limit_time_real, limit_time_real_cron, limit_request, gevent_port",
    ),
    (
        {"cpus": 4, "memory": "512Mi", "odoo_version": "17.0"},
        "memory='512Mi': leaves no room for one worker (floor(536870912 / 340577485) - 1 cron - 1 gevent = -1); "
        "accepted: more memory or CPUs, fewer max_cron_threads, or smaller worker memory estimates",
    ),
    (
        {"cpus": 0, "memory": "8GiB", "odoo_version": "17.0"},
        "cpus=0: must be more than 0; accepted: a positive number of CPUs (2, 1.5) or Kubernetes millicores ('1500m')",
    ),
]


@pytest.mark.parametrize(("inputs", "message"), BAD)
def test_bad_input(inputs, message):
    with pytest.raises(InputError) as err:
        odoo_sizing(inputs)
    assert str(err.value) == message


@given(
    millicores=st.integers(min_value=500, max_value=64000),
    memory_mib=st.integers(min_value=256, max_value=512 * 1024),
    users=st.one_of(st.none(), st.integers(min_value=1, max_value=5000)),
    cron=st.integers(min_value=0, max_value=4),
    version=st.sampled_from(["12.0", "15.0", "16.0", "17.0", "18.0", "19.0"]),
)
def test_never_exceeds_the_memory_given(millicores, memory_mib, users, cron, version):
    memory = memory_mib * MIB
    inputs = {"cpus": f"{millicores}m", "memory": memory, "odoo_version": version, "max_cron_threads": cron}
    if users:
        inputs["concurrent_users"] = users
    try:
        settings = odoo_sizing(inputs).settings
    except InputError as err:
        # Refused only when one worker, the cron threads and the gevent process cannot fit.
        assert err.key in ("memory", "cpus")
        return
    processes = settings["processes"]
    assert processes == settings["workers"] + cron + 1
    assert settings["workers"] >= 1
    assert settings["workers"] + cron <= math.floor(2 * millicores / 1000 + 1)
    if users:
        assert settings["workers"] <= math.ceil(users / 6)
    assert settings["estimated_ram"] <= memory
    assert processes * settings["limit_memory_soft"] <= memory
    assert 0 < settings["limit_memory_soft"] < settings["limit_memory_hard"] < memory
    assert isinstance(settings["limit_memory_soft"], int) and isinstance(settings["limit_memory_hard"], int)
