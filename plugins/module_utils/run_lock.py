# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate run lock: one run at a time may change an estate.

Pure Python, no Ansible imports (Python 3.8+). A lock is one JSON file, ``<directory>/<estate>.lock``,
that appears atomically: it is written completely to a private temporary file first
(``O_CREAT | O_EXCL``, mode ``0600``) and then published with ``os.link()``, which fails when the
lock file already exists. No reader ever sees a half-written lock, and two runs that race for a
free estate cannot both win, on a local file system or on NFS.

A lock is *stale* when its holder ran on this host and its process is gone, or when it is older
than ``max_age``. A stale lock is reported, never taken over silently: acquiring fails with
who/when and the fix, unless the caller asks to break stale locks. A run releases only its own
lock (same ``run_id``); breaking someone else's lock is a separate, explicit operation whose
result names who broke it and the previous holder.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

DEFAULT_MAX_AGE = 12 * 3600
DEFAULT_DIRECTORY = "~/.cache/sysgenpro-odoo-platform/locks"
# How an operator takes over a stale lock from the playbooks, and breaks any lock on purpose.
BREAK_STALE_HINT = "re-run with `-e odoo_platform_lock_break=true` to break it and continue"
BREAK_ANY_HINT = "ansible-playbook -i <inventory> playbooks/lock.yml -e odoo_platform_lock_action=break"
# The environment variables that carry the job id when AWX / AAP (or ansible-runner) runs the play.
AWX_JOB_ENV = ("AWX_JOB_ID", "TOWER_JOB_ID", "JOB_ID")
CONTROLLER_NAMES = ("ansible-playbook", "ansible")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_FREE = "free"
_HELD = "held"
_STALE = "stale"


class LockError(Exception):
    """The lock operation cannot be done; ``lock`` is the lock in the way, if any."""

    def __init__(self, message: str, lock: Lock | None = None, stale_reason: str | None = None) -> None:
        self.lock = lock
        self.stale_reason = stale_reason
        super().__init__(message)


@dataclass
class Lock:
    """The content of a lock file: who holds the estate, since when, for which run."""

    estate: str
    holder: str
    run_id: str
    started: str
    pid: int | None = None
    playbook: str | None = None
    awx_job_id: str | None = None

    @property
    def host(self) -> str:
        """The host part of ``holder`` (``user@host``)."""
        return self.holder.rpartition("@")[2]

    def as_dict(self) -> dict[str, Any]:
        """The JSON form written to the lock file and returned by the module."""
        return {
            "estate": self.estate,
            "holder": self.holder,
            "pid": self.pid,
            "run_id": self.run_id,
            "playbook": self.playbook,
            "started": self.started,
            "awx_job_id": self.awx_job_id,
        }

    def describe(self) -> str:
        """One line naming the run, its holder, process, playbook, AWX job and start time."""
        details = []
        if self.pid is not None:
            details.append(f"pid {self.pid}")
        if self.playbook:
            details.append(f"playbook {self.playbook}")
        if self.awx_job_id:
            details.append(f"AWX job {self.awx_job_id}")
        extra = f" ({', '.join(details)})" if details else ""
        return f"run {self.run_id!r} of {self.holder}{extra} since {self.started}"


@dataclass
class Outcome:
    """What an operation did: ``status`` and ``lock`` after it, ``previous`` before it."""

    changed: bool
    status: str
    lock: Lock | None
    previous: Lock | None
    msg: str
    lock_file: str
    broken: bool = False
    broken_by: str | None = None
    stale_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The module's return values."""
        return {
            "changed": self.changed,
            "status": self.status,
            "lock": self.lock.as_dict() if self.lock else None,
            "previous": self.previous.as_dict() if self.previous else None,
            "msg": self.msg,
            "lock_file": self.lock_file,
            "broken": self.broken,
            "broken_by": self.broken_by,
            "stale_reason": self.stale_reason,
        }


def format_time(moment: datetime) -> str:
    """UTC ISO 8601 with a ``Z``, to the second: ``2026-12-03T14:00:00Z``."""
    return moment.astimezone(timezone.utc).strftime(_TIME_FORMAT)


