# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgbouncer: pool sizes per mode, the budget check, bad input (values worked by hand)."""

from __future__ import annotations

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pgbouncer import pgbouncer_pools
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError

NORTH = {"environment": "wh-north", "database": "wh_north", "role": "odoo_wh_north", "connection_limit": 8}
SOUTH = {"environment": "wh-south", "database": "wh_south", "role": "odoo_wh_south", "connection_limit": 10}


def test_session_mode_caps_at_the_plans_limit():
    # Session pooling: a server connection per Odoo connection, so the cap is the plan's limit
    # (8 and 10), both pools as large (no split that could starve the bus); 18 <= 40 - 3.
    settings = pgbouncer_pools({"max_connections": 40, "tenants": [NORTH, SOUTH]}).settings
    assert settings["pools"] == [
        {
            "environment": "wh-north",
            "database": "wh_north",
            "role": "odoo_wh_north",
            "pool_size": 8,
            "maintenance_pool_size": 8,
            "max_user_connections": 8,
        },
        {
            "environment": "wh-south",
            "database": "wh_south",
            "role": "odoo_wh_south",
            "pool_size": 10,
            "maintenance_pool_size": 10,
            "max_user_connections": 10,
        },
    ]
    assert settings["server_connections"] == 18
    assert settings["saved_connections"] == 0
    # 2 * (8 + 10) clients; + 18 server + 64 margin file descriptors.
    assert settings["max_client_conn"] == 36
    assert settings["file_descriptors"] == 118


def test_transaction_mode_saves_idle_connections():
    # Plan: (2 replicas + 1 surge) * (4 workers + 2 cron + 1 gevent) * db_maxconn 8 = 168 for 21
    # processes; transaction mode: pool min(168 - 2, 2 * 21) = 42, + maintenance 2 = 44, 124 saved.
    tenant = dict(NORTH, connection_limit=168, processes=21)
    settings = pgbouncer_pools({"max_connections": 200, "pool_mode": "transaction", "tenants": [tenant]}).settings
    assert settings["pools"][0]["max_user_connections"] == 44
    assert settings["pools"][0]["pool_size"] == 42
    assert settings["saved_connections"] == 124


def test_transaction_mode_never_exceeds_the_limit():
    # min(8 - 2, 42) = 6, + 2 = 8.
    tenant = dict(NORTH, connection_limit=8, processes=21)
    pools = pgbouncer_pools({"max_connections": 40, "pool_mode": "transaction", "tenants": [tenant]}).settings["pools"]
    assert (pools[0]["pool_size"], pools[0]["max_user_connections"]) == (6, 8)


def test_small_limit_keeps_one_connection_for_the_database():
    tenant = dict(NORTH, connection_limit=2, processes=1)
    pools = pgbouncer_pools({"max_connections": 10, "pool_mode": "transaction", "tenants": [tenant]}).settings["pools"]
    assert (pools[0]["pool_size"], pools[0]["maintenance_pool_size"]) == (1, 1)


@pytest.mark.parametrize(
    ("inputs", "key", "reason"),
    [
        ({"max_connections": 20, "tenants": [NORTH, SOUTH]}, "tenants", "the pools need 18 server connections"),
        ({"max_connections": 40, "tenants": []}, "tenants", "must be a non-empty list"),
        ({"max_connections": 40, "pool_mode": "statement", "tenants": [NORTH]}, "pool_mode", "unknown value"),
        (
            {"max_connections": 40, "pool_mode": "transaction", "tenants": [NORTH]},
            "tenants[0].processes",
            "is required",
        ),
        ({"max_connections": 40, "tenants": [dict(NORTH, role="Odoo")]}, "tenants[0].role", "is not a lower-case"),
        ({"max_connections": 40, "tenants": [NORTH, dict(SOUTH, role="odoo_wh_north")]}, "tenants[1].role", "is used"),
        ({"max_connections": 40, "tenants": [dict(NORTH, connection_limit=1)]}, "tenants[wh-north]", "leaves no"),
        (
            {"max_connections": 40, "tenants": [dict(NORTH, connection_limit="x")]},
            "tenants[0].connection_limit",
            "is not",
        ),
    ],
)
def test_bad_input(inputs, key, reason):
    with pytest.raises(InputError) as err:
        pgbouncer_pools(inputs)
    assert err.value.key.startswith(key)
    assert err.value.reason.startswith(reason)


def test_password_never_in_an_error():
    tenant = dict(NORTH, password="s3cret-TEST-ONLY", connection_limit=1)
    with pytest.raises(InputError) as err:
        pgbouncer_pools({"max_connections": 40, "tenants": [tenant]})
    assert "s3cret" not in str(err.value)
