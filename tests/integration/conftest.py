# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for tests against the real lab; the helpers themselves live in harness.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .harness import DEMO_INVENTORY


@pytest.fixture(scope="session")
def lab() -> None:
    """The lab must be up (`make integration` starts it); fail loudly, never skip."""
    probe = subprocess.run(
        ["docker", "image", "inspect", "sysgenpro-lab/debian-systemd:bookworm"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.fail("the lab is not up: run `make lab` (Docker Engine and the lab images) first")


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Path:
    """A private copy of the demo inventory that a test may break."""
    target = tmp_path / "inventory"
    shutil.copytree(DEMO_INVENTORY, target)
    return target
