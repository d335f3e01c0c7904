"""Verify PgBouncer in front of the tenants and the maintenance timers (postgres_tuning, pooling on).

Expected values come from the scenario's inventory, from the pool formula worked by hand (session
mode: a role's server connections are capped at its plan connection_limit, 2 of them for the
maintenance database), from PgBouncer's and PostgreSQL's documented messages, and from
systemd.time(7) for the calendar; never from the role's own variables.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

CA = "/etc/postgresql/15/main/tls/ca.crt"
PORT = 6432
CLIENTS = 20


@pytest.fixture(scope="module")
def tenants(host):
    variables = host.ansible.get_variables()
    return {t["environment"]: t for t in variables["scenario_tenants"]}


def _sql(host, query: str, db: str = "postgres") -> str:
    cmd = host.run("runuser -u postgres -- psql -X -A -t -v ON_ERROR_STOP=1 -d %s -c %s", db, query)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def _through_pooler(host, tenant, *, db=None, password=None, sslmode="verify-full", query="SELECT 1"):
    conninfo = (
        f"host=127.0.0.1 port={PORT} dbname={db or tenant['database']} user={tenant['role']} "
        f"sslmode={sslmode} sslrootcert={CA} connect_timeout=5"
    )
    # The password goes through the environment, never argv.
    return host.run("PGPASSWORD=%s psql -X -A -t -d %s -c %s", password or tenant["password"], conninfo, query)


def test_pgbouncer_runs_with_private_secrets(host):
    assert host.service("pgbouncer").is_running
    assert host.service("pgbouncer").is_enabled
    userlist = host.file("/etc/pgbouncer/userlist.txt")
    assert (userlist.user, userlist.mode) == ("postgres", 0o600)
    assert "SCRAM-SHA-256$" in userlist.content_string
    assert host.file("/etc/pgbouncer/pgbouncer.ini").mode == 0o640


def test_tenant_connects_through_the_pooler_with_tls_on_both_sides(host, tenants):
    north = tenants["wh-north"]
    # Client side: verify-full against the server's CA (the certificate names 127.0.0.1).
    cmd = _through_pooler(host, north, query="SELECT current_user, current_database()")
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip() == f"{north['role']}|{north['database']}"
    # Server side: the backend PgBouncer opened is TLS from 127.0.0.1.
    rows = _sql(
        host,
        "SELECT DISTINCT a.client_addr, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
        f"WHERE a.usename = '{north['role']}'",
    )
    assert rows == "127.0.0.1|t"


def test_server_connections_stay_within_the_pool_under_load(host, tenants):
    north = tenants["wh-north"]
    # Session mode: the pool and the role's cap (max_user_connections) are its plan connection_limit.
    pool_size = north["connection_limit"]
    script = f"""
set -u
role={north["role"]}
conninfo="host=127.0.0.1 port={PORT} dbname={north["database"]} user=$role sslmode=verify-full sslrootcert={CA}"
export PGPASSWORD
PGPASSWORD="$SCENARIO_PASSWORD"
pids=""
for i in $(seq {CLIENTS}); do
  psql -X -A -t -d "$conninfo" -c "SELECT pg_sleep(1)" >/dev/null 2>>/tmp/pool-errors & pids="$pids $!"
done
max=0
while kill -0 $pids 2>/dev/null || pgrep -x psql -u root >/dev/null; do
  n=$(runuser -u postgres -- psql -X -A -t -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$role'")
  [ "$n" -gt "$max" ] && max=$n
  sleep 0.1
done
failed=0
for p in $pids; do wait $p || failed=$((failed + 1)); done
echo "$max $failed"
"""
    cmd = host.run("rm -f /tmp/pool-errors; SCENARIO_PASSWORD=%s bash -c %s", north["password"], script)
    assert cmd.rc == 0, cmd.stderr
    peak, failed = (int(x) for x in cmd.stdout.split())
    assert failed == 0, host.file("/tmp/pool-errors").content_string
    # 20 clients shared 8 server connections: the pool was full, never larger.
    assert peak == pool_size, f"peak {peak} server connections for {CLIENTS} clients, pool {pool_size}"


def test_pooler_keeps_tenants_apart(host, tenants):
    north, south = tenants["wh-north"], tenants["wh-south"]
    # pgbouncer_hba.conf: no rule for north on south's database -> PgBouncer's "login rejected".
    cmd = _through_pooler(host, north, db=south["database"], sslmode="require")
    assert cmd.rc != 0
    assert "login rejected" in cmd.stderr
    # A database that is not a tenant's (template1) is refused whoever asks.
    cmd = _through_pooler(host, south, db="template1", sslmode="require")
    assert cmd.rc != 0
    assert "login rejected" in cmd.stderr


def test_pooler_refuses_plain_tcp_and_wrong_passwords(host, tenants):
    north = tenants["wh-north"]
    cmd = _through_pooler(host, north, sslmode="disable")
    assert cmd.rc != 0
    assert "SSL required" in cmd.stderr
    cmd = _through_pooler(host, north, password="not-the-password", sslmode="require")
    assert cmd.rc != 0
    assert "SASL authentication failed" in cmd.stderr


def test_maintenance_timers_follow_the_window(host, tenants):
    # systemd.time(7): the standard tier's "daily 20:00-06:00" opens every day at 20:00; the weekly
    # reindex starts half-way (5 h later) from Sunday: Monday 01:00.
    expected = {"vacuum": "*-*-* 20:00:00", "reindex": "Mon *-*-* 01:00:00"}
    for tenant in tenants.values():
        for job, calendar in expected.items():
            timer = f"postgres-tuning-{job}@{tenant['database']}.timer"
            assert host.service(timer).is_enabled, timer
            shown = host.run("systemctl show -P TimersCalendar %s", timer).stdout
            assert f"OnCalendar={calendar}" in shown, shown
            assert host.run("systemctl show -P ActiveState %s", timer).stdout.strip() == "active"


@pytest.mark.parametrize("job", ["vacuum", "reindex"])
def test_maintenance_job_runs_when_started_by_hand(host, tenants, job):
    database = tenants["wh-north"]["database"]
    unit = f"postgres-tuning-{job}@{database}.service"
    # Type=oneshot: systemctl start returns when the job has finished.
    cmd = host.run("systemctl start %s", unit)
    assert cmd.rc == 0, cmd.stderr + host.run("journalctl -u %s --no-pager -n 20", unit).stdout
    assert host.run("systemctl show -P Result %s", unit).stdout.strip() == "success"
    if job == "vacuum":
        # VACUUM (ANALYZE) stamped the tables it visited.
        assert _sql(host, "SELECT count(*) > 0 FROM pg_stat_sys_tables WHERE last_analyze IS NOT NULL", database) == "t"


def test_pg_hba_admits_the_local_pooler_over_tls_only(host, tenants):
    rows = _sql(
        host,
        "SELECT type, array_to_string(database, ','), array_to_string(user_name, ','), coalesce(address, '') "
        "FROM pg_hba_file_rules WHERE address = '127.0.0.1' ORDER BY line_number",
    ).splitlines()
    for tenant in tenants.values():
        assert f"hostssl|{tenant['database']}|{tenant['role']}|127.0.0.1" in rows
        assert f"hostssl|postgres|{tenant['role']}|127.0.0.1" in rows


def test_check_mode_reports_no_change():
    """A --check --diff run of the converge playbook on the converged server changes nothing."""
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
    assert "SCRAM-SHA-256$" not in run.stdout
    stats = json.loads(run.stdout)["stats"]
    assert stats and all(s["changed"] == 0 and s["failures"] == 0 for s in stats.values()), stats
