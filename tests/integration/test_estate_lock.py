# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate lock through ansible itself: a second run is refused naming the first, then takes over after release.

Needs no lab: ad-hoc commands against localhost with a private lock directory.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from .harness import ROOT, VENV_BIN, ansible_env


def _estate_lock(locks: Path, **args: Any) -> tuple[int, dict[str, Any]]:
    """Run the module once with ``ansible localhost -m``; return rc and the module result."""
    proc = subprocess.run(
        [
            str(VENV_BIN / "ansible"),
            "localhost",
            "-m",
            "sysgenpro.odoo_platform.estate_lock",
            "-a",
            json.dumps({"path": str(locks), "estate": "demo", **args}),
        ],
        cwd=ROOT,
        env={**ansible_env(), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "true", "ANSIBLE_STDOUT_CALLBACK": "json"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return proc.returncode, result


def test_second_run_is_refused_until_the_first_releases(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    # The first run names this test process as its pid: alive, so its lock is held, not stale.
    holder = {"user": "alice", "pid": os.getpid(), "playbook": "site.yml"}

    rc, first = _estate_lock(locks, run_id="run-a", holder_info=holder)
    assert (rc, first["changed"], first["lock"]["holder"].split("@")[0]) == (0, True, "alice")

    rc, second = _estate_lock(locks, run_id="run-b")
    assert rc != 0
    assert second["msg"].startswith(
        f"estate 'demo' is locked by run 'run-a' of alice@{first['lock']['holder'].split('@')[1]} "
        f"(pid {os.getpid()}, playbook site.yml) since {first['lock']['started']}; run 'run-b' did not start."
    )

    rc, released = _estate_lock(locks, state="released", run_id="run-a")
    assert (rc, released["changed"], released["status"]) == (0, True, "free")

    rc, third = _estate_lock(locks, run_id="run-b")
    assert (rc, third["changed"], third["lock"]["run_id"]) == (0, True, "run-b")


def test_lock_of_an_ended_run_is_stale_and_needs_an_explicit_break(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    # No pid given: the module records the `ansible` process, which has ended when the next command runs.
    rc, first = _estate_lock(locks, run_id="run-a")
    assert rc == 0
    assert first["lock"]["pid"] is not None

    rc, second = _estate_lock(locks, run_id="run-b")
    assert rc != 0
    host = first["lock"]["holder"].split("@")[1]
    assert second["stale_reason"] == f"its process {first['lock']['pid']} is no longer running on {host}"
    assert "re-run with `-e odoo_platform_lock_break=true` to break it and continue" in second["msg"]

    rc, taken = _estate_lock(locks, run_id="run-b", break_stale=True)
    assert (rc, taken["broken"], taken["previous"]["run_id"], taken["lock"]["run_id"]) == (0, True, "run-a", "run-b")
