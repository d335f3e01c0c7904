# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_lock: acquire, release, break and status as tables of lock-on-disk → outcome or exact error."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import run_lock
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.run_lock import (
    Context,
    LockError,
    acquire,
    break_lock,
    find_controller_pid,
    lock_status,
    release,
)

NOW = datetime(2026, 12, 3, 14, 0, 0, tzinfo=timezone.utc)
LIVE_PIDS = {4242}
ME = {"user": "alice", "host": "ctl", "pid": 4242, "playbook": "site.yml"}


def _ctx(max_age: int = 12 * 3600) -> Context:
    return Context(now=NOW, hostname="ctl", pid_alive=lambda pid: pid in LIVE_PIDS, max_age=max_age)


def _lock(
    run_id: str = "other", holder: str = "bob@ctl", pid: int | None = 4242, started: str = "2026-12-03T13:00:00Z"
):
    return {
        "estate": "demo",
        "holder": holder,
        "pid": pid,
        "run_id": run_id,
        "playbook": "site.yml",
        "started": started,
        "awx_job_id": None,
    }


# A live lock of another run on this host (pid alive, one hour old).
LIVE = _lock()
# Held on this host by a process that is gone.
DEAD_PID = _lock(pid=999)
# Held on another host for 13 hours (a pid there cannot be checked from here).
OLD = _lock(holder="awx@awx-task-1", pid=12, started="2026-12-03T01:00:00Z")
# Another host, recent: the pid cannot be checked, so it counts as live.
REMOTE = _lock(holder="awx@awx-task-1", pid=999, started="2026-12-03T13:30:00Z")
MINE = _lock(run_id="r1", holder="alice@ctl")

HELD_TAIL = (
    "Wait for that run to finish; if it is certainly no longer running, break the lock with "
    "`ansible-playbook -i <inventory> playbooks/lock.yml -e odoo_platform_lock_action=break`"
)
STALE_TAIL = (
    "Nothing was taken over: re-run with `-e odoo_platform_lock_break=true` to break it and continue "
    "(module option break_stale=true)"
)


