# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The odoo_container role on the lab's Docker Engine, against real PostgreSQL containers.

Two environments planned by the estate plan: ``itest-ded`` (regional tier, dedicated: two web
replicas and cron apart) and ``itest-shr`` (standard tier, shared: one replica, cron inside).
Check mode first (nothing created), then a real run (everything healthy), then a second run
(changed=0), network isolation between the two, and a broken image that is rolled back while
the old container keeps serving. Everything carries org.sysgenpro.lab=true and is removed.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from pathlib import Path

import docker
import pytest
import requests

from .harness import ansible_playbook, wait_until

pytestmark = pytest.mark.integration

LAB = {"org.sysgenpro.lab": "true"}
ENVS = ("itest-ded", "itest-shr")
PG = {"itest-ded": "itest-odoo-pg-ded", "itest-shr": "itest-odoo-pg-shr"}
REDIS = "itest-odoo-redis"
REDIS_IMAGE = "sysgenpro-lab/redis-itest:bookworm"
REDIS_VARS = f"odoo_platform_redis_server: itest-redis\nitest_redis_host: {REDIS}\nitest_attach: [{{pg}}, {REDIS}]\n"
# Debian's redis-server (7.0), built once on the lab base image; `make lab-clean` removes it (label).
REDIS_DOCKERFILE = """\
FROM sysgenpro-lab/debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \\
 && apt-get clean && rm -rf /var/lib/apt/lists/*
USER redis
CMD ["redis-server", "--protected-mode", "no", "--save", "", "--maxmemory-policy", "noeviction"]
"""
STANDIN = "sysgenpro-lab/odoo-standin:18.0"
BROKEN = "sysgenpro-lab/odoo-broken:itest"
PASSWORDS = {"itest-ded": "ded%pw$1;x", "itest-shr": "shr%pw$2"}

INVENTORY = """\
all:
  children:
    environments:
      hosts:
        itest-ded:
        itest-shr:
      vars:
        ansible_connection: local
        ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
        odoo_platform_runtime: docker
        odoo_platform_odoo_version: "18.0"
        odoo_platform_container_host: itest-docker
        odoo_platform_cpus: 1
        odoo_platform_memory: 1GiB
    tier_regional: {{hosts: {{itest-ded: }}}}
    tier_standard: {{hosts: {{itest-shr: }}}}
    tenancy_dedicated: {{hosts: {{itest-ded: }}}}
    tenancy_shared: {{hosts: {{itest-shr: }}}}
    redis_servers:
      hosts:
        itest-redis:
    postgres_servers:
      hosts:
        itest-pg-ded:
        itest-pg-shr:
      vars:
        odoo_platform_pg_memory: 2GiB
        odoo_platform_pg_cpus: 2
    container_hosts:
      hosts:
        itest-docker:
          ansible_connection: local
          ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
"""
HOST_VARS = """\
odoo_platform_tenant: {tenant}
odoo_platform_postgres_server: {pg_server}
odoo_platform_hostnames: [{host}]
itest_db_host: {pg}
itest_db_password: "{password}"
{extra}"""
PLAYBOOK = """\
- name: Deploy the test environments
  hosts: environments
  gather_facts: false
  tasks:
    - name: Compute the plan
      ansible.builtin.set_fact:
        __plan: "{{{{ groups | sysgenpro.odoo_platform.estate_plan(hostvars) }}}}"
      run_once: true
    - name: Run the role
      ansible.builtin.include_role:
        name: sysgenpro.odoo_platform.odoo_container
      vars:
        odoo_container_plan: "{{{{ __plan.environments[inventory_hostname] }}}}"
        odoo_container_estate: "{{{{ __plan.environments }}}}"
        odoo_container_image: "{{{{ itest_image | default('{standin}') }}}}"
        odoo_container_db_host: "{{{{ itest_db_host }}}}"
        odoo_container_redis_host: "{{{{ itest_redis_host | default('') }}}}"
        # The ACL user's password file (TEST ONLY); the stand-in, like the official image, does not read it, and
        # this test's Redis keeps its password-less default user.
        odoo_container_redis_password: redis-TEST-ONLY-pw
        odoo_container_db_sslmode: disable
        odoo_container_db_password: "{{{{ itest_db_password }}}}"
        odoo_container_admin_password: "admin-{{{{ inventory_hostname }}}}"
        odoo_container_network_attach: "{{{{ itest_attach }}}}"
        odoo_container_config_root: "{config_root}"
        odoo_container_labels: {{"org.sysgenpro.lab": "true"}}
        odoo_container_healthcheck: {{interval: 2s, timeout: 2s, retries: 2, start_period: 20s}}
        odoo_container_healthy_timeout: 30
"""


