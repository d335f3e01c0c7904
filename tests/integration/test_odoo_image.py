# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The odoo_container role's derived image, built from the Odoo stand-in and pushed to the lab registry.

Debian's docker-registry on 127.0.0.1:5000 (`scripts/lab.sh registry`, started here when absent). Every
tag of the test repository is deleted first (and the local image), so the first real run must build.
Check mode first (reports, builds nothing), then a real run (build + push: the registry's catalog and
tag list show it), then a second run that finds the tag in the registry (changed=0). The image runs as
the numeric uid, holds the fake add-on, and its entrypoint takes the database and Redis passwords from
files: PostgreSQL accepts the password read from the file, and no password appears in `docker inspect`
or on any process's command line.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
import uuid

import docker
import pytest
import requests

from .harness import ROOT, VENV_BIN, ansible_env, ansible_playbook

pytestmark = pytest.mark.integration

LAB = {"org.sysgenpro.lab": "true"}
REGISTRY = "127.0.0.1:5000"
VERSION = "18.0"
BASE = f"sysgenpro-lab/odoo-standin:{VERSION}"
POSTGRES = "sysgenpro-lab/postgres:15"
UID_GID = "100:101"  # the official 18.0 image's odoo user (tests/images/odoo-standin/README.md)
ADDON = "itest_fake_addon"
DB_PASSWORD = "img%pw$1;x 'q'"
REDIS_PASSWORD = "r3d:s@/pw"

INVENTORY = """\
all:
  hosts:
    itest-img:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""
PLAYBOOK = """\
- name: Build the derived image
  hosts: itest-img
  gather_facts: false
  tasks:
    - name: Run the role's image step
      ansible.builtin.include_role:
        name: sysgenpro.odoo_platform.odoo_container
        tasks_from: image
      vars:
        odoo_container_plan: {{odoo_version: "{version}", environment: itest-img}}
        odoo_container_build_image: true
        odoo_container_base_image: {base}
        odoo_container_addons: ["{addon}"]
        odoo_container_registry: {registry}
    - name: Print the image the environment deploys
      ansible.builtin.debug:
        msg: "DEPLOY={{{{ __odoo_container_deploy_image }}}}"
