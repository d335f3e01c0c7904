# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: the scenario's VMs, the Prometheus and Alertmanager APIs (queried from inside the monitoring VM)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import testinfra

ROOT = Path(__file__).resolve().parents[4]
# The expected values come from the collection's own engine, not from the files the role wrote.
sys.path.insert(0, str(ROOT / ".ansible" / "collections"))

MON = "sysgenpro-molecule-obs-mon"


@pytest.fixture(scope="session")
def vm() -> Callable[[str], Any]:
    """A testinfra host for one of the scenario's containers."""
    return lambda name: testinfra.get_host(f"docker://{name}")


@pytest.fixture(scope="session")
def api(vm) -> Callable[[str, int], Any]:
    """GET a JSON API path on the monitoring VM (Prometheus 9090, Alertmanager 9093); returns its data."""
    mon = vm(MON)

    def _get(path: str, port: int = 9090) -> Any:
        out = mon.check_output(f"curl -fsS 'http://127.0.0.1:{port}{path}'")
        body = json.loads(out)
        return body["data"] if isinstance(body, dict) and "data" in body else body

    return _get
