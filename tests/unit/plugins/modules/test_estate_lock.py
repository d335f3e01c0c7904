# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""estate_lock module: arguments, check mode, diff, idempotence and the exact failure messages."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sysgenpro.odoo_platform.plugins.modules import estate_lock

HOLDER = {"user": "alice", "host": "ctl", "pid": 1, "playbook": "site.yml"}


def _run(capsys: pytest.CaptureFixture[str], args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    """Run the module in-process; return its JSON result (``failed`` set when it failed)."""
    args = {**args, "_ansible_check_mode": check, "_ansible_diff": True}
    with patch_module_args(args), pytest.raises(SystemExit):
        estate_lock.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def locks(tmp_path: Path) -> Path:
    return tmp_path / "locks"


def _acquire(locks: Path, run_id: str, **extra: Any) -> dict[str, Any]:
    return {"path": str(locks), "estate": "demo", "run_id": run_id, "holder_info": HOLDER, **extra}


def test_acquire_check_mode_then_real_then_again(capsys: pytest.CaptureFixture[str], locks: Path) -> None:
    checked = _run(capsys, _acquire(locks, "r1"), check=True)
    assert (checked["changed"], checked["status"], checked["lock"]["run_id"]) == (True, "held", "r1")
    assert not locks.exists()  # check mode writes nothing, not even the directory

    first = _run(capsys, _acquire(locks, "r1"))
    assert first["changed"] is True
    assert first["msg"] == "locked estate 'demo' for run 'r1'"
    assert first["diff"]["before"] == {}
    assert first["diff"]["after"] == first["lock"]
    assert first["lock"]["holder"] == "alice@ctl"
    assert json.loads((locks / "demo.lock").read_text(encoding="utf-8")) == first["lock"]

    again = _run(capsys, _acquire(locks, "r1"))
    assert (again["changed"], again["msg"]) == (False, "estate 'demo' is already locked by this run")
    assert again["diff"]["before"] == again["diff"]["after"] == first["lock"]


def test_second_run_fails_naming_the_holder(capsys: pytest.CaptureFixture[str], locks: Path) -> None:
    first = _run(capsys, _acquire(locks, "r1"))
    for check in (True, False):  # a --check run predicts the refusal
        second = _run(capsys, _acquire(locks, "r2", holder_info={"user": "bob"}), check=check)
        assert second["failed"] is True
        assert second["msg"] == (
            f"estate 'demo' is locked by run 'r1' of alice@ctl (pid 1, playbook site.yml) since "
            f"{first['lock']['started']}; run 'r2' did not start. Wait for that run to finish; if it is certainly no "
            "longer running, break the lock with "
            "`ansible-playbook -i <inventory> playbooks/lock.yml -e odoo_platform_lock_action=break`"
        )
        assert second["lock"] == first["lock"]


def test_stale_lock_is_reported_then_broken_on_request(capsys: pytest.CaptureFixture[str], locks: Path) -> None:
    _run(capsys, _acquire(locks, "r1", holder_info={**HOLDER, "host": socket.gethostname(), "pid": 2**22 + 1}))
    refused = _run(capsys, _acquire(locks, "r2"))
    assert refused["failed"] is True
    assert refused["stale_reason"] == f"its process {2**22 + 1} is no longer running on {socket.gethostname()}"
    assert "re-run with `-e odoo_platform_lock_break=true`" in refused["msg"]

    taken = _run(capsys, _acquire(locks, "r2", break_stale=True))
    assert (taken["changed"], taken["broken"], taken["broken_by"]) == (True, True, "alice@ctl")
    assert (taken["previous"]["run_id"], taken["lock"]["run_id"]) == ("r1", "r2")


def test_release_and_break(capsys: pytest.CaptureFixture[str], locks: Path) -> None:
    _run(capsys, _acquire(locks, "r1"))
    base = {"path": str(locks), "estate": "demo"}

    refused = _run(capsys, {**base, "state": "released", "run_id": "r2"})
    assert refused["failed"] is True
    assert refused["msg"].startswith("refusing to release the lock on estate 'demo': it is held by run 'r1'")

    status = _run(capsys, {**base, "state": "status"})
    assert (status["changed"], status["status"], status["lock"]["run_id"]) == (False, "held", "r1")

    broken = _run(capsys, {**base, "state": "broken", "holder_info": {"user": "carol", "host": "ops"}}, check=True)
    assert (broken["changed"], broken["broken_by"]) == (True, "carol@ops")
    assert (locks / "demo.lock").exists()

    broken = _run(capsys, {**base, "state": "broken", "holder_info": {"user": "carol", "host": "ops"}})
    assert (broken["changed"], broken["previous"]["run_id"], broken["diff"]["after"]) == (True, "r1", {})
    assert not (locks / "demo.lock").exists()

    released = _run(capsys, {**base, "state": "released", "run_id": "r1"})
    assert (released["changed"], released["status"]) == (False, "free")


def test_holder_defaults_come_from_the_host(
    capsys: pytest.CaptureFixture[str], locks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOB_ID", "4711")
    result = _run(capsys, {"path": str(locks), "estate": "demo", "run_id": "r1"})
    lock = result["lock"]
    assert lock["holder"].endswith(f"@{socket.gethostname()}")
    assert lock["awx_job_id"] == "4711"
    assert lock["pid"] is None  # pytest is no ansible process: no pid to probe later
    assert (locks / "demo.lock").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"state": "acquired"}, "state is acquired but all of the following are missing: run_id"),
        ({"state": "released"}, "state is released but all of the following are missing: run_id"),
        (
            {"state": "status", "estate": "Prod_1"},
            "estate='Prod_1' is not a DNS-1123 label; use lowercase letters, digits and '-' (at most 63 characters, "
            "starting and ending with a letter or digit), e.g. 'logistics-prod'",
        ),
        (
            {"state": "status", "max_age": 0},
            "max_age=0: must be a positive number of seconds, e.g. 43200 (12 h)",
        ),
    ],
    ids=["acquire-without-run-id", "release-without-run-id", "estate-name", "max-age"],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], locks: Path, args: dict[str, Any], message: str) -> None:
    result = _run(capsys, {"path": str(locks), "estate": "demo", **args})
    assert (result["failed"], result["msg"]) == (True, message)


def test_lock_directory_that_cannot_be_used(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = _run(capsys, {"path": str(blocker), "estate": "demo", "run_id": "r1"})
    assert result["failed"] is True
    assert result["msg"].startswith(f"cannot use the lock directory {blocker}: ")