"""


def _registry_up() -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"http://{REGISTRY}/v2/", timeout=2).status_code == 200
    return False


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """A fake add-on, an inventory, a playbook into a fresh registry namespace; cleaned up afterwards."""
    client = docker.from_env()
    for image in (BASE, POSTGRES):
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"lab image {image} missing: run `make lab` (scripts/lab.sh up) first")
    if not _registry_up():
        subprocess.run([str(ROOT / "scripts" / "lab.sh"), "registry"], check=True, timeout=300)
    assert _registry_up(), "the lab registry did not come up on 127.0.0.1:5000"
    tmp = tmp_path_factory.mktemp("odoo-image")
    addon = tmp / "vendor" / ADDON
    (addon / "models").mkdir(parents=True)
    (addon / "__manifest__.py").write_text(
        '{"name": "itest fake add-on", "version": "18.0.1.0.0", "depends": ["base"]}\n'
    )
    (addon / "__init__.py").write_text("from . import models\n")
    (addon / "models" / "__init__.py").write_text("")
    (addon / "__pycache__").mkdir()
    (addon / "__pycache__" / "junk.cpython-311.pyc").write_bytes(b"\x00machine-specific")
    namespace = "sysgenpro-itest"
    (tmp / "hosts.yml").write_text(INVENTORY)
    playbook = tmp / "image.yml"
    playbook.write_text(PLAYBOOK.format(version=VERSION, base=BASE, addon=addon, registry=f"{REGISTRY}/{namespace}"))
    state = {"client": client, "tmp": tmp, "addon": addon, "playbook": playbook, "repo": f"{namespace}/odoo"}
    _forget(client, state["repo"])
    try:
        yield state
    finally:
        for container in client.containers.list(all=True, filters={"label": "org.sysgenpro.itest=odoo-image"}):
            container.remove(force=True, v=True)
        for network in client.networks.list(filters={"label": "org.sysgenpro.itest=odoo-image"}):
            network.remove()
        _forget(client, state["repo"])


def _forget(client: docker.DockerClient, repo: str) -> None:
    """Delete every tag of the test repository from the registry, and its images from the engine."""
    tags = requests.get(f"http://{REGISTRY}/v2/{repo}/tags/list", timeout=5).json().get("tags") or []
    for tag in tags:
        head = requests.head(
            f"http://{REGISTRY}/v2/{repo}/manifests/{tag}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=5,
        )
        if head.status_code == 200:
            digest = head.headers["Docker-Content-Digest"]
            requests.delete(f"http://{REGISTRY}/v2/{repo}/manifests/{digest}", timeout=5).raise_for_status()
    for image in client.images.list(name=f"{REGISTRY}/{repo}"):
        client.images.remove(image.id, force=True)


def _play(state, *args: str) -> tuple[int, str]:
    proc = ansible_playbook(state["tmp"] / state.get("hosts", "hosts.yml"), state["playbook"], *args, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    changed = sum(int(part.split("=")[1]) for part in proc.stdout.split() if part.startswith("changed="))
    ref = re.search(r"DEPLOY=([^\s\"']+)", proc.stdout)[1]
    return changed, ref


def test_check_mode_reports_and_builds_nothing(build):
    changed, ref = _play(build, "--check")
    assert changed == 1
    assert ref.startswith(f"{REGISTRY}/{build['repo']}:{VERSION}-")
    tags = requests.get(f"http://{REGISTRY}/v2/{build['repo']}/tags/list", timeout=5)
    assert tags.status_code == 404 or not tags.json().get("tags")
    with pytest.raises(docker.errors.ImageNotFound):
        build["client"].images.get(ref)
    build["check_ref"] = ref


def test_build_and_push(build):
    changed, ref = _play(build)
    build["ref"] = ref
    assert changed == 1
    assert ref == build["check_ref"], "check mode and the real run must agree on the tag"
    catalog = requests.get(f"http://{REGISTRY}/v2/_catalog", timeout=5).json()["repositories"]
    assert build["repo"] in catalog
    tags = requests.get(f"http://{REGISTRY}/v2/{build['repo']}/tags/list", timeout=5).json()["tags"]
    assert tags == [ref.rsplit(":", 1)[1]]


def test_second_run_does_not_rebuild(build):
    image_id = build["client"].images.get(build["ref"]).id
    changed, ref = _play(build)
    assert (changed, ref) == (0, build["ref"])
    assert build["client"].images.get(ref).id == image_id


ROLE_INVENTORY = """\
all:
  children:
    environments:
      hosts:
        itest-img:
          odoo_platform_tenant: itest-imaging
          odoo_platform_postgres_server: itest-img-pg
          odoo_platform_hostnames: [itest-img.lab.test]
      vars:
        ansible_connection: local
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
        odoo_platform_runtime: docker
        odoo_platform_odoo_version: "18.0"
        odoo_platform_container_host: itest-docker
        odoo_platform_cpus: 1
        odoo_platform_memory: 1GiB
    tier_standard: {hosts: {itest-img: }}
    tenancy_shared: {hosts: {itest-img: }}
    postgres_servers:
      hosts:
        itest-img-pg:
      vars:
        odoo_platform_pg_memory: 2GiB
        odoo_platform_pg_cpus: 2
    container_hosts:
      hosts:
        itest-docker:
"""
ROLE_PLAYBOOK = """\
- name: Compute the spec with the derived image
  hosts: environments
  gather_facts: false
  tasks:
    - name: Compute the plan
      ansible.builtin.set_fact:
        __plan: "{{{{ groups | sysgenpro.odoo_platform.estate_plan(hostvars) }}}}"
      tags: [always]
    - name: Run the role up to the spec
      ansible.builtin.include_role:
        name: sysgenpro.odoo_platform.odoo_container
      vars:
        odoo_container_plan: "{{{{ __plan.environments[inventory_hostname] }}}}"
        odoo_container_image: must-not-be-deployed:latest
        odoo_container_build_image: true
        odoo_container_base_image: {base}
        odoo_container_addons: ["{addon}"]
        odoo_container_registry: {registry}
        odoo_container_db_host: itest-img-pg
        odoo_container_db_sslmode: disable
        odoo_container_db_password: not-used
        odoo_container_admin_password: not-used
      tags: [always]
    - name: Print the image the environment deploys
      ansible.builtin.debug:
        msg: "DEPLOY={{{{ __odoo_container_spec.image }}}}"
      tags: [always]
