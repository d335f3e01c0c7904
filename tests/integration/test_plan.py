# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/plan.yml on the example estate, and the inventories it must refuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from .harness import ROOT, run_playbook

EXAMPLE = ROOT / "inventories" / "example"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the example inventory (its plan lands in tmp_path/build/plan/example)."""
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE, target)
    return target


def _plan(inventory: Path, *args: str):
    return run_playbook(inventory, "plan.yml", *args, cwd=inventory.parent)


def _plan_dir(inventory: Path) -> Path:
    return inventory.parent / "build" / "plan" / inventory.name


def test_example_plan_is_written_explained_and_stable(example):
    first = _plan(example)
    assert first.rc == 0, first.stdout + first.stderr
    plan = json.loads((_plan_dir(example) / "plan.json").read_text())
    assert len(plan["environments"]) == 9
    shared = plan["postgres_servers"]["pg-shared-01"]
    assert shared["tier"] == "regional"  # strictest of regional and standard tenants
    demand = sum(plan["environments"][n]["connection_limit"] for n in shared["tenants"])
    assert shared["settings"]["max_connections"] >= demand
    for env in plan["environments"].values():
        assert set(env["web"]["settings"]) <= set(env["web"]["explain"])
    for server in plan["postgres_servers"].values():
        assert set(server["settings"]) <= set(server["explain"])
    report = (_plan_dir(example) / "plan.md").read_text()
    assert plan["hash"] in report
    assert "<svg" in (_plan_dir(example) / "plan.html").read_text()

    again = _plan(example, "--limit", "wh-iberia-prod")
    assert again.rc == 0, again.stdout + again.stderr
    assert again.changed == 0, "a re-plan (even limited to one environment) must not change the plan files"


def test_approved_plan_is_enforced(example):
    assert _plan(example).rc == 0
    approved = _plan_dir(example) / "plan.json"
    ok = run_playbook(example, "preflight.yml", "-e", f"odoo_platform_approved_plan={approved}", cwd=example.parent)
    assert ok.rc == 0, ok.stdout + ok.stderr
    host_vars = example / "host_vars" / "wh-iberia-prod.yml"
    host_vars.write_text(
        host_vars.read_text().replace("odoo_platform_concurrent_users: 15", "odoo_platform_concurrent_users: 40")
    )
    changed = run_playbook(
        example, "preflight.yml", "-e", f"odoo_platform_approved_plan={approved}", cwd=example.parent
    )
    assert changed.rc != 0
    assert "The inventory no longer produces the approved plan" in changed.stdout


def _edit(inventory: Path, relative: str, edit) -> None:
    path = inventory / relative
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))


BAD = [
    pytest.param(
        "hosts.yml",
        lambda d: d["all"]["children"]["tier_standard"]["hosts"].update({"tpl-prod": None}),
        "tpl-prod: tier group: must be in exactly one of tier_mission_critical, tier_regional, tier_standard "
        "(found: tier_mission_critical, tier_standard). Fix: list tpl-prod under exactly one tier group",
        id="two-tiers",
    ),
    pytest.param(
        "host_vars/tpl-prod.yml",
        lambda d: d.update({"odoo_platform_postgres_server": "pg-shared-01"}),
        "tpl-prod: odoo_platform_postgres_server: pg-shared-01 is shared with baltic-freight, dist-platform-prod, "
        "wh-benelux-prod, wh-iberia-prod, wh-nordics-prod, but tpl-prod is dedicated. "
        "Fix: give tpl-prod its own host, or move it to tenancy_shared",
        id="dedicated-on-shared-server",
    ),
    pytest.param(
        "host_vars/wh-iberia-prod.yml",
        lambda d: d.update({"odoo_platform_hostnames": ["wh-benelux.logistics.example"]}),
        "wh-iberia-prod: odoo_platform_hostnames: 'wh-benelux.logistics.example' is also used by wh-benelux-prod. "
        "Fix: give every environment its own host names",
        id="hostname-twice",
    ),
    pytest.param(
        "host_vars/wh-nordics-prod.yml",
        lambda d: d.update({"odoo_platform_db_password": "{{ vault_wh_nordics_prod_db_pasword }}"}),
        "wh-nordics-prod: odoo_platform_db_password: cannot be resolved (",
        id="missing-vault-secret",
    ),
    pytest.param(
        "host_vars/tpl-prod.yml",
        lambda d: d.update({"odoo_platform_memory": "8 gigs"}),
        "tpl-prod: odoo_platform_memory: '8 gigs' has an unknown unit 'gigs'. Fix: write it like 4GiB",
        id="memory-8-gigs",
    ),
]


@pytest.mark.parametrize(("relative", "edit", "message"), BAD)
def test_bad_inventory_fails_before_any_change(example, relative, edit, message):
    _edit(example, relative, edit)
    run = _plan(example)
    assert run.rc != 0
    assert "nothing was changed" in run.stdout
    assert message in run.stdout, run.stdout
    assert not _plan_dir(example).exists(), "the plan was written although the preflight failed"