def parse_time(text: Any) -> datetime | None:
    """The inverse of :func:`format_time`; ``None`` when ``text`` is not in that form."""
    try:
        return datetime.strptime(str(text), _TIME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def format_age(seconds: float) -> str:
    """A duration for humans: ``13h 2m``, ``5m 10s``, ``42s``."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def validate_estate(estate: Any) -> str:
    """Return ``estate`` when it is a DNS-1123 label (it becomes a file name); raise ``ValueError``."""
    if not isinstance(estate, str) or not _DNS_LABEL.match(estate):
        raise ValueError(
            f"estate={estate!r} is not a DNS-1123 label; use lowercase letters, digits and '-' "
            "(at most 63 characters, starting and ending with a letter or digit), e.g. 'logistics-prod'"
        )
    return estate


def lock_file(directory: str, estate: str) -> str:
    """The path of the estate's lock file inside ``directory`` (``~`` expanded)."""
    return os.path.join(os.path.expanduser(directory), f"{validate_estate(estate)}.lock")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 probes without signalling)."""
    if pid <= 0:
        return True  # not a real process id: never call a lock stale on it
    try:
        os.kill(pid, 0)
    except OSError as exc:
        # EPERM: the process exists but belongs to someone else.
        return exc.errno != errno.ESRCH
    return True


@dataclass
class Context:
    """The clock, the host and the process table a decision is made against (injectable for tests)."""

    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    hostname: str = field(default_factory=socket.gethostname)
    pid_alive: Callable[[int], bool] = field(default_factory=lambda: pid_alive)
    max_age: int = DEFAULT_MAX_AGE


def find_controller_pid(start: int, proc: str = "/proc", names: tuple[str, ...] = CONTROLLER_NAMES) -> int | None:
    """The ``ansible-playbook`` / ``ansible`` process above ``start`` that lives as long as the run.

    A module process lives only as long as its task, and so does the forked worker above it (it
    carries the same command line as the main process); the lock must name the main process, the
    topmost of the consecutive ansible ancestors. Returns ``None`` when there is none (the module
    runs on a remote host) or no ``/proc``.
    """
    found = None
    pid = start
    for _depth in range(64):
        if pid <= 1:
            break
        try:
            with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
                argv = [a.decode("utf-8", "replace") for a in handle.read().split(b"\0") if a]
            with open(os.path.join(proc, str(pid), "stat"), encoding="utf-8") as handle:
                stat = handle.read()
        except OSError:
            break
        # argv[0] is the interpreter when ansible-playbook is started as a Python script.
        if any(os.path.basename(arg) in names for arg in argv[:2]):
            found = pid
        elif found is not None:
            break
        # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces and ')'.
        try:
            pid = int(stat.rpartition(")")[2].split()[1])
        except (IndexError, ValueError):
            break
    return found


def awx_job_id(environ: Mapping[str, str]) -> str | None:
    """The AWX / AAP job id from the environment, when the run is an AWX job."""
    for name in AWX_JOB_ENV:
        value = environ.get(name)
        if value:
            return str(value)
    return None


def read_lock(path: str, estate: str) -> Lock | None:
    """The lock in ``path``, ``None`` when there is none.

    A lock file that is not valid lock JSON (edited by hand, disk full) still holds the estate:
    it is reported as held by ``unknown`` since the file's modification time.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not data.get("run_id") or not data.get("holder"):
            raise ValueError("not a lock")
        pid = data.get("pid")
        return Lock(
            estate=str(data.get("estate") or estate),
            holder=str(data["holder"]),
            run_id=str(data["run_id"]),
            started=str(data.get("started") or format_time(datetime.fromtimestamp(mtime, timezone.utc))),
            pid=int(pid) if isinstance(pid, int) or (isinstance(pid, str) and pid.isdigit()) else None,
            playbook=data.get("playbook") or None,
            awx_job_id=str(data["awx_job_id"]) if data.get("awx_job_id") not in (None, "") else None,
        )
    except ValueError:
        return Lock(
            estate=estate,
            holder="unknown@unknown",
            run_id="<unreadable lock file>",
            started=format_time(datetime.fromtimestamp(mtime, timezone.utc)),
        )


def stale_reason(lock: Lock, ctx: Context) -> str | None:
    """Why ``lock`` is stale, or ``None`` when its holder may still be running."""
    if lock.pid is not None and lock.host == ctx.hostname and not ctx.pid_alive(lock.pid):
        return f"its process {lock.pid} is no longer running on {lock.host}"
    started = parse_time(lock.started)
    if started is not None:
        age = (ctx.now - started).total_seconds()
        if age > ctx.max_age:
            return f"it is {format_age(age)} old, more than max_age {format_age(ctx.max_age)}"
    return None


def inspect(directory: str, estate: str, ctx: Context) -> tuple[str, Lock | None, str | None]:
    """``(status, lock, stale_reason)`` of the estate: status is ``free``, ``held`` or ``stale``."""
    lock = read_lock(lock_file(directory, estate), estate)
    if lock is None:
        return _FREE, None, None
    reason = stale_reason(lock, ctx)
    return (_STALE if reason else _HELD), lock, reason


def new_lock(estate: str, run_id: str, holder: Mapping[str, Any], ctx: Context) -> Lock:
    """The lock this run writes: ``holder`` supplies user, host, pid, playbook and awx_job_id."""
    if not run_id:
        raise ValueError("run_id is empty; give every run a unique id (e.g. the AWX job id or a random token)")
    user = holder.get("user") or "unknown"
    host = holder.get("host") or ctx.hostname
    pid = holder.get("pid")
    return Lock(
        estate=validate_estate(estate),
        holder=f"{user}@{host}",
        run_id=str(run_id),
        started=format_time(ctx.now),
        pid=int(pid) if pid is not None else None,
        playbook=holder.get("playbook") or None,
        awx_job_id=str(holder["awx_job_id"]) if holder.get("awx_job_id") not in (None, "") else None,
    )