"""


def test_role_deploys_the_pushed_tag(build):
    """Through the role's main entry (image step, then spec): the spec carries the pushed tag, nothing rebuilt."""
    (build["tmp"] / "role-hosts.yml").write_text(ROLE_INVENTORY)
    playbook = build["tmp"] / "role.yml"
    playbook.write_text(
        ROLE_PLAYBOOK.format(
            base=BASE,
            addon=build["addon"],
            registry=build["playbook"].read_text().split("odoo_container_registry: ", 1)[1].split()[0],
        )
    )
    state = {**build, "playbook": playbook, "hosts": "role-hosts.yml"}
    assert _play(state, "--tags", "odoo_container_image,odoo_container_configure") == (0, build["ref"])


def test_tag_hashes_content_not_location(build, tmp_path):
    """The same add-on elsewhere gives the same tag; one changed byte gives another (check mode: no build)."""
    moved = tmp_path / "elsewhere" / ADDON
    moved.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(build["addon"]), str(moved.parent)], check=True)
    (moved / "__pycache__" / "other.pyc").write_bytes(b"ignored")
    build["playbook"].write_text(build["playbook"].read_text().replace(str(build["addon"]), str(moved)))
    try:
        assert _play(build, "--check") == (0, build["ref"])
        (moved / "models" / "__init__.py").write_text("# changed\n")
        changed, ref = _play(build, "--check")
        assert changed == 1
        assert ref != build["ref"]
    finally:
        build["playbook"].write_text(build["playbook"].read_text().replace(str(moved), str(build["addon"])))


def test_image_runs_as_numeric_uid_with_the_addon(build):
    client = build["client"]
    config = client.images.get(build["ref"]).attrs["Config"]
    assert config["User"] == UID_GID
    assert config["Entrypoint"] == ["/entrypoint.sh"]
    listing = client.containers.run(
        build["ref"], ["sh", "-c", f"id -u; id -g; ls -A /mnt/extra-addons/{ADDON}"], remove=True, labels=LAB
    ).decode()
    uid, gid, *files = listing.split()
    assert f"{uid}:{gid}" == UID_GID
    assert sorted(files) == ["__init__.py", "__manifest__.py", "models"], "byte code must stay out of the image"


