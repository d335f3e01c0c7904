"""Verify the postgres_tuning role on a converged Debian 12 server (PostgreSQL 15).

Every expected value comes from the scenario's inventory (the "plan") or from PostgreSQL's
documentation, never from the role's own variables.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

PG_LOG = "/var/log/postgresql/postgresql-15-main.log"
CA = "/etc/postgresql/15/main/tls/ca.crt"
# Bytes per unit, as PostgreSQL spells memory units (docs §20.1.1: kB, MB, GB, TB; 1024 multiples).
_MEMORY_UNITS = {"B": 1, "kB": 1024, "8kB": 8192, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@pytest.fixture(scope="module")
def plan(host):
    """The scenario's inventory variables (what the estate plan hands the role)."""
    return host.ansible.get_variables()


def _sql(host, query: str, db: str = "postgres") -> str:
    """Run ``query`` as the postgres superuser over the Unix socket; return unaligned output."""
    cmd = host.run("runuser -u postgres -- psql -X -A -t -v ON_ERROR_STOP=1 -d %s -c %s", db, query)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def _normalise(value: str, unit: str | None) -> object:
    """Turn a value into something comparable: bytes for memory, floats for numbers."""
    text = str(value).strip()
    match = re.fullmatch(r"(-?\d+)\s*(B|kB|MB|GB|TB)?", text)
    if unit in _MEMORY_UNITS and match:
        return int(match.group(1)) * _MEMORY_UNITS[match.group(2) or unit]
    try:
        return float(text)
    except ValueError:
        return {"true": "on", "false": "off"}.get(text.lower(), text)


def test_every_planned_setting_is_live_and_nothing_is_pending(host, plan):
    rows = _sql(host, "SELECT name, setting, coalesce(unit, ''), pending_restart FROM pg_settings")
    live = {r.split("|")[0]: r.split("|")[1:] for r in rows.splitlines()}
    for name, planned in plan["scenario_settings"].items():
        setting, unit, pending = live[name]
        assert _normalise(setting, unit or None) == _normalise(str(planned), unit or None), name
        assert pending == "f", name
    assert _sql(host, "SELECT count(*) FROM pg_settings WHERE pending_restart") == "0"


