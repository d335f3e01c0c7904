# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The main job's walking skeleton: preflight, lab hosts, per-environment summary."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import redis
import yaml

from .harness import DEMO_INVENTORY, ansible_env, docker_names, run_playbook

DEMO_ENVIRONMENTS = ("central-erp", "tpl-unit", "wh-north", "wh-south")


def _listed(name: str, stdout: str) -> bool:
    """Whether the summary table has a row for this environment."""
    return (
        re.search(rf"^\s+{re.escape(name)}\s+(mission_critical|regional|standard)\s", stdout, re.MULTILINE) is not None
    )


def _edit_hosts(inventory: Path, edit) -> None:
    path = inventory / "hosts.yml"
    data = yaml.safe_load(path.read_text())
    edit(data["all"]["children"])
    path.write_text(yaml.safe_dump(data))


def test_demo_converges_then_changes_nothing(lab):
    first = run_playbook(DEMO_INVENTORY, "lab.yml")
    assert first.rc == 0, first.stdout + first.stderr
    site = run_playbook(DEMO_INVENTORY, "site.yml")
    assert site.rc == 0, site.stdout + site.stderr
    for name in DEMO_ENVIRONMENTS:
        assert _listed(name, site.stdout), f"{name} missing from the summary:\n{site.stdout}"
    assert "lab-pg-shared" in site.recap and site.recap["lab-pg-shared"]["unreachable"] == 0

    again = run_playbook(DEMO_INVENTORY, "lab.yml")
    site_again = run_playbook(DEMO_INVENTORY, "site.yml")
    assert again.rc == 0 and site_again.rc == 0
    assert again.changed == 0, again.stdout
    assert site_again.changed == 0, site_again.stdout


def _vault() -> dict:
    """The demo's vault (its password file is in the repository, marked NOT SECRET)."""
    view = subprocess.run(
        ["ansible-vault", "view", str(DEMO_INVENTORY / "group_vars" / "all" / "vault.yml")],
        capture_output=True,
        text=True,
        check=True,
        env=ansible_env(),
    )
    return yaml.safe_load(view.stdout)


def _lab_address(container: str) -> str:
    inspect = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True)
    return json.loads(inspect.stdout)[0]["NetworkSettings"]["Networks"]["sysgenpro-lab"]["IPAddress"]


def _new_session(environment: str) -> str:
    """GET /web/login inside one of the environment's web containers; the session id Odoo sets."""
    names = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=org.sysgenpro.odoo.environment={environment}",
         "--filter", "label=org.sysgenpro.odoo.component=web"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    probe = (
        "import http.client; c = http.client.HTTPConnection('127.0.0.1', 8069, timeout=10); "
        "c.request('GET', '/web/login'); r = c.getresponse(); print(r.getheader('Set-Cookie'))"
    )
    out = subprocess.run(
        ["docker", "exec", names[0], "python3", "-c", probe], capture_output=True, text=True, check=True
    )
    match = re.search(r"session_id=([^;\s]+)", out.stdout)
    assert match, out.stdout + out.stderr
    return match.group(1)


