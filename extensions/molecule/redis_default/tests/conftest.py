# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: the scenario's inventory variables, the container's address and redis-py clients."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[4]
# The expected plan comes from the collection's own engine, not from the files the role wrote.
sys.path.insert(0, str(ROOT / ".ansible" / "collections"))


@pytest.fixture(scope="module")
def scenario(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def address(host):
    return host.check_output("hostname -I").split()[0]


@pytest.fixture(scope="module")
def admin(address, scenario):
    def _client(port: int) -> redis.Redis:
        return redis.Redis(
            host=address,
            port=port,
            username="platform-admin",
            password=scenario["scenario_admin_password"],
            decode_responses=True,
        )

    return _client


@pytest.fixture(scope="module")
def tenant(address, scenario):
    tenants = {t["environment"]: t for t in scenario["scenario_tenants"]}

    def _client(environment: str, port: int = 6379) -> redis.Redis:
        t = tenants[environment]
        return redis.Redis(host=address, port=port, username=t["user"], password=t["password"], decode_responses=True)

    return _client


@pytest.fixture(scope="module")
def ephemeral_dir():
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