def test_security_baseline(host):
    assert _sql(host, "SHOW ssl") == "on"
    assert _sql(host, "SHOW password_encryption") == "scram-sha-256"
    assert _sql(host, "SHOW log_connections") == "on"
    assert _sql(host, "SHOW log_disconnections") == "on"
    assert "pg_stat_statements" in _sql(host, "SHOW shared_preload_libraries")
    # Loaded, not just listed: the view answers only when the library is in shared memory.
    _sql(host, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    assert int(_sql(host, "SELECT count(*) FROM pg_stat_statements")) >= 0


def test_tenant_roles_and_databases(host, plan):
    for tenant in plan["scenario_tenants"]:
        role, db = tenant["role"], tenant["database"]
        attrs = _sql(
            host,
            f"SELECT rolsuper, rolcreatedb, rolcreaterole, rolconnlimit, left(rolpassword, 14) "
            f"FROM pg_authid WHERE rolname = '{role}'",
        )
        assert attrs == f"f|f|f|{tenant['connection_limit']}|SCRAM-SHA-256$"
        assert _sql(host, f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{db}'") == role
        assert _sql(host, "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension", db) == (
            "pg_trgm,plpgsql,unaccent"
        )
        # Only the owner may connect or create in public (it owns the schema through pg_database_owner).
        assert _sql(host, f"SELECT has_schema_privilege('{role}', 'public', 'CREATE')", db) == "t"
        assert _sql(host, "SELECT has_schema_privilege('public', 'public', 'CREATE')", db) == "f"
        assert _sql(host, f"SELECT has_database_privilege('public', '{db}', 'CONNECT')") == "f"


def test_pg_hba_rules_are_exactly_the_planned_ones(host, plan):
    rows = _sql(
        host,
        "SELECT type, array_to_string(database, ','), array_to_string(user_name, ','), "
        "coalesce(address, ''), coalesce(netmask, ''), auth_method, coalesce(error, '') "
        "FROM pg_hba_file_rules ORDER BY line_number",
    ).splitlines()
    expected = [
        "local|all|postgres|||peer|",
        "local|replication|postgres|||peer|",
        "local|all|all|||reject|",
        "hostnossl|all|all|0.0.0.0|0.0.0.0|reject|",
        "hostnossl|all|all|::|::|reject|",
        "hostnossl|replication|all|0.0.0.0|0.0.0.0|reject|",
        "hostnossl|replication|all|::|::|reject|",
        "hostssl|wh_north|odoo_wh_north|127.0.0.1|255.255.255.255|scram-sha-256|",
        # Odoo also opens the maintenance database (wait-for-psql, db_server_status, db existence).
        "hostssl|postgres|odoo_wh_north|127.0.0.1|255.255.255.255|scram-sha-256|",
        "hostssl|wh_south|odoo_wh_south|10.99.0.0|255.255.255.0|scram-sha-256|",
        "hostssl|postgres|odoo_wh_south|10.99.0.0|255.255.255.0|scram-sha-256|",
        "hostssl|all|all|172.16.0.0|255.240.0.0|scram-sha-256|",
        "host|all|all|0.0.0.0|0.0.0.0|reject|",
        "host|all|all|::|::|reject|",
    ]
    assert rows == expected
    assert not [r for r in rows if "|trust|" in r]


def _connect(host, *, address: str, db: str, user: str, password: str, sslmode: str):
    """Try a TCP connection; return (rc, stderr, the server's log lines written meanwhile)."""
    offset = int(host.run("stat -c %%s %s", PG_LOG).stdout.strip() or 0)
    conninfo = f"host={address} dbname={db} user={user} sslmode={sslmode} sslrootcert={CA} connect_timeout=5"
    # The password goes through the environment, never argv.
    cmd = host.run(
        "PGPASSWORD=%s psql -X -A -t -d %s -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'",
        password,
        conninfo,
    )
    log = ""
    for _attempt in range(20):
        log = host.run("tail -c +%s %s", str(offset + 1), PG_LOG).stdout
        if cmd.rc == 0 or "FATAL" in log:
            break
        time.sleep(0.1)
    return cmd.rc, cmd.stdout.strip(), cmd.stderr, log


def _sqlstate(log: str) -> str:
    fatal = [line for line in log.splitlines() if "FATAL:" in line]
    assert fatal, log
    match = re.search(r"sqlstate=([0-9A-Z]{5})", fatal[-1])
    assert match, fatal[-1]
    return match.group(1)


@pytest.fixture(scope="module")
def tenants(plan):
    return {t["environment"]: t for t in plan["scenario_tenants"]}


@pytest.fixture(scope="module")
def own_address(host):
    """The container's Docker address: inside the scenario's admin network (172.16.0.0/12)."""
    return host.run("ip -4 -o addr show eth0").stdout.split()[3].split("/")[0]


def test_tenant_connects_to_its_own_database_over_verified_tls(host, tenants):
    north = tenants["wh-north"]
    rc, out, err, _log = _connect(
        host,
        address="127.0.0.1",
        db=north["database"],
        user=north["role"],
        password=north["password"],
        sslmode="verify-ca",
    )
    assert rc == 0, err
    assert out == "t"


def test_tenant_cannot_reach_another_tenants_database(host, tenants):
    north, south = tenants["wh-north"], tenants["wh-south"]
    # From its own network only the final reject rule matches: 28000 invalid_authorization_specification.
    rc, _out, err, log = _connect(
        host,
        address="127.0.0.1",
        db=south["database"],
        user=north["role"],
        password=north["password"],
        sslmode="require",
    )
    assert rc != 0
    assert "pg_hba.conf rejects connection" in err
    assert _sqlstate(log) == "28000"


def test_connect_privilege_is_the_second_wall(host, tenants, own_address):
    north, south = tenants["wh-north"], tenants["wh-south"]
    # The admin network's rule lets any role through pg_hba; CONNECT is only the owner's: 42501.
    rc, _out, err, log = _connect(
        host,
        address=own_address,
        db=south["database"],
        user=north["role"],
        password=north["password"],
        sslmode="require",
    )
    assert rc != 0
    assert "permission denied for database" in err
    assert _sqlstate(log) == "42501"


def test_plain_tcp_is_rejected(host, tenants):
    north = tenants["wh-north"]
    rc, _out, err, log = _connect(
        host,
        address="127.0.0.1",
        db=north["database"],
        user=north["role"],
        password=north["password"],
        sslmode="disable",
    )
    assert rc != 0
    assert "no encryption" in err
    assert _sqlstate(log) == "28000"


def test_wrong_password_is_refused(host, tenants):
    north = tenants["wh-north"]
    rc, _out, err, log = _connect(
        host,
        address="127.0.0.1",
        db=north["database"],
        user=north["role"],
        password="not-the-password",
        sslmode="require",
    )
    assert rc != 0
    assert "password authentication failed" in err
    assert _sqlstate(log) == "28P01"


def test_check_mode_reports_no_change():
    """A --check run of the converge playbook on the converged server changes nothing."""
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    playbook = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml"
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    run = subprocess.run(
        ["ansible-playbook", "--check", "--diff", "-i", str(inventory), str(playbook)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    stats = json.loads(run.stdout)["stats"]
    assert stats and all(s["changed"] == 0 and s["failures"] == 0 for s in stats.values()), stats
