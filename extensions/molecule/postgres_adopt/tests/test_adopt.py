"""Verify the adoption of a legacy cluster: data intact, SCRAM passwords, scram-only pg_hba.

Expected values come from the scenario's prepare step (checksums recorded before the role ran)
and PostgreSQL 15's documentation (§21.5: an md5 hash cannot be used for scram-sha-256).
"""

from __future__ import annotations

import pytest

CHECKSUMS = (
    "SELECT 'res_partner:' || md5(string_agg(t::text, '|' ORDER BY id)) FROM res_partner t "
    "UNION ALL SELECT 'ir_attachment:' || md5(string_agg(t::text, '|' ORDER BY id)) FROM ir_attachment t"
)


def _sql(host, query: str, db: str = "postgres") -> str:
    cmd = host.run("runuser -u postgres -- psql -X -A -t -v ON_ERROR_STOP=1 -d %s -c %s", db, query)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


@pytest.fixture(scope="module")
def tenant(host):
    return host.ansible.get_variables()["scenario_tenants"][0]


def test_rows_are_unchanged(host):
    before = host.file("/root/checksums.before").content_string.strip()
    assert before.count(":") == 2
    assert _sql(host, CHECKSUMS, "acme") == before


def test_passwords_are_scram_and_rules_are_scram_only(host, tenant):
    assert (
        _sql(host, f"SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = '{tenant['role']}'")
        == "SCRAM-SHA-256$"
    )
    assert _sql(host, "SELECT count(*) FROM pg_authid WHERE rolpassword LIKE 'md5%'") == "0"
    methods = _sql(host, "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type LIKE 'host%' ORDER BY 1")
    assert methods.splitlines() == ["reject", "scram-sha-256"]


def test_tenant_logs_in_with_scram_over_tls(host, tenant):
    # The password goes through the environment, never psql's argv.
    cmd = host.run(
        "PGPASSWORD=%s PGSSLMODE=verify-full PGSSLROOTCERT=/etc/postgresql/15/main/tls/ca.crt "
        "psql -X -A -t -h 127.0.0.1 -U %s -d %s -c %s",
        tenant["password"],
        tenant["role"],
        tenant["database"],
        "SELECT count(*) FROM res_partner",
    )
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip() == "20000"
    log = host.file("/var/log/postgresql/postgresql-15-main.log").content_string
    assert f'connection authenticated: identity="{tenant["role"]}" method=scram-sha-256' in log