def _write(directory: Path, content: dict[str, Any] | str | None) -> Path:
    path = directory / "demo.lock"
    if content is not None:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _on_disk(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


ACQUIRE = [
    # (id, lock on disk, break_stale, (changed, broken, run of the previous lock))
    ("free", None, False, (True, False, None)),
    ("own run: idempotent", MINE, False, (False, False, "r1")),
    ("stale by pid, broken on request", DEAD_PID, True, (True, True, "other")),
    ("stale by age, broken on request", OLD, True, (True, True, "other")),
]


@pytest.mark.parametrize("check_mode", [False, True], ids=["real", "check"])
@pytest.mark.parametrize(
    ("existing", "break_stale", "expected"), [row[1:] for row in ACQUIRE], ids=[row[0] for row in ACQUIRE]
)
def test_acquire(
    tmp_path: Path,
    check_mode: bool,
    existing: dict[str, Any] | None,
    break_stale: bool,
    expected: tuple[bool, bool, str | None],
) -> None:
    path = _write(tmp_path, existing)
    out = acquire(str(tmp_path), "demo", "r1", ME, _ctx(), break_stale=break_stale, check_mode=check_mode)
    previous = out.previous.run_id if out.previous else None
    assert (out.changed, out.broken, previous) == expected
    assert (out.status, out.lock.run_id) == ("held", "r1")
    assert out.broken_by == ("alice@ctl" if out.broken else None)
    # Check mode reports the same outcome and leaves the disk as it was.
    assert _on_disk(path) == (existing if check_mode else out.lock.as_dict())


def test_acquire_writes_the_documented_lock(tmp_path: Path) -> None:
    acquire(str(tmp_path), "demo", "r1", {**ME, "awx_job_id": 4711}, _ctx())
    path = tmp_path / "demo.lock"
    assert _on_disk(path) == {
        "estate": "demo",
        "holder": "alice@ctl",
        "pid": 4242,
        "run_id": "r1",
        "playbook": "site.yml",
        "started": "2026-12-03T14:00:00Z",
        "awx_job_id": "4711",
    }
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.lock"]  # no temporary file left


def test_acquire_creates_the_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "locks"
    acquire(str(target), "demo", "r1", ME, _ctx())
    assert (target / "demo.lock").exists()
    assert target.stat().st_mode & 0o777 == 0o700


REFUSED = [
    (
        "held by another live run",
        LIVE,
        True,  # break_stale never breaks a live lock
        "estate 'demo' is locked by run 'other' of bob@ctl (pid 4242, playbook site.yml) since 2026-12-03T13:00:00Z;"
        f" run 'r1' did not start. {HELD_TAIL}",
    ),
    (
        "held on another host: its pid cannot be checked",
        REMOTE,
        False,
        "estate 'demo' is locked by run 'other' of awx@awx-task-1 (pid 999, playbook site.yml) since "
        f"2026-12-03T13:30:00Z; run 'r1' did not start. {HELD_TAIL}",
    ),
    (
        "stale by pid",
        DEAD_PID,
        False,
        "estate 'demo' has a stale lock: run 'other' of bob@ctl (pid 999, playbook site.yml) since "
        f"2026-12-03T13:00:00Z; stale because its process 999 is no longer running on ctl. {STALE_TAIL}",
    ),
    (
        "stale by age",
        OLD,
        False,
        "estate 'demo' has a stale lock: run 'other' of awx@awx-task-1 (pid 12, playbook site.yml) since "
        f"2026-12-03T01:00:00Z; stale because it is 13h 0m old, more than max_age 12h 0m. {STALE_TAIL}",
    ),
    (
        "unreadable lock file",
        "{not json",
        False,
        "estate 'demo' is locked by run '<unreadable lock file>' of unknown@unknown since {mtime}; run 'r1' did not"
        f" start. {HELD_TAIL}",
    ),
]


@pytest.mark.parametrize("check_mode", [False, True], ids=["real", "check"])
@pytest.mark.parametrize(("existing", "break_stale", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_acquire_refused(
    tmp_path: Path, check_mode: bool, existing: dict[str, Any] | str, break_stale: bool, message: str
) -> None:
    path = _write(tmp_path, existing)
    before = path.read_text(encoding="utf-8")
    mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The unreadable file is young: judge its age from its mtime.
    ctx = _ctx() if isinstance(existing, dict) else Context(hostname="ctl", pid_alive=lambda pid: True)
    with pytest.raises(LockError) as err:
        acquire(str(tmp_path), "demo", "r1", ME, ctx, break_stale=break_stale, check_mode=check_mode)
    assert str(err.value) == message.format(mtime=mtime)
    assert err.value.lock is not None
    assert path.read_text(encoding="utf-8") == before  # never touched


def test_acquire_lost_race_names_the_winner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another run publishes its lock between our read and our link(): we fail, naming it."""
    real_link = os.link

    def _racing_link(src: str, dst: str) -> None:
        _write(tmp_path, LIVE)
        real_link(src, dst)

    monkeypatch.setattr(run_lock.os, "link", _racing_link)
    with pytest.raises(LockError, match=r"^estate 'demo' is locked by run 'other' of bob@ctl"):
        acquire(str(tmp_path), "demo", "r1", ME, _ctx())
    assert _on_disk(tmp_path / "demo.lock") == LIVE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.lock"]


RELEASE = [
    # (id, lock on disk, changed, previous run)
    ("own lock", MINE, True, "r1"),
    ("free: nothing to do", None, False, None),
]


@pytest.mark.parametrize("check_mode", [False, True], ids=["real", "check"])
@pytest.mark.parametrize(("existing", "changed", "previous"), [r[1:] for r in RELEASE], ids=[r[0] for r in RELEASE])
def test_release(
    tmp_path: Path, check_mode: bool, existing: dict[str, Any] | None, changed: bool, previous: str | None
) -> None:
    path = _write(tmp_path, existing)
    out = release(str(tmp_path), "demo", "r1", _ctx(), check_mode=check_mode)
    assert (out.changed, out.status, out.lock) == (changed, "free", None)
    assert (out.previous.run_id if out.previous else None) == previous
    assert _on_disk(path) == (existing if check_mode else None)


@pytest.mark.parametrize("existing", [LIVE, DEAD_PID], ids=["live", "stale"])
def test_release_refuses_another_runs_lock(tmp_path: Path, existing: dict[str, Any]) -> None:
    path = _write(tmp_path, existing)
    with pytest.raises(LockError) as err:
        release(str(tmp_path), "demo", "r1", _ctx())
    pid = existing["pid"]
    assert str(err.value) == (
        f"refusing to release the lock on estate 'demo': it is held by run 'other' of bob@ctl (pid {pid}, playbook "
        "site.yml) since 2026-12-03T13:00:00Z, not by run 'r1'; a run releases only its own lock. If that run is "
        "certainly no longer running, break the lock with "
        "`ansible-playbook -i <inventory> playbooks/lock.yml -e odoo_platform_lock_action=break`"
    )
    assert _on_disk(path) == existing


BREAK = [
    # (id, lock on disk, changed, message)
    (
        "live lock",
        LIVE,
        True,
        "carol@ops broke the live lock of run 'other' of bob@ctl (pid 4242, playbook site.yml) since "
        "2026-12-03T13:00:00Z on estate 'demo'",
    ),
    (
        "stale lock",
        DEAD_PID,
        True,
        "carol@ops broke the stale lock of run 'other' of bob@ctl (pid 999, playbook site.yml) since "
        "2026-12-03T13:00:00Z on estate 'demo'",
    ),
    ("free", None, False, "estate 'demo' is not locked; nothing to break"),
]


@pytest.mark.parametrize("check_mode", [False, True], ids=["real", "check"])
@pytest.mark.parametrize(("existing", "changed", "message"), [r[1:] for r in BREAK], ids=[r[0] for r in BREAK])
def test_break(tmp_path: Path, check_mode: bool, existing: dict[str, Any] | None, changed: bool, message: str) -> None:
    path = _write(tmp_path, existing)
    out = break_lock(str(tmp_path), "demo", "carol@ops", _ctx(), check_mode=check_mode)
    assert (out.changed, out.broken, out.msg, out.status) == (changed, changed, message, "free")
    assert out.broken_by == ("carol@ops" if changed else None)
    assert (out.previous.as_dict() if out.previous else None) == existing
    assert _on_disk(path) == (existing if check_mode else None)


STATUS = [
    # (id, lock on disk, max_age, status, stale reason)
    ("free", None, 43200, "free", None),
    ("live", LIVE, 43200, "held", None),
    ("stale by pid", DEAD_PID, 43200, "stale", "its process 999 is no longer running on ctl"),
    ("stale by age", OLD, 43200, "stale", "it is 13h 0m old, more than max_age 12h 0m"),
    ("fresh under a longer max_age", OLD, 14 * 3600, "held", None),
    ("remote pid is never probed", REMOTE, 43200, "held", None),
    ("no pid recorded", _lock(pid=None), 43200, "held", None),
    ("age exactly max_age is not stale yet", _lock(started="2026-12-03T02:00:00Z"), 43200, "held", None),
]


@pytest.mark.parametrize(
    ("existing", "max_age", "status", "reason"), [r[1:] for r in STATUS], ids=[r[0] for r in STATUS]
)
def test_status(tmp_path: Path, existing: dict[str, Any] | None, max_age: int, status: str, reason: str | None) -> None:
    _write(tmp_path, existing)
    out = lock_status(str(tmp_path), "demo", _ctx(max_age))
    assert (out.changed, out.status, out.stale_reason) == (False, status, reason)
    assert (out.lock.as_dict() if out.lock else None) == existing


@pytest.mark.parametrize("estate", ["../etc/passwd", "Demo", "", "-demo", "a" * 64, "demo.lock", None], ids=repr)
def test_estate_must_be_a_dns_label(tmp_path: Path, estate: Any) -> None:
    with pytest.raises(ValueError, match=r"^estate=.* is not a DNS-1123 label; use lowercase letters"):
        acquire(str(tmp_path), estate, "r1", ME, _ctx())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("action", [acquire, release], ids=["acquire", "release"])
def test_run_id_must_not_be_empty(tmp_path: Path, action: Any) -> None:
    args = (str(tmp_path), "demo", "", ME, _ctx()) if action is acquire else (str(tmp_path), "demo", "", _ctx())
    with pytest.raises(ValueError, match=r"^run_id is empty"):
        action(*args)


def _proc(root: Path, pid: int, ppid: int, argv: list[str], comm: str = "python3") -> None:
    (root / str(pid)).mkdir()
    (root / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (root / str(pid) / "stat").write_text(f"{pid} ({comm}) S {ppid} {pid} 0 0\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        # bash → ansible-playbook (a Python script) → forked worker, same argv → sh -c → module: the main process
        (
            [
                (50, 1, ["-bash"]),
                (100, 50, ["/venv/bin/python3.11", "/venv/bin/ansible-playbook", "site.yml"]),
                (200, 100, ["/venv/bin/python3.11", "/venv/bin/ansible-playbook", "site.yml"]),
                (300, 200, ["/bin/sh", "-c", "/usr/bin/python3 && sleep 0"]),
                (400, 300, ["/usr/bin/python3"]),
            ],
            100,
        ),
        # the ad-hoc command, started directly; comm with spaces and ')' must not confuse the parser
        ([(100, 1, ["ansible", "localhost"]), (400, 100, ["/usr/bin/python3"])], 100),
        # a module on a remote host: sshd above it, no ansible
        ([(100, 1, ["sshd: alice"]), (400, 100, ["/usr/bin/python3"])], None),
    ],
    ids=["playbook", "ad-hoc", "remote"],
)
def test_find_controller_pid(tmp_path: Path, tree: list[tuple[int, int, list[str]]], expected: int | None) -> None:
    for pid, ppid, argv in tree:
        _proc(tmp_path, pid, ppid, argv, comm="odd (name) x")
    assert find_controller_pid(400, proc=str(tmp_path)) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, None), ({"JOB_ID": "17"}, "17"), ({"AWX_JOB_ID": "4711", "JOB_ID": "17"}, "4711"), ({"JOB_ID": ""}, None)],
)
def test_awx_job_id(environ: dict[str, str], expected: str | None) -> None:
    assert run_lock.awx_job_id(environ) == expected


def test_pid_alive() -> None:
    assert run_lock.pid_alive(os.getpid())
    assert run_lock.pid_alive(0)  # not a process id: never a reason to call a lock stale
