# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""connection_budget: FIELD_CASES F02, several instances, bad input, sums add up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.connection_budget import connection_budget
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError


def test_f02():
    # FIELD_CASES F02: (4 workers + 2 cron + 1 gevent) * 64 = 448 > 100 - 8 = 92; floor(92 / 7) = 13.
    result = connection_budget(
        {
            "max_connections": 100,
            "reserved": 8,
            "instances": [{"name": "erp", "workers": 4, "max_cron_threads": 2, "db_maxconn": 64}],
        }
    )
    assert result.settings["demand"] == 448
    assert result.settings["capacity"] == 92
    assert result.settings["fits"] is False
    assert result.settings["suggested_db_maxconn"] == 13
    assert result.warnings[0].startswith("connection demand 448 exceeds capacity 92: set db_maxconn to 13")


def test_replicas_surge_and_threaded_instance():
    # Worked by hand: api (2 replicas + 1 surge) * (4 + 1 + 1) * 8 = 144; legacy threaded mode
    # (workers 0 -> one process) 1 * 1 * 16 = 16; demand 160 <= 200 - 10 = 190;
    # processes 18 + 1 = 19 -> suggested floor(190 / 19) = 10.
    settings = connection_budget(
        {
            "max_connections": 200,
            "reserved": 10,
            "instances": [
                {"name": "api", "workers": 4, "max_cron_threads": 1, "db_maxconn": 8, "replicas": 2, "surge": 1},
                {"name": "legacy", "workers": 0, "db_maxconn": 16},
            ],
        }
    ).settings
    assert settings["per_instance"] == {
        "api": {"processes": 18, "demand": 144},
        "legacy": {"processes": 1, "demand": 16},
    }
    assert (settings["demand"], settings["fits"], settings["suggested_db_maxconn"]) == (160, True, 10)
    assert settings["headroom"] == 30


def test_warns_below_four():
    # 40 - 3 reserved (default) = 37 over 2 * (8 + 2 + 1) = 22 processes -> 1.
    result = connection_budget({"max_connections": 40, "instances": [{"name": "a", "workers": 8, "replicas": 2}]})
    assert result.settings["suggested_db_maxconn"] == 1
    assert (
        "suggested db_maxconn 1 is below 4: cron jobs and reports will wait for connections; "
        "raise max_connections or add a pooler instead"
    ) in result.warnings


BAD = [
    (
        {"max_connections": 100, "instances": []},
        "instances=[]: must be a non-empty list; accepted: a non-empty list of dicts with keys name, workers, "
        "max_cron_threads, db_maxconn, replicas, surge",
    ),
    (
        {"max_connections": 100, "instances": [{"name": "a", "workers": 2, "cron": 1}]},
        "cron=1: unknown key for instances[0]; accepted: name, workers, max_cron_threads, db_maxconn, replicas, surge",
    ),
    (
        {"max_connections": 100, "instances": [{"name": "a", "workers": -1}]},
        "instances[0].workers=-1: out of range; accepted: a whole number >= 0",
    ),
    (
        {"max_connections": 100, "instances": [{"name": "a", "workers": 1}, {"name": "a", "workers": 1}]},
        "instances[1].name='a': is used twice; accepted: a unique name per instance",
    ),
    (
        {"max_connections": "lots", "instances": [{"name": "a", "workers": 1}]},
        "max_connections='lots': is not a whole number; accepted: a whole number >= 1",
    ),
]


@pytest.mark.parametrize(("inputs", "message"), BAD)
def test_bad_input(inputs, message):
    with pytest.raises(InputError) as err:
        connection_budget(inputs)
    assert str(err.value) == message


INSTANCE = st.fixed_dictionaries(
    {
        "workers": st.integers(min_value=0, max_value=32),
        "max_cron_threads": st.integers(min_value=0, max_value=4),
        "db_maxconn": st.integers(min_value=1, max_value=128),
        "replicas": st.integers(min_value=1, max_value=10),
        "surge": st.integers(min_value=0, max_value=3),
    }
)


@given(
    max_connections=st.integers(min_value=10, max_value=5000),
    reserved=st.integers(min_value=0, max_value=9),
    instances=st.lists(INSTANCE, min_size=1, max_size=6),
)
def test_budget_sums_add_up(max_connections, reserved, instances):
    named = [{"name": f"i{n}", **inst} for n, inst in enumerate(instances)]
    s = connection_budget({"max_connections": max_connections, "reserved": reserved, "instances": named}).settings
    assert s["demand"] == sum(i["demand"] for i in s["per_instance"].values())
    assert s["total_processes"] == sum(i["processes"] for i in s["per_instance"].values())
    assert s["capacity"] == max_connections - reserved
    assert s["fits"] == (s["demand"] <= s["capacity"])
    assert s["headroom"] == s["capacity"] - s["demand"]
    # The suggestion fits, and one more connection per process would not.
    assert s["suggested_db_maxconn"] * s["total_processes"] <= s["capacity"]
    assert (s["suggested_db_maxconn"] + 1) * s["total_processes"] > s["capacity"]
