# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""postgres_settings module against a fake server: check mode, real run, second run, staged restart.

The fake keeps what PostgreSQL keeps: the configuration files (pg_file_settings, where ALTER SYSTEM
writes), the live values (pg_settings) and pending_restart, which a reload sets for a changed
postmaster setting instead of applying it. The real server is exercised by the molecule scenarios.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pg_settings import Setting, normalise
from ansible_collections.sysgenpro.odoo_platform.plugins.modules import postgres_settings


class FakeError(Exception):
    """Stands in for psycopg2.Error."""


class FakeServer:
    """pg_settings + pg_file_settings of a PostgreSQL 15 server with three settings."""

    def __init__(self) -> None:
        self.live = {
            "shared_buffers": Setting("shared_buffers", "16384", "8kB", "integer", "postmaster", display="128MB"),
            "work_mem": Setting("work_mem", "4096", "kB", "integer", "user", display="4MB"),
            "log_connections": Setting("log_connections", "off", None, "bool", "superuser-backend", display="off"),
        }
        self.files: list[tuple[str, str, str | None]] = [("shared_buffers", "128MB", None)]
        self.statements: list[str] = []
        self.connections = 0

    def reload(self) -> None:
        configured = {name: value for name, value, _error in self.files}
        self.files = []
        for name, value in configured.items():
            spec = self.live[name]
            if normalise(spec, value) == normalise(spec, spec.setting):
                self.live[name] = spec._replace(pending_restart=False)
                self.files.append((name, value, None))
            elif spec.context == "postmaster":
                self.live[name] = spec._replace(pending_restart=True)
                self.files.append((name, value, "setting could not be applied"))
            else:
                self.live[name] = spec._replace(setting=value, display=value)
                self.files.append((name, value, None))

    def restart(self) -> None:
        for name, value, _error in self.files:
            self.live[name] = self.live[name]._replace(setting=value, display=value, pending_restart=False)
        self.files = [(name, value, None) for name, value, _error in self.files]


class FakeCursor:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.rows: list[tuple[Any, ...]] = []

    def mogrify(self, query: str, args: list[str]) -> bytes:
        return (query % tuple(f"'{arg}'" for arg in args)).encode()

    def execute(self, query: str, args: Any = None) -> None:
        server = self.server
        if query.startswith("ALTER SYSTEM SET "):
            name = query.split()[3]
            server.statements.append(self.mogrify(query, args).decode())
            server.files = [row for row in server.files if row[0] != name] + [(name, ", ".join(args), None)]
        elif query == "SELECT pg_reload_conf()":
            server.statements.append(query)
            server.reload()
        elif "pg_file_settings" in query:
            self.rows = [row for row in server.files if row[0] in args[0]]
        elif "WHERE pending_restart" in query:
            self.rows = [(s.name,) for s in server.live.values() if s.pending_restart]
        else:
            self.rows = [
                (
                    s.name,
                    s.setting,
                    s.unit,
                    s.vartype,
                    s.context,
                    list(s.enumvals),
                    s.pending_restart,
                    s.source,
                    s.display,
                )
                for s in server.live.values()
                if s.name in args[0]
            ]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()

    def connect(**kwargs: Any) -> SimpleNamespace:
        assert kwargs["host"] == "/var/run/postgresql"  # the Unix socket, as the role connects
        assert "password" not in kwargs
        fake.connections += 1
        return SimpleNamespace(set_session=lambda autocommit: None, cursor=lambda: FakeCursor(fake), close=lambda: None)

    monkeypatch.setattr(postgres_settings, "psycopg2", SimpleNamespace(connect=connect, Error=FakeError))
    monkeypatch.setattr(postgres_settings, "HAS_PSYCOPG2", True)
    return fake


def _run(capsys: pytest.CaptureFixture[str], settings: dict[str, Any], check: bool = False) -> dict[str, Any]:
    args = {"settings": settings, "_ansible_check_mode": check, "_ansible_diff": True}
    with patch_module_args(args), pytest.raises(SystemExit):
        postgres_settings.main()
    return json.loads(capsys.readouterr().out)


PLAN = {"shared_buffers": "1GB", "work_mem": "4096kB", "log_connections": True}


def test_check_mode_then_real_then_again(capsys: pytest.CaptureFixture[str], server: FakeServer) -> None:
    checked = _run(capsys, PLAN, check=True)
    assert (checked["changed"], checked["changed_settings"], checked["restart_required"]) == (
        True,
        ["log_connections", "shared_buffers"],
        ["shared_buffers"],
    )
    assert checked["executed_queries"] == [
        "ALTER SYSTEM SET shared_buffers = '1GB'",
        "ALTER SYSTEM SET log_connections = 'on'",
        "SELECT pg_reload_conf()",
    ]
    assert checked["diff"] == {
        "before": {"shared_buffers": "128MB", "log_connections": "off"},
        "after": {"shared_buffers": "1GB", "log_connections": "on"},
    }
    assert server.statements == []  # check mode writes and reloads nothing

    first = _run(capsys, PLAN)
    assert (first["changed"], first["reloaded"], first["restart_required"]) == (True, True, ["shared_buffers"])
    assert first["pending_restart"] == ["shared_buffers"]
    assert first["settings"]["log_connections"] == {
        "value": "on",
        "context": "superuser-backend",
        "pending_restart": False,
    }
    assert server.statements == checked["executed_queries"]
    # One connection per call however many settings, plus one after the reload to read log_connections
    # (context superuser-backend) as new sessions get it.
    assert server.connections == 3

    # Staged for the maintenance window: configured, not live. Not written again, not "changed".
    again = _run(capsys, PLAN)
    assert (again["changed"], again["executed_queries"], again["restart_required"]) == (False, [], ["shared_buffers"])
    assert again["diff"] == {"before": {}, "after": {}}

    server.restart()
    after = _run(capsys, PLAN)
    assert (after["changed"], after["restart_required"], after["pending_restart"]) == (False, [], [])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"shared_bufers": "1GB"},
            "unknown setting: shared_bufers (not in pg_settings; check the name, or load its library first)",
        ),
        ({"work_mem": "4gb"}, 'invalid value for work_mem: "4gb": valid units for this setting are B, kB, MB, GB, TB'),
    ],
)
def test_refuses_bad_input_before_writing(
    capsys: pytest.CaptureFixture[str], server: FakeServer, settings: dict[str, Any], message: str
) -> None:
    result = _run(capsys, settings)
    assert (result["failed"], result["msg"]) == (True, message)
    assert server.statements == []


def test_missing_psycopg2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres_settings, "HAS_PSYCOPG2", False)
    result = _run(capsys, PLAN)
    assert result["failed"] is True
    assert result["msg"].startswith("Failed to import the required Python library (psycopg2)")
