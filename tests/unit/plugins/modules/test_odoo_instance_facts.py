# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""odoo_instance_facts module: never changed, check mode, assessment mode and exact failures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import odoo_discovery
from ansible_collections.sysgenpro.odoo_platform.plugins.modules import odoo_instance_facts

# The legacy-host facts of the onboarding tests (tests/unit has no packages: load the file).
_SPEC = importlib.util.spec_from_file_location(
    "_onboarding_facts", Path(__file__).resolve().parents[1] / "module_utils" / "test_onboarding.py"
)
_FACTS_MODULE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_FACTS_MODULE)
FACTS = _FACTS_MODULE.FACTS


def _run(capsys: pytest.CaptureFixture[str], args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    with patch_module_args({**args, "_ansible_check_mode": check}), pytest.raises(SystemExit):
        odoo_instance_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check", [True, False])
def test_discovery_is_never_a_change(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, check: bool
) -> None:
    seen: list[tuple[Any, ...]] = []

    def fake_discover(host: Any, *args: Any) -> dict[str, Any]:
        seen.append((host.timeout, *args))
        return {"format": 1}

    monkeypatch.setattr(odoo_instance_facts, "discover", fake_discover)
    result = _run(capsys, {"service": "odoo.service", "verify_filestore": False, "timeout": 5}, check=check)
    assert (result["changed"], result["odoo_instance"]) == (False, {"format": 1})
    assert seen == [(5, "odoo.service", None, "psql", False)]


def test_no_odoo_found_fails_with_the_reason(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_discover(*_args: Any) -> dict[str, Any]:
        raise odoo_discovery.DiscoveryError("systemd unit odoo-x.service not found")

    monkeypatch.setattr(odoo_instance_facts, "discover", fake_discover)
    result = _run(capsys, {"service": "odoo-x.service"})
    assert result["failed"] is True
    assert result["msg"] == "cannot discover the Odoo instance: systemd unit odoo-x.service not found"


def test_timeout_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    result = _run(capsys, {"timeout": 0})
    assert result["msg"] == "timeout=0: must be a positive number of seconds, e.g. 30"


def test_assessment_mode(capsys: pytest.CaptureFixture[str]) -> None:
    result = _run(capsys, {"facts": {"odoo_instance": FACTS}, "overrides": {"tier": "regional"}}, check=True)
    assert result["changed"] is False
    assert [e["tier"] for e in result["assessment"]["environments"]] == ["regional", "regional"]
    assert result["summary"][2] == "erp_main -> environment erp-main: tier regional, tenancy shared"
    assert result["inventory_fragment_yaml"].startswith("---\nall:\n  children:\n    environments:\n")
    assert result["report_markdown"].startswith("# Onboarding assessment: erp-old\n")


@pytest.mark.parametrize(
    ("facts", "overrides", "message"),
    [
        (
            FACTS,
            {"tenancy": "private"},
            "cannot assess the instance: overrides.tenancy: 'private' is not one of dedicated, shared",
        ),
        ({"odoo": {}}, {}, "facts: not the output of odoo_instance_facts (missing or bad 'databases')"),
    ],
)
def test_assessment_failures(
    capsys: pytest.CaptureFixture[str], facts: dict[str, Any], overrides: dict[str, Any], message: str
) -> None:
    result = _run(capsys, {"facts": facts, "overrides": overrides})
    assert (result["failed"], result["msg"]) == (True, message)