def test_sessions_live_in_redis_under_each_tenant_prefix(lab):
    """Issue 9: sessions of wh-north/wh-south go to the shared Redis, each under its ACL user's prefix only."""
    vault = _vault()
    host = _lab_address("sysgenpro-lab-lab-redis-shared")
    admin = redis.Redis(host=host, port=6379, username="platform-admin", password=vault["vault_redis_admin_password"])
    north_sid, south_sid = _new_session("wh-north"), _new_session("wh-south")
    assert admin.exists(f"session:wh-north:{north_sid}") == 1
    assert admin.exists(f"session:wh-south:{south_sid}") == 1
    assert admin.exists(f"session:wh-north:{south_sid}") == 0
    north = redis.Redis(host=host, port=6379, username="odoo_wh_north", password=vault["vault_wh_north_redis_password"])
    assert north.exists(f"session:wh-north:{north_sid}") == 1
    with pytest.raises(redis.exceptions.NoPermissionError):
        north.get(f"session:wh-south:{south_sid}")
    # The password reached Odoo through a file: nothing in the container's environment or command line.
    inspect = subprocess.run(
        ["docker", "ps", "-q", "--filter", "label=org.sysgenpro.odoo.environment=wh-north"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    config = subprocess.run(["docker", "inspect", *inspect], capture_output=True, text=True, check=True).stdout
    assert vault["vault_wh_north_redis_password"] not in config
    assert '"ODOO_SESSION_REDIS_PASSWORD_FILE=/etc/odoo/redis-password"' in config


# Traefik of each lab container host (inventories/demo/host_vars/lab-docker-*.yml) and what it fronts.
TRAEFIK = {
    "central-erp": ("lab-docker-central", "erp.demo.test", 8443),
    "tpl-unit": ("lab-docker-3pl", "3pl.demo.test", 8543),
    "wh-north": ("lab-docker-shared", "wh-north.demo.test", 8643),
    "wh-south": ("lab-docker-shared", "wh-south.demo.test", 8643),
}


def _https(environment: str, path: str, *args: str) -> tuple[int, dict[str, str]]:
    """curl through the environment's Traefik with its lab CA and --resolve; the status and headers."""
    host, name, port = TRAEFIK[environment]
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "10",
         "--cacert", f"/etc/sysgenpro/traefik/traefik-{host}/ca/ca.crt",
         "--resolve", f"{name}:{port}:127.0.0.1", *args, f"https://{name}:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    lines = out.strip().splitlines()
    pairs = (line.partition(":") for line in lines[1:])
    headers = {key.strip().lower(): value.strip() for key, _colon, value in pairs if value}
    return int(lines[0].split()[1]), headers


def test_every_environment_answers_through_traefik_over_https(lab):
    for environment in TRAEFIK:
        status, headers = _https(environment, "/web/health")
        assert status == 200, environment
        assert headers["strict-transport-security"].startswith("max-age=")
        assert headers["x-standin-pool"] == "web"
    # queue_job's runjob controller is auth="none": never public.
    assert _https("wh-south", "/queue_job/runjob")[0] == 403


def test_api_paths_reach_the_api_pool_with_the_integrations_rate_limit(lab):
    """Issue 14: tpl-unit is transport_api_heavy: /jsonrpc goes to its API pool, users stay on web."""
    body = {"jsonrpc": "2.0", "method": "call", "params": {"service": "common", "method": "version"}, "id": 1}
    call = ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    status, headers = _https("tpl-unit", "/jsonrpc", *call)
    assert (status, headers["x-standin-pool"]) == (200, "api")
    assert _https("tpl-unit", "/web/login")[1]["x-standin-pool"] == "web"
    # The telematics integration (5/s, burst 10) from the lab's addresses: past the burst, 429.
    statuses = [_https("tpl-unit", "/jsonrpc", *call)[0] for _attempt in range(25)]
    assert 429 in statuses and statuses[0] == 200, statuses


def test_jobs_pool_runs_queue_job_with_the_planned_channels(lab):
    """Issue 14: wh-south is warehouse_heavy: a jobs container carries the runner and the computed channels."""
    # host_vars/wh-south.yml: odoo_platform_job_workers 2 -> one job at a time, one worker kept free (docs/workload.md).
    channels = "root:1"
    names = subprocess.run(
        ["docker", "ps", "-q", "--filter", "label=org.sysgenpro.odoo.environment=wh-south",
         "--filter", "label=org.sysgenpro.odoo.component=jobs"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(names) == 1
    conf = subprocess.run(
        ["docker", "exec", names[0], "cat", "/etc/odoo/odoo.conf"], capture_output=True, text=True, check=True
    ).stdout
    assert f"\n[queue_job]\nchannels = {channels}\n" in conf
    assert "server_wide_modules = base,web,session_redis,queue_job\n" in conf


def test_check_mode_changes_nothing(lab):
    run = run_playbook(DEMO_INVENTORY, "site.yml", "--check", "--diff")
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed == 0


def test_summary_follows_limit(lab):
    run = run_playbook(DEMO_INVENTORY, "site.yml", "--limit", "wh-north")
    assert run.rc == 0, run.stdout + run.stderr
    assert _listed("wh-north", run.stdout)
    assert not _listed("central-erp", run.stdout)


def test_environment_in_two_tiers_fails_before_any_change(lab, inventory_copy):
    def edit(children):
        children["tier_standard"]["hosts"]["central-erp"] = None
        children["postgres_servers"]["hosts"]["lab-pg-extra"] = None

    _edit_hosts(inventory_copy, edit)
    run = run_playbook(inventory_copy, "lab.yml")
    assert run.rc != 0
    assert (
        "central-erp: tier group: must be in exactly one of tier_mission_critical, tier_regional, tier_standard "
        "(found: tier_mission_critical, tier_standard). Fix: list central-erp under exactly one tier group"
    ) in run.stdout
    assert "sysgenpro-lab-lab-pg-extra" not in docker_names(), "a lab VM was created although the preflight failed"


def test_environment_without_tier_fails_even_when_limited_to_another(lab, inventory_copy):
    def edit(children):
        del children["tier_mission_critical"]["hosts"]["tpl-unit"]

    _edit_hosts(inventory_copy, edit)
    run = run_playbook(inventory_copy, "site.yml", "--limit", "wh-north")
    assert run.rc != 0
    assert "tpl-unit: tier group: must be in exactly one of" in run.stdout
    assert "(found: none)" in run.stdout
    assert "Ping the infrastructure host" not in run.stdout


def test_all_problems_are_reported_in_one_run(lab, inventory_copy):
    def edit(children):
        del children["tenancy_shared"]["hosts"]["wh-south"]
        children["environments"]["hosts"]["WH_East"] = {
            "odoo_platform_postgres_server": "lab-pg-nowhere",
            "odoo_platform_container_host": "lab-docker-shared",
            "odoo_platform_db_password": "{{ vault_wh_south_db_password }}",
            "odoo_platform_admin_password": "{{ vault_wh_south_admin_password }}",
        }
        children["tier_standard"]["hosts"]["WH_East"] = None
        children["tenancy_shared"]["hosts"]["WH_East"] = None

    _edit_hosts(inventory_copy, edit)
    run = run_playbook(inventory_copy, "site.yml")
    assert run.rc != 0
    assert "The inventory has 3 problem(s); nothing was changed." in run.stdout
    assert "WH_East: inventory_hostname: is not a DNS-1123 label" in run.stdout
    assert "Fix: rename the environment, for example 'wh-east'" in run.stdout
    assert "WH_East: odoo_platform_postgres_server: names 'lab-pg-nowhere'" in run.stdout
    assert "wh-south: tenancy group: must be in exactly one of tenancy_dedicated, tenancy_shared (found: none)" in (
        run.stdout
    )


def test_a_held_lock_stops_site_before_any_change(lab, inventory_copy, tmp_path):
    lock_dir = f"odoo_platform_lock_path={tmp_path / 'locks'}"
    taken = run_playbook(inventory_copy, "lock.yml", "-e", "odoo_platform_lock_action=acquire", "-e", lock_dir)
    assert taken.rc == 0, taken.stdout + taken.stderr
    blocked = run_playbook(inventory_copy, "site.yml", "--limit", "wh-north", "-e", lock_dir)
    assert blocked.rc != 0
    # The run that took it has ended: the lock is stale, reported with who/when, never taken over silently.
    assert "estate 'inventory' has a stale lock: run" in blocked.stdout
    assert "re-run with `-e odoo_platform_lock_break=true`" in blocked.stdout
    assert "Ping the infrastructure host" not in blocked.stdout
    again = run_playbook(
        inventory_copy, "site.yml", "--limit", "wh-north", "-e", lock_dir, "-e", "odoo_platform_lock_break=true"
    )
    assert again.rc == 0, again.stdout + again.stderr
    free = run_playbook(inventory_copy, "site.yml", "--limit", "wh-north", "-e", lock_dir)
    assert free.rc == 0, "the run released its lock at the end"
