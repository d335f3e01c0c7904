# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx_configure.yml as far as it can go without an AWX: every task's arguments pass the awx.awx modules'
own validation, and each task fails only where it first talks to the controller.

No AWX runs here (docs/awx.md says so). The playbook runs against a closed local port: an option
the module does not know or a wrong type fails before the connection, with a different message.
The keys inside workflow_nodes are not validated by the module (they were checked against
ansible-doc awx.awx.workflow_job_template by hand). A copy keeps the layout (playbooks/,
playbooks/specs/, awx/surveys/) and drops no_log (the secrets are fake) so every message can be read.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

from .harness import ROOT, VENV_BIN, ansible_env


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_task_reaches_the_controller_with_valid_arguments(tmp_path: Path):
    playbooks = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks" / "specs", playbooks / "specs")
    shutil.copytree(ROOT / "awx" / "surveys", tmp_path / "awx" / "surveys")
    lines = []
    for line in (ROOT / "playbooks" / "awx_configure.yml").read_text(encoding="utf-8").splitlines():
        if line.strip() == "no_log: true":
            continue
        lines.append(line)
        if line.startswith("    - name: "):
            lines.append("      ignore_errors: true")
    (playbooks / "awx_configure.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = {
        "odoo_platform_awx_scm_url": "https://git.example.net/platform/odoo_platform.git",
        "odoo_platform_awx_ee_image": "registry.example.net/sysgenpro/odoo-platform-ee:0.1.0",
        "odoo_platform_awx_vault_password": "NOT-SECRET",
        "odoo_platform_awx_machine_credential": "Odoo servers SSH",
        "odoo_platform_awx_s3": {"primary_access_key": "NOT-SECRET", "primary_secret_key": "NOT-SECRET"},
    }
    run = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(playbooks / "awx_configure.yml"), "-e", json.dumps(settings)],
        env={
            **ansible_env(),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "CONTROLLER_HOST": f"http://127.0.0.1:{_closed_port()}",
            "CONTROLLER_USERNAME": "admin",
            "CONTROLLER_PASSWORD": "NOT-SECRET",
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(run.stdout)
    results = {}
    for task in report["plays"][0]["tasks"]:
        result = task["hosts"]["localhost"]
        results[task["task"]["name"]] = result.get("results", [result])
    assert results.pop("Check the settings")[0].get("failed") is not True
    job_templates = results["Create a job template per playbook spec"]
    assert len(job_templates) == len(list((ROOT / "playbooks" / "specs").glob("*.yml")))
    messages = {name: {r.get("msg", "") for r in rs} for name, rs in results.items()}
    unexpected = {name: m for name, m in messages.items() if any(not x.startswith("Failed to get token") for x in m)}
    assert unexpected == {}