def _write_atomically(path: str, lock: Lock) -> bool:
    """Publish ``lock`` at ``path`` unless a lock is there already; ``False`` when one is."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    temp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(lock.as_dict(), handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temp)


def _held_message(estate: str, lock: Lock, run_id: str) -> str:
    return (
        f"estate {estate!r} is locked by {lock.describe()}; run {run_id!r} did not start. "
        "Wait for that run to finish; if it is certainly no longer running, break the lock with "
        f"`{BREAK_ANY_HINT}`"
    )


def _stale_message(estate: str, lock: Lock, reason: str) -> str:
    return (
        f"estate {estate!r} has a stale lock: {lock.describe()}; stale because {reason}. "
        f"Nothing was taken over: {BREAK_STALE_HINT} (module option break_stale=true)"
    )


def acquire(
    directory: str,
    estate: str,
    run_id: str,
    holder: Mapping[str, Any],
    ctx: Context,
    *,
    break_stale: bool = False,
    check_mode: bool = False,
) -> Outcome:
    """Take the estate's lock for ``run_id``; raise :class:`LockError` when another run holds it.

    Idempotent: when ``run_id`` already holds the lock nothing changes. A stale lock of another
    run is broken only with ``break_stale``; the outcome then names the previous holder.
    """
    path = lock_file(directory, estate)
    mine = new_lock(estate, run_id, holder, ctx)
    state, current, reason = inspect(directory, estate, ctx)
    broken = False
    if current is not None:
        if current.run_id == mine.run_id:
            return Outcome(False, _HELD, current, current, f"estate {estate!r} is already locked by this run", path)
        if state == _HELD:
            raise LockError(_held_message(estate, current, mine.run_id), current)
        if not break_stale:
            raise LockError(_stale_message(estate, current, reason or ""), current, reason)
        broken = True
        if not check_mode:
            _remove_if_same(path, current, estate)
    if not check_mode and not _write_atomically(path, mine):
        # Another run published its lock between our read and our write: report that run.
        winner = read_lock(path, estate)
        raise LockError(_held_message(estate, winner or mine, mine.run_id), winner)
    if broken and current is not None:
        msg = f"broke the stale lock of {current.describe()} ({reason}) and locked estate {estate!r} for run {run_id!r}"
        return Outcome(True, _HELD, mine, current, msg, path, broken=True, broken_by=mine.holder, stale_reason=reason)
    return Outcome(True, _HELD, mine, None, f"locked estate {estate!r} for run {run_id!r}", path)


def _remove_if_same(path: str, expected: Lock, estate: str) -> None:
    """Delete the lock file only if it still holds ``expected`` (another run may have replaced it)."""
    again = read_lock(path, estate)
    if again is None:
        return
    if again.run_id != expected.run_id:
        raise LockError(f"estate {estate!r} was locked again meanwhile by {again.describe()}", again)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def release(directory: str, estate: str, run_id: str, ctx: Context, *, check_mode: bool = False) -> Outcome:
    """Give up the lock held by ``run_id``; a free estate is fine (unchanged).

    Raises :class:`LockError` when another run holds the lock: a run never removes another
    run's lock, stale or not (that is :func:`break_lock`).
    """
    path = lock_file(directory, estate)
    if not run_id:
        raise ValueError("run_id is empty; release with the run_id the lock was acquired with")
    _state, current, reason = inspect(directory, estate, ctx)
    if current is None:
        return Outcome(False, _FREE, None, None, f"estate {estate!r} is not locked", path)
    if current.run_id != run_id:
        raise LockError(
            f"refusing to release the lock on estate {estate!r}: it is held by {current.describe()}, "
            f"not by run {run_id!r}; a run releases only its own lock. If that run is certainly no longer "
            f"running, break the lock with `{BREAK_ANY_HINT}`",
            current,
            reason,
        )
    if not check_mode:
        _remove_if_same(path, current, estate)
    return Outcome(True, _FREE, None, current, f"released the lock of run {run_id!r} on estate {estate!r}", path)


def break_lock(directory: str, estate: str, broken_by: str, ctx: Context, *, check_mode: bool = False) -> Outcome:
    """Remove the estate's lock whoever holds it; the outcome names ``broken_by`` and the previous holder."""
    path = lock_file(directory, estate)
    state, current, reason = inspect(directory, estate, ctx)
    if current is None:
        return Outcome(False, _FREE, None, None, f"estate {estate!r} is not locked; nothing to break", path)
    if not check_mode:
        _remove_if_same(path, current, estate)
    kind = "stale" if state == _STALE else "live"
    return Outcome(
        True,
        _FREE,
        None,
        current,
        f"{broken_by} broke the {kind} lock of {current.describe()} on estate {estate!r}",
        path,
        broken=True,
        broken_by=broken_by,
        stale_reason=reason,
    )


def lock_status(directory: str, estate: str, ctx: Context) -> Outcome:
    """Report the lock without changing anything."""
    path = lock_file(directory, estate)
    state, current, reason = inspect(directory, estate, ctx)
    if current is None:
        msg = f"estate {estate!r} is not locked"
    elif state == _STALE:
        msg = _stale_message(estate, current, reason or "")
    else:
        msg = f"estate {estate!r} is locked by {current.describe()}"
    return Outcome(False, state, current, current, msg, path, stale_reason=reason)
