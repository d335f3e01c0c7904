# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Onboarding discovery and assessment against the legacy-host fixture (real systemd, PostgreSQL 15).

One container from sysgenpro-lab/legacy-host:bookworm (tests/images/legacy-host: the Odoo
stand-in 16.0 as odoo.service, a messy odoo.conf, databases erp_main and shop_legacy with
attachments), reached with the community.docker.docker connection from an ad-hoc inventory.
Everything carries org.sysgenpro.lab=true and is removed at the end.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any

import pytest

from .harness import ROOT, ansible_env, run_playbook

pytestmark = pytest.mark.integration

IMAGE = "sysgenpro-lab/legacy-host:bookworm"
SYSTEMD_FLAGS = [
    "--cgroupns",
    "private",
    "--cap-add",
    "SYS_ADMIN",
    "--tmpfs",
    "/run",
    "--tmpfs",
    "/run/lock",
    "--tmpfs",
    "/sys/fs/cgroup",
]
SECRETS = ("0d00%legacy",)  # the fixture's database password (tests/images/legacy-host/odoo.conf)
# tests/images/legacy-host/setup.sh: file contents and sizes of the attachments.
FILESTORE = {"erp_main": (3, 900 + 1800 + 2700), "shop_legacy": (2, 250 + 420)}
WEAKNESSES = [
    "admin_passwd_default",
    "admin_passwd_plaintext",
    "db_user_superuser",
    "pg_trust_auth",
    "pg_md5_auth",
    "list_db_enabled",
    "config_world_readable",
]


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The legacy host, running, with an inventory that reaches it over the docker connection."""
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode != 0:
        pytest.fail(f"lab image {IMAGE} missing: run `make lab` (scripts/lab.sh images) first")
    name = f"legacy-odoo-{uuid.uuid4().hex[:8]}"
    _docker(
        "run", "-d", "--name", name, "--hostname", "erp-old", "--label", "org.sysgenpro.lab=true", *SYSTEMD_FLAGS, IMAGE
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [
                    "docker",
                    "exec",
                    name,
                    "python3",
                    "-c",
                    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8069/web/health', timeout=2)",
                ],
                capture_output=True,
                check=False,
            )
            if probe.returncode == 0:
                break
            time.sleep(1)
        else:
            pytest.fail(
                f"odoo.service did not answer in {name}: {_docker('exec', name, 'systemctl', 'status', 'odoo')}"
            )
        tmp = tmp_path_factory.mktemp("onboard")
        inventory = tmp / "legacy.yml"
        inventory.write_text(
            "---\nlegacy_odoo:\n  hosts:\n"
            f"    {name}:\n      ansible_connection: community.docker.docker\n"
            "      ansible_python_interpreter: /usr/bin/python3\n",
            encoding="utf-8",
        )
        yield {"name": name, "inventory": inventory, "tmp": tmp}
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)


def _module(legacy: dict[str, Any], *args: str) -> dict[str, Any]:
    """Run odoo_instance_facts ad hoc (check mode) and return its result."""
    proc = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "ansible"),
            legacy["name"],
            "-i",
            str(legacy["inventory"]),
            "--become",
            "--check",
            "-m",
            "sysgenpro.odoo_platform.odoo_instance_facts",
            *args,
        ],
        env={**ansible_env(), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for secret in SECRETS:
        assert secret not in proc.stdout
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"][legacy["name"]]


def test_discovery_returns_the_exact_facts(legacy: dict[str, Any]) -> None:
    result = _module(legacy)
    assert result["changed"] is False
    facts = result["odoo_instance"]
    odoo = facts["odoo"]
    assert facts["service"] | {"main_pid": None} == {
        "kind": "systemd",
        "unit": "odoo.service",
        "unit_file": "/etc/systemd/system/odoo.service",
        "active_state": "active",
        "main_pid": None,
        "user": "odoo",
        "home": "/opt/odoo",
        "working_directory": "/",
        "command": ["/usr/bin/python3", "/opt/odoo/odoo-bin", "-c", "/etc/odoo/odoo.conf"],
    }
    assert facts["config"]["path"] == "/etc/odoo/odoo.conf"
    assert facts["config"]["options"]["db_password"] == "********"
    assert facts["config"]["options"]["admin_passwd"] == "********"
    assert facts["config"]["other_sections"] == ["queue_job"]
    assert (odoo["version"], odoo["version_source"]) == ("16.0", "http://127.0.0.1:8069/web/webclient/version_info")
    # F10: split on commas only, stripped; the trailing comma is what Odoo made of it (systemd's cwd is /).
    assert odoo["addons_path"] == [
        "/opt/odoo/odoo/addons",
        "/opt/odoo/addons",
        "/opt/odoo/custom addons",
        "/opt/odoo/oca/web",
        "/",
    ]
    assert odoo["addons_path_empty_entries"] == [{"position": 4, "resolved_to": "/"}]
    assert odoo["custom_addons_paths"] == ["/opt/odoo/custom addons", "/opt/odoo/oca/web"]
    assert odoo["custom_modules"] == ["lgx_customs", "lgx_fleet", "web_responsive"]
    # No data_dir in odoo.conf: the service user's home, as Odoo's appdirs default.
    assert odoo["data_dir"] == "/opt/odoo/.local/share/Odoo"
    assert (odoo["http_port"], odoo["workers"], odoo["list_db"], odoo["proxy_mode"]) == (8069, 0, True, False)
    pg = facts["postgresql"]
    assert (pg["reachable"], pg["major"], pg["connection"]) == (
        True,
        15,
        {"host": "localhost", "port": 5432, "user": "odoo"},
    )
    assert pg["role"] == {"name": "odoo", "superuser": True, "createdb": False, "createrole": False}
    assert pg["settings"]["password_encryption"] == "md5"
    assert [(r["type"], r["method"]) for r in pg["hba_rules"]] == [
        ("local", "peer"),
        ("local", "trust"),
        ("host", "md5"),
        ("host", "md5"),
    ]
    dbs = {db["name"]: db for db in facts["databases"]}
    assert sorted(dbs) == ["erp_main", "shop_legacy"]
    assert dbs["erp_main"]["installed_modules"] == ["base", "lgx_fleet", "lgx_ghost", "web", "web_responsive"]
    assert dbs["shop_legacy"]["installed_modules"] == ["base", "lgx_customs", "web"]
    assert (dbs["erp_main"]["internal_users"], dbs["shop_legacy"]["internal_users"]) == (4, 1)
    for name, (files, size) in FILESTORE.items():
        db = dbs[name]
        assert (db["attachments"], db["attachments_in_filestore"]) == (files, files)
        assert db["filestore"] | {"missing_sample": []} == {
            "path": f"/opt/odoo/.local/share/Odoo/filestore/{name}",
            "exists": True,
            "files": files,
            "bytes": size,
            "missing_files": 0,
            "missing_sample": [],
        }
        assert db["size_bytes"] > 0
    assert [w["id"] for w in facts["weaknesses"]] == WEAKNESSES
    assert facts["warnings"] == [
        "addons_path has an empty entry (a trailing comma); Odoo resolves it to '/', its working directory; "
        "the migrated configuration drops it"
    ]
    # Read-only: the legacy service still runs, untouched.
    assert _docker("exec", legacy["name"], "systemctl", "is-active", "odoo", "postgresql") == "active\nactive"


def test_onboard_assess_reports_every_weakness(legacy: dict[str, Any]) -> None:
    out = legacy["tmp"] / "reports"
    run = run_playbook(legacy["inventory"], "onboard_assess.yml", "-e", f"odoo_platform_onboard_dir={out}")
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.recap[legacy["name"]]["failed"] == 0
    assert "erp_main -> environment erp-main: tier standard, tenancy shared" in run.stdout
    report = json.loads((out / "assessment.json").read_text(encoding="utf-8"))
    assert report["weaknesses"] == WEAKNESSES
    risk_ids = [r["id"] for r in report["risks"]]
    assert set(WEAKNESSES) <= set(risk_ids)
    assert "installed_module_without_code" in risk_ids  # lgx_ghost is installed, its code is gone
    assert [(e["name"], e["tier"], e["tenancy"]) for e in report["environments"]] == [
        ("erp-main", "standard", "shared"),
        ("shop-legacy", "standard", "shared"),
    ]
    markdown = (out / "assessment.md").read_text(encoding="utf-8")
    for weakness in WEAKNESSES:
        assert f"`{weakness}`" in markdown
    fragment = (out / "inventory-fragment.yml").read_text(encoding="utf-8")
    assert '"{{ vault_erp_main_db_password }}"' in fragment
    for path in out.iterdir():
        for secret in SECRETS:
            assert secret not in path.read_text(encoding="utf-8"), path
    # The script path (for hosts with Python < 3.8) returns the same facts.
    script_out = legacy["tmp"] / "script"
    run = run_playbook(
        legacy["inventory"],
        "onboard_assess.yml",
        "-e",
        f"odoo_platform_onboard_dir={script_out}",
        "-e",
        "odoo_platform_onboard_method=script",
    )
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-3000:]
    by_module = json.loads((out / "facts.json").read_text(encoding="utf-8"))
    by_script = json.loads((script_out / "facts.json").read_text(encoding="utf-8"))
    for facts in (by_module, by_script):
        facts["host"].pop("python")  # the module runs under AnsiballZ, the script under python3: same version here
        # A live database's on-disk size moves between two reads (statistics, autovacuum); the
        # size itself is asserted against the fixture in the discovery test.
        for database in facts["databases"]:
            database.pop("size_bytes", None)
    assert by_script == by_module