def _cleanup(client: docker.DockerClient) -> None:
    for env in ENVS:
        for container in client.containers.list(all=True, filters={"label": f"org.sysgenpro.odoo.environment={env}"}):
            container.remove(force=True)
    for name in (*PG.values(), REDIS):
        for container in client.containers.list(all=True, filters={"name": f"^{name}$"}):
            container.remove(force=True, v=True)
    for env in ENVS:
        for network in client.networks.list(names=[f"odoo-{env}"]):
            network.remove()
        for volume in client.volumes.list(filters={"name": f"odoo-{env}-data"}):
            volume.remove(force=True)


def _psql(pg, sql: str) -> str:
    result = pg.exec_run(["psql", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql], user="postgres")
    assert result.exit_code == 0, result.output.decode()
    return result.output.decode().strip()


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """PostgreSQL per database server (role and database per tenant), an inventory and a playbook."""
    client = docker.from_env()
    _cleanup(client)
    tmp = tmp_path_factory.mktemp("odoo-container")
    pgs = {}
    try:
        for env, name in PG.items():
            pgs[env] = client.containers.run(
                "sysgenpro-lab/postgres:15",
                name=name,
                detach=True,
                labels=LAB,
                environment={"POSTGRES_PASSWORD": "lab-superuser"},
            )
        try:
            client.images.get(REDIS_IMAGE)
        except docker.errors.ImageNotFound:
            client.images.build(fileobj=io.BytesIO(REDIS_DOCKERFILE.encode()), tag=REDIS_IMAGE, labels=LAB, rm=True)
        client.containers.run(REDIS_IMAGE, name=REDIS, detach=True, labels=LAB)
        for env, pg in pgs.items():
            wait_until(
                lambda pg=pg: pg.exec_run(["psql", "-tAc", "SELECT 1"], user="postgres").exit_code == 0, "PostgreSQL"
            )
            role, db = f"odoo_{env.replace('-', '_')}", env.replace("-", "_")
            # As postgres_tuning provisions it: a non-superuser role without CREATEDB owning its database.
            _psql(pg, f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB PASSWORD '{PASSWORDS[env]}'")
            _psql(pg, f"CREATE DATABASE {db} OWNER {role}")
        inventory = tmp / "inventory"
        (inventory / "host_vars").mkdir(parents=True)
        (inventory / "hosts.yml").write_text(INVENTORY.format())
        for env, tenant in (("itest-ded", "itest-finance"), ("itest-shr", "itest-warehouse")):
            (inventory / "host_vars" / f"{env}.yml").write_text(
                HOST_VARS.format(
                    tenant=tenant,
                    pg_server=f"itest-pg-{env.split('-')[1]}",
                    host=f"{env}.lab.test",
                    pg=PG[env],
                    password=PASSWORDS[env],
                    extra=REDIS_VARS.format(pg=PG[env]) if env == "itest-ded" else f"itest_attach: [{PG[env]}]\n",
                )
            )
        config_root = tmp / "config"
        playbook = tmp / "deploy.yml"
        playbook.write_text(PLAYBOOK.format(standin=STANDIN, config_root=config_root))
        yield {"client": client, "inventory": inventory, "playbook": playbook, "pgs": pgs, "config_root": config_root}
    finally:
        _cleanup(client)
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(BROKEN, force=True)


def _play(estate, *args: str) -> subprocess.CompletedProcess:
    return ansible_playbook(estate["inventory"], estate["playbook"], *args)


def _changed(stdout: str) -> int:
    return sum(int(part.split("=")[1]) for part in stdout.split() if part.startswith("changed="))


def _containers(client, env, component=None):
    filters = {"label": [f"org.sysgenpro.odoo.environment={env}"]}
    if component:
        filters["label"].append(f"org.sysgenpro.odoo.component={component}")
    return sorted(client.containers.list(all=True, filters=filters), key=lambda c: c.name)


def _ip(container, network):
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]


def _rpc(url):
    return requests.post(url, json={"jsonrpc": "2.0", "method": "call", "params": {}}, timeout=5).json()


def test_check_mode_creates_nothing(estate):
    proc = _play(estate, "--check")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    for env in ENVS:
        assert _containers(estate["client"], env) == []
    assert not estate["config_root"].exists()


