"""Verify streaming replication: primary + hot standby built by the postgres_tuning role.

Expected values come from the scenario's inventory and PostgreSQL 15's documentation
(§27.2 log-shipping standby servers, §28.2 pg_stat_replication), not from the role.
"""

from __future__ import annotations

import ipaddress
import os
import time
import uuid

import pytest
import testinfra

PRIMARY = "sysgenpro-molecule-pg-primary"
STANDBY = "sysgenpro-molecule-pg-standby"
CONF = "/etc/postgresql/15/main"
# Hot standby refuses to run with a lower value than the primary's for these (docs §27.4.2, PG 15).
MAX_SETTINGS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def _host(name: str):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


@pytest.fixture(scope="module")
def primary():
    return _host(PRIMARY)


@pytest.fixture(scope="module")
def standby():
    return _host(STANDBY)


def _sql(host, query: str) -> str:
    cmd = host.run("runuser -u postgres -- psql -X -A -t -v ON_ERROR_STOP=1 -d postgres -c %s", query)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def test_roles_of_the_two_servers(primary, standby):
    assert _sql(primary, "SELECT pg_is_in_recovery()") == "f"
    assert _sql(standby, "SELECT pg_is_in_recovery()") == "t"
    assert _sql(standby, "SHOW hot_standby") == "on"


def test_a_row_written_on_the_primary_is_read_on_the_standby(primary, standby):
    marker = uuid.uuid4().hex
    _sql(primary, "CREATE TABLE IF NOT EXISTS replication_probe (marker text PRIMARY KEY)")
    _sql(primary, f"INSERT INTO replication_probe VALUES ('{marker}')")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _sql(standby, f"SELECT count(*) FROM replication_probe WHERE marker = '{marker}'") == "1":
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"row {marker} did not reach the standby within 30 s")


def test_lag_is_reported_on_both_sides(primary, standby):
    # The queries docs/postgres.md documents ("Replication lag").
    row = _sql(
        primary,
        "SELECT application_name, state, sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) >= 0 "
        "FROM pg_stat_replication",
    )
    assert row == f"{STANDBY}|streaming|async|t"
    slot = _sql(primary, "SELECT slot_type, active FROM pg_replication_slots")
    assert slot == "physical|t"
    lag = _sql(
        standby,
        "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) >= 0, "
        "status FROM pg_stat_wal_receiver",
    )
    assert lag == "t|streaming"


def test_standby_max_settings_are_not_below_the_primary(primary, standby):
    for name in MAX_SETTINGS:
        assert int(_sql(standby, f"SHOW {name}")) >= int(_sql(primary, f"SHOW {name}")), name
    assert _sql(standby, "SHOW max_connections") == "60"


def test_the_replication_password_is_only_in_a_private_file(standby):
    passfile = standby.file(f"{CONF}/replication.pgpass")
    assert (passfile.user, passfile.group, passfile.mode) == ("postgres", "postgres", 0o600)
    conninfo = _sql(standby, "SHOW primary_conninfo")
    assert "password" not in conninfo
    assert f"passfile={CONF}/replication.pgpass" in conninfo
    assert "sslmode=verify-full" in conninfo
    assert (
        "replication-TEST-ONLY-pw"
        not in standby.file("/var/lib/postgresql/15/main/postgresql.auto.conf").content_string
    )
    # Not on any command line either (walreceiver, a leftover pg_basebackup).
    assert "replication-TEST-ONLY-pw" not in standby.run("ps -eo args").stdout


def test_the_replication_rule_is_tls_and_scram_only(primary):
    networks = primary.ansible.get_variables()["postgres_tuning_replication_networks"]
    rules = _sql(
        primary,
        "SELECT type, address, netmask, auth_method FROM pg_hba_file_rules "
        "WHERE 'replication' = ANY(database) AND 'replicator' = ANY(user_name) ORDER BY line_number",
    )
    expected = [ipaddress.ip_network(network) for network in networks]
    assert rules.splitlines() == [f"hostssl|{n.network_address}|{n.netmask}|scram-sha-256" for n in expected]


def test_the_standbys_pgbouncer_reaches_the_primary(standby):
    """The stable endpoint: PgBouncer on the standby forwards the tenant to the primary over TLS."""
    variables = standby.ansible.get_variables()
    tenant = variables["postgres_tuning_tenants"][0]
    conninfo = (
        f"host=127.0.0.1 port=6432 dbname={tenant['database']} user={tenant['role']} sslmode=verify-full "
        f"sslrootcert={CONF}/tls/ca.crt connect_timeout=5"
    )
    cmd = standby.run(
        "PGPASSWORD=%s psql -X -A -t -d %s -c %s",
        tenant["password"],
        conninfo,
        "SELECT pg_is_in_recovery(), ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    assert cmd.rc == 0, cmd.stderr
    # Not in recovery: the query ran on the primary, reached with TLS.
    assert cmd.stdout.strip() == "f|t"
