# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgbouncer_pools, maintenance_timers, pg_settings_mismatches: thin wrappers and error translation."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.filter import (
    maintenance_timers,
    pg_settings_mismatches,
    pgbouncer_pools,
)

TENANT = {"environment": "wh", "database": "wh", "role": "odoo_wh", "connection_limit": 8, "password": "x" * 12}


def test_registered_names():
    assert set(pgbouncer_pools.FilterModule().filters()) == {"pgbouncer_pools"}
    assert set(maintenance_timers.FilterModule().filters()) == {"maintenance_timers"}
    assert set(pg_settings_mismatches.FilterModule().filters()) == {"pg_settings_mismatches"}


def test_pools_and_their_explanation():
    settings = pgbouncer_pools.pgbouncer_pools({"max_connections": 20, "tenants": [TENANT]})
    assert settings["server_connections"] == 8
    explained = pgbouncer_pools.pgbouncer_pools({"max_connections": 20, "tenants": [TENANT]}, explain=True)
    assert explained["explain"]["pools.wh"].startswith("max_user_connections: connection_limit 8")


def test_errors_name_the_filter_and_never_the_password():
    with pytest.raises(AnsibleFilterError, match=r"^pgbouncer_pools: tenants=\['wh'\]: the pools need 8") as err:
        pgbouncer_pools.pgbouncer_pools({"max_connections": 10, "tenants": [TENANT]})
    assert "x" * 12 not in str(err.value)
    with pytest.raises(AnsibleFilterError, match=r"^maintenance_timers: window='sun': is not a maintenance window"):
        maintenance_timers.maintenance_timers({"window": "sun"})


@pytest.mark.parametrize(
    ("rows", "planned", "message"),
    [
        ("text", {}, "the input must be the rows of a pg_settings query"),
        ([{"name": "work_mem"}], {"work_mem": "4MB"}, "a pg_settings row lacks setting"),
        ([], ["work_mem"], "planned must be a mapping"),
    ],
)
def test_mismatch_errors(rows, planned, message):
    with pytest.raises(AnsibleFilterError, match=f"^pg_settings_mismatches: {message}"):
        pg_settings_mismatches.pg_settings_mismatches(rows, planned)