def test_entrypoint_reads_passwords_from_files(build):
    """PostgreSQL accepts the password read from the file; nothing shows it in inspect or on argv."""
    client, tmp = build["client"], build["tmp"]
    labels = {**LAB, "org.sysgenpro.itest": "odoo-image"}
    suffix = uuid.uuid4().hex[:6]
    network = client.networks.create(f"itest-img-{suffix}", labels=labels)
    pg = client.containers.run(
        POSTGRES,
        name=f"itest-img-pg-{suffix}",
        detach=True,
        network=network.name,
        labels=labels,
        environment={"POSTGRES_PASSWORD": "lab-superuser"},
    )
    secrets = tmp / "secrets"
    secrets.mkdir()
    (secrets / "db_password").write_text(DB_PASSWORD + "\n")
    (secrets / "redis_password").write_text(REDIS_PASSWORD + "\n")
    pg_host = pg.name
    # odoo.conf as the role writes it, minus db_password: the password may only come from the file.
    (secrets / "odoo.conf").write_text(
        f"[options]\ndb_host = {pg_host}\ndb_port = 5432\ndb_user = odoo_img\ndb_sslmode = disable\n"
        "addons_path = /mnt/extra-addons\ndata_dir = /tmp/odoo\nlist_db = False\n"
    )
    secrets.chmod(0o755)
    for name in ("db_password", "redis_password", "odoo.conf"):
        (secrets / name).chmod(0o644)
    deadline = time.monotonic() + 30
    while pg.exec_run(["psql", "-tAc", "SELECT 1"]).exit_code != 0:
        assert time.monotonic() < deadline, "PostgreSQL not ready"
        time.sleep(0.3)
    sql = "CREATE ROLE odoo_img LOGIN PASSWORD '{}'".format(DB_PASSWORD.replace("'", "''"))
    assert pg.exec_run(["psql", "-v", "ON_ERROR_STOP=1", "-c", sql]).exit_code == 0
    mounts = {
        str(secrets / "odoo.conf"): {"bind": "/etc/odoo/odoo.conf", "mode": "ro"},
        str(secrets / "db_password"): {"bind": "/run/secrets/db_password", "mode": "ro"},
        str(secrets / "redis_password"): {"bind": "/run/secrets/redis_password", "mode": "ro"},
    }
    env = {
        "ODOO_DB_PASSWORD_FILE": "/run/secrets/db_password",
        "ODOO_SESSION_REDIS_PASSWORD_FILE": "/run/secrets/redis_password",
        "ODOO_SESSION_REDIS_USER": "tenant-a",
        "ODOO_SESSION_REDIS_HOST": "redis.lab.test",
        "ODOO_DB_WAIT_TIMEOUT": "20",
    }
    odoo = client.containers.run(
        build["ref"], detach=True, network=network.name, labels=labels, volumes=mounts, environment=env
    )
    probe = (
        "import urllib.request; print(urllib.request.urlopen("
        "'http://127.0.0.1:8069/web/health?db_server_status=1', timeout=3).read().decode())"
    )
    deadline, answer = time.monotonic() + 40, None
    while time.monotonic() < deadline:
        odoo.reload()
        assert odoo.status in ("created", "running"), odoo.logs().decode()[-2000:]
        result = odoo.exec_run(["python3", "-c", probe])
        if result.exit_code == 0:
            answer = result.output.decode()
            break
        time.sleep(0.5)
    assert answer is not None and '"db_server_status": true' in answer, odoo.logs().decode()[-2000:]

    url = odoo.exec_run(["sh", "-c", "tr '\\0' '\\n' </proc/1/environ | grep ^ODOO_SESSION_REDIS_URL="]).output.decode()
    assert url.strip() == "ODOO_SESSION_REDIS_URL=redis://tenant-a:r3d%3As%40%2Fpw@redis.lab.test:6379/0"
    cmdlines = odoo.exec_run(["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"]).output.decode()
    assert "odoo" in cmdlines
    inspected = client.api.inspect_container(odoo.id)["Config"]
    shown = " ".join([*inspected["Cmd"], *(inspected["Entrypoint"] or []), *inspected["Env"]])
    for secret in (DB_PASSWORD, REDIS_PASSWORD, "r3d%3As%40%2Fpw"):
        assert secret not in shown
        assert secret not in cmdlines

    # Another file, another password: refused. The password the server accepted came from the file.
    (secrets / "wrong_password").write_text("not-" + DB_PASSWORD)
    (secrets / "wrong_password").chmod(0o644)
    mounts[str(secrets / "wrong_password")] = {"bind": "/run/secrets/wrong_password", "mode": "ro"}
    env.update(ODOO_DB_PASSWORD_FILE="/run/secrets/wrong_password", ODOO_DB_WAIT_TIMEOUT="2")
    refused = client.containers.run(
        build["ref"], detach=True, network=network.name, labels=labels, volumes=mounts, environment=env
    )
    assert refused.wait(timeout=60)["StatusCode"] != 0
    assert "password authentication failed" in refused.logs().decode()


def test_addon_path_must_hold_a_manifest(build, tmp_path):
    """A repository of add-ons instead of an add-on: refused before anything is built, naming the fix."""
    (tmp_path / "repo" / "some_module").mkdir(parents=True)
    build["playbook"].write_text(build["playbook"].read_text().replace(str(build["addon"]), str(tmp_path / "repo")))
    try:
        proc = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "-i", str(build["tmp"] / "hosts.yml"), str(build["playbook"])],
            cwd=ROOT,
            env=ansible_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode != 0
        assert f"odoo_container_addons: {tmp_path / 'repo'} hold no __manifest__.py" in proc.stdout
    finally:
        build["playbook"].write_text(build["playbook"].read_text().replace(str(tmp_path / "repo"), str(build["addon"])))
