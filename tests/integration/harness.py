# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for tests that drive ansible-playbook against the real lab (Docker Engine, lab images)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
DEMO_INVENTORY = ROOT / "inventories" / "demo"
_RECAP = re.compile(
    r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass
class PlaybookRun:
    """What one ansible-playbook run printed and returned."""

    rc: int
    stdout: str
    stderr: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counters per host."""
        return {
            m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
            for m in _RECAP.finditer(self.stdout)
        }

    @property
    def changed(self) -> int:
        """Changed tasks summed over every host."""
        return sum(counters["changed"] for counters in self.recap.values())


def ansible_env() -> dict[str, str]:
    """The environment `make` gives ansible-playbook: the venv first, the checkout's ansible.cfg."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".ansible" / "collections")
    env["ANSIBLE_FORCE_COLOR"] = "false"
    env["ANSIBLE_NOCOLOR"] = "true"
    return env


def ansible_playbook(inventory: Path, playbook: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """ansible-playbook of the venv on any playbook (a test's own one), from the checkout; prints rc and time."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), *args],
        cwd=ROOT,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    print(f"ansible-playbook {' '.join(args)}: rc={proc.returncode} in {time.monotonic() - started:.1f}s")
    return proc


def run_playbook(inventory: Path, playbook: str, *args: str, cwd: Path = ROOT) -> PlaybookRun:
    """Run one of the collection's playbooks (the checkout's ansible.cfg applies wherever cwd is)."""
    env = ansible_env()
    env["PWD"] = str(cwd)
    if not any("odoo_platform_lock_path=" in arg for arg in args):
        # The tests' own lock directory: a demo run or a lock left on this machine does not block them.
        args = (*args, "-e", f"odoo_platform_lock_path={ROOT / '.cache' / 'test-locks'}")
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / playbook), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr)


def docker_names(label: str = "org.sysgenpro.lab=true") -> set[str]:
    """Names of the containers that carry a lab label."""
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60, interval: float = 0.5) -> None:
    """Poll ``check`` until it returns true; connection errors count as not yet; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(interval)
    pytest.fail(f"{what} not ready after {timeout}s")