def test_deploy_two_environments_healthy(estate):
    proc = _play(estate)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    client = estate["client"]
    web = _containers(client, "itest-ded", "web")
    cron = _containers(client, "itest-ded", "cron")
    assert len(web) == 2 and len(cron) == 1, [c.name for c in _containers(client, "itest-ded")]
    assert "ODOO_SESSION_REDIS_PREFIX=itest-ded" in web[0].attrs["Config"]["Env"]  # plan: sessions in Redis
    assert len(_containers(client, "itest-shr", "web")) == 1
    assert _containers(client, "itest-shr", "cron") == []
    for env in ENVS:
        for container in _containers(client, env):
            container.reload()
            assert container.status == "running", container.name
            assert container.labels["org.sysgenpro.lab"] == "true"
            if container.labels["org.sysgenpro.odoo.component"] == "web":
                assert container.attrs["State"]["Health"]["Status"] == "healthy"
                assert container.attrs["HostConfig"]["Memory"] == 1024**3
                ip = _ip(container, f"odoo-{env}")
                health = requests.get(f"http://{ip}:8069/web/health?db_server_status=1", timeout=5)
                assert health.status_code == 200, health.text
                listing = _rpc(f"http://{ip}:8069/web/database/list")
                assert "AccessDenied" in json.dumps(listing), listing  # list_db = False
            # No secret on the command line or in the environment.
            config = json.dumps(container.attrs["Config"]) + json.dumps(container.attrs["Args"])
            assert PASSWORDS[env] not in config
    # The database was initialised once, by the init container (now removed).
    db = "itest_ded"
    init = estate["pgs"]["itest-ded"].exec_run(
        ["psql", "-tA", "-d", db, "-c", "SELECT state FROM ir_module_module WHERE name = 'base'"], user="postgres"
    )
    assert init.output.decode().strip() == "installed"
    # Secret files: 0600, owned by the image's odoo user (100:101 for 18.0), never world-readable.
    files = list(estate["config_root"].glob("*/*/odoo-*.conf"))
    assert len(files) == 3
    for path in files:
        stat = path.stat()
        assert (oct(stat.st_mode & 0o777), stat.st_uid, stat.st_gid) == ("0o600", 100, 101)
    # The role's output never carries a secret.
    for env in ENVS:
        assert PASSWORDS[env] not in proc.stdout + proc.stderr


def test_second_run_changes_nothing(estate):
    proc = _play(estate)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert _changed(proc.stdout) == 0, proc.stdout[-3000:]


def test_shared_environment_cannot_reach_dedicated_database(estate):
    client = estate["client"]
    shr = _containers(client, "itest-shr", "web")[0]
    ded = _containers(client, "itest-ded", "web")[0]
    ded_pg_ip = _ip(estate["pgs"]["itest-ded"], "odoo-itest-ded")
    probe = (
        "import socket, sys\n"
        "try:\n"
        "    socket.create_connection((sys.argv[1], 5432), timeout=3).close()\n"
        "    print('reached')\n"
        "except OSError as exc:\n"
        "    print('refused', exc)\n"
    )
    for target in (ded_pg_ip, PG["itest-ded"]):
        out = shr.exec_run(["python3", "-c", probe, target]).output.decode()
        assert out.startswith("refused"), (target, out)
    # Positive control: the dedicated environment reaches its own database.
    out = ded.exec_run(["python3", "-c", probe, PG["itest-ded"]]).output.decode()
    assert out.startswith("reached"), out


def test_bad_image_rolls_back_and_old_container_keeps_serving(estate):
    client = estate["client"]
    # An image that starts but never answers /web/health.
    dockerfile = f'FROM {STANDIN}\nCMD ["sleep", "infinity"]\n'
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=BROKEN, labels=LAB, rm=True)
    before = _containers(client, "itest-shr")
    assert len(before) == 1
    proc = _play(estate, "--limit", "itest-shr", "-e", f"itest_image={BROKEN}")
    assert proc.returncode != 0
    assert "failed and was rolled back" in proc.stdout, proc.stdout[-3000:]
    after = _containers(client, "itest-shr")
    assert [c.name for c in after] == [c.name for c in before]
    after[0].reload()
    assert after[0].status == "running"
    assert after[0].image.tags == [STANDIN]
    ip = _ip(after[0], "odoo-itest-shr")
    wait_until(lambda: requests.get(f"http://{ip}:8069/web/health", timeout=3).ok, "the old container after rollback")
    # The dedicated environment was not touched, and a normal run is a no-op again.
    proc = _play(estate)
    assert proc.returncode == 0 and _changed(proc.stdout) == 0, proc.stdout[-3000:]


def test_config_root_has_only_live_specs(estate):
    dirs = sorted(p.relative_to(estate["config_root"]).parts[0] for p in estate["config_root"].glob("*/*"))
    assert dirs == sorted(ENVS)


def test_no_secret_in_files_other_than_conf(estate):
    for path in Path(estate["config_root"]).rglob("*"):
        if path.is_file() and not path.name.startswith("odoo-"):
            for password in PASSWORDS.values():
                assert password not in path.read_text()
