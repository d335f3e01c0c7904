# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""onboarding: facts -> differences, proposed environments, inventory fragment, risks, rendering.

The facts are those of the legacy-host fixture (tests/images/legacy-host) as discovery reports
them; thresholds are onboarding.TIER_THRESHOLDS / DEDICATED_THRESHOLDS (docs/onboarding.md).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import onboarding as o

GIB = 1024**3


def _db(name: str, modules: list[str], users: int, size: int, files_bytes: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "odoo": True,
        "owner": "odoo",
        "size_bytes": size,
        "installed_modules": modules,
        "installed_modules_count": len(modules),
        "internal_users": users,
        "mail_servers": 0,
        "attachments": 3,
        "attachments_in_database": 0,
        "filestore": {"files": 3, "bytes": files_bytes, "missing_files": 0},
        **extra,
    }


FACTS: dict[str, Any] = {
    "host": {"hostname": "erp-old"},
    "service": {"kind": "systemd", "unit": "odoo.service", "main_pid": 64},
    "config": {"mode": "0644"},
    "odoo": {
        "version": "16.0",
        "supported": True,
        "workers": 0,
        "list_db": True,
        "proxy_mode": False,
        "data_dir": "/opt/odoo/.local/share/Odoo",
        "data_dir_source": "default for service user odoo (home /opt/odoo)",
        "addons_path_empty_entries": [{"position": 4, "resolved_to": "/"}],
        "addons": [
            {"path": "/opt/odoo/odoo/addons", "core": True, "modules": [{"name": "base"}]},
            {"path": "/opt/odoo/addons", "core": True, "modules": [{"name": "web"}]},
            {"path": "/opt/odoo/custom addons", "core": False, "modules": [{"name": "lgx_fleet"}]},
        ],
        "custom_addons_paths": ["/opt/odoo/custom addons"],
        "custom_modules": ["lgx_fleet"],
    },
    "postgresql": {
        "reachable": True,
        "version": "15.20",
        "major": 15,
        "settings": {"password_encryption": "md5"},
        "role": {"name": "odoo", "superuser": True},
        "hba_rules": [
            {"line": 2, "type": "local", "method": "peer"},
            {"line": 3, "type": "local", "method": "trust"},
            {"line": 4, "type": "host", "method": "md5"},
        ],
    },
    "databases": [
        _db("erp_main", ["base", "lgx_fleet", "lgx_ghost", "web"], 4, 8 * 1024**2, 5400),
        _db("shop_legacy", ["base", "web"], 1, 8 * 1024**2, 670),
        {"name": "reporting", "odoo": False, "error": None, "owner": "bi", "size_bytes": 1},
    ],
    "weaknesses": [
        {
            "id": "db_user_superuser",
            "severity": "high",
            "summary": "Odoo connects as a PostgreSQL superuser",
            "evidence": "role odoo has rolsuper",
        },
        {"id": "list_db_enabled", "severity": "medium", "summary": "list_db on", "evidence": "list_db = True"},
    ],
    "warnings": ["addons_path has an empty entry"],
}


def test_differences_name_every_departure_from_the_standard() -> None:
    items = [d["item"] for d in o.differences(FACTS)]
    assert items == [
        "runtime",
        "databases per instance",
        "PostgreSQL authentication",
        "database role",
        "list_db",
        "proxy_mode",
        "workers",
        "data_dir",
        "addons_path",
        "custom addons",
        "odoo.conf mode",
    ]
    auth = next(d for d in o.differences(FACTS) if d["item"] == "PostgreSQL authentication")
    assert auth == {
        "item": "PostgreSQL authentication",
        "legacy": "pg_hba md5/trust, password_encryption md5",
        "standard": "scram-sha-256",
        "change": "roles created on the governed server with scram-sha-256",
    }


def test_a_conformant_instance_differs_only_in_runtime() -> None:
    facts = copy.deepcopy(FACTS)
    facts["config"]["mode"] = "0640"
    facts["odoo"].update(
        list_db=False,
        proxy_mode=True,
        workers=4,
        data_dir="/var/lib/odoo",
        addons_path_empty_entries=[],
        custom_addons_paths=[],
    )
    facts["postgresql"].update(
        settings={"password_encryption": "scram-sha-256"},
        role={"name": "odoo_erp", "superuser": False},
        hba_rules=[{"line": 1, "type": "host", "method": "scram-sha-256"}],
    )
    facts["databases"] = facts["databases"][:1]
    assert [d["item"] for d in o.differences(facts)] == ["runtime"]


def test_risks_hold_every_weakness_then_migration_risks_most_severe_first() -> None:
    assert [(r["severity"], r["id"]) for r in o.risks(FACTS)] == [
        ("high", "db_user_superuser"),
        ("high", "installed_module_without_code"),
        ("medium", "list_db_enabled"),
        ("low", "database_not_odoo"),
        ("low", "addons_path_empty_entry"),
    ]
    ghost = next(r for r in o.risks(FACTS) if r["id"] == "installed_module_without_code")
    assert ghost["risk"] == "erp_main: installed modules with no code in any addons path: lgx_ghost"


@pytest.mark.parametrize(
    ("signals", "tier", "reasons"),
    [
        (
            {"users": 4, "size_bytes": GIB // 100, "integrations": 0},
            "standard",
            ["below every regional threshold: users 4 < 30, size 0.01 GiB < 20 GiB, integrations 0 < 3"],
        ),
        ({"users": 30, "size_bytes": 0, "integrations": 3}, "regional", ["users 30 >= 30", "integrations 3 >= 3"]),
        ({"users": 10, "size_bytes": 250 * GIB, "integrations": 0}, "mission_critical", ["size 250 GiB >= 200 GiB"]),
        ({"users": 150, "size_bytes": 0, "integrations": 0}, "mission_critical", ["users 150 >= 150"]),
    ],
)
def test_propose_tier(signals: dict[str, int], tier: str, reasons: list[str]) -> None:
    assert o.propose_tier(signals) == (tier, reasons)


@pytest.mark.parametrize(
    ("tier", "signals", "tenancy", "reasons"),
    [
        (
            "mission_critical",
            {"users": 1, "size_bytes": 0},
            "dedicated",
            ["mission-critical environments run on dedicated infrastructure"],
        ),
        ("regional", {"users": 120, "size_bytes": 0}, "dedicated", ["users 120 >= 100"]),
        (
            "standard",
            {"users": 4, "size_bytes": 0},
            "shared",
            ["fits a shared server: users 4 < 100, size 0.00 GiB < 100 GiB"],
        ),
    ],
)
def test_propose_tenancy(tier: str, signals: dict[str, int], tenancy: str, reasons: list[str]) -> None:
    assert o.propose_tenancy(tier, signals) == (tenancy, reasons)


def test_environments_one_per_odoo_database_with_overrides() -> None:
    envs = o.environments(FACTS, {"databases": {"erp_main": {"name": "acme-erp", "tier": "regional"}}})
    assert [(e["name"], e["database"], e["tier"], e["tenancy"]) for e in envs] == [
        ("acme-erp", "erp_main", "regional", "shared"),
        ("shop-legacy", "shop_legacy", "standard", "shared"),
    ]
    assert envs[0]["tier_reasons"] == [
        "overridden (proposed standard: below every regional threshold: users 4 < 30, size 0.01 GiB < 20 GiB, "
        "integrations 0 < 3)"
    ]
    assert envs[0]["signals"] == {
        "users": 4,
        "size_bytes": 8 * 1024**2 + 5400,
        "integrations": 0,
        "integration_modules": [],
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tier": "gold"}, "overrides.tier: 'gold' is not one of mission_critical, regional, standard"),
        ({"tenancy": "private"}, "overrides.tenancy: 'private' is not one of dedicated, shared"),
        ({"databases": {"nope": {}}}, "overrides.databases: nope not among the Odoo databases (erp_main, shop_legacy)"),
        (
            {"databases": {"erp_main": {"tier": "x"}}},
            "overrides.databases.erp_main.tier: 'x' is not one of mission_critical, regional, standard",
        ),
    ],
)
def test_bad_overrides_are_refused_with_the_valid_choices(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(o.AssessmentError) as err:
        o.assess(FACTS, overrides)
    assert str(err.value) == message


def test_inventory_fragment() -> None:
    report = o.assess(FACTS, {"vars": {"odoo_platform_runtime": "docker"}})
    fragment = report["inventory_fragment"]
    assert list(fragment["all"]["children"]) == ["environments", "tenancy_shared", "tier_standard"]
    assert fragment["all"]["children"]["tier_standard"] == {"hosts": {"erp-main": {}, "shop-legacy": {}}}
    assert fragment["all"]["children"]["environments"]["hosts"]["erp-main"] == {
        "ansible_connection": "local",
        "odoo_platform_lifecycle": "onboarding",
        "odoo_platform_odoo_version": "16.0",
        "odoo_platform_tenant": "erp-main",
        "odoo_platform_stage": "production",
        "odoo_platform_database": "erp_main",
        "odoo_platform_db_role": "odoo_erp_main",
        "odoo_platform_db_password": "{{ vault_erp_main_db_password }}",
        "odoo_platform_admin_password": "{{ vault_erp_main_admin_password }}",
        "odoo_platform_onboarding_source": {
            "host": "erp-old",
            "database": "erp_main",
            "data_dir": "/opt/odoo/.local/share/Odoo",
            "custom_addons_paths": ["/opt/odoo/custom addons"],
        },
        "odoo_platform_runtime": "docker",
    }
    assert (
        report["todo"][0]
        == "set odoo_platform_postgres_server for erp-main, shop-legacy (overrides.vars or the inventory)"
    )
    assert report["risk_counts"] == {"high": 2, "medium": 1, "low": 2}


def test_to_yaml_is_valid_yaml_with_quoted_strings() -> None:
    yaml = pytest.importorskip("yaml")
    data = {"a": {"b": [1, "x: y", {"c": None, "d": True}], "e": {}, "f": []}, "g": "{{ vault_x }}"}
    text = o.to_yaml(data)
    assert text == (
        'a:\n  b:\n    - 1\n    - "x: y"\n    - c: null\n      d: true\n  e: {}\n  f: []\ng: "{{ vault_x }}"\n'
    )
    assert yaml.safe_load(text) == data


def test_markdown_and_summary() -> None:
    report = o.assess(FACTS)
    assert o.summary_lines(report) == [
        "erp-old: Odoo 16.0 (odoo.service), PostgreSQL 15.20, 2 database(s)",
        "risks: 2 high, 1 medium, 2 low; weaknesses: db_user_superuser, list_db_enabled",
        "erp_main -> environment erp-main: tier standard, tenancy shared",
        "shop_legacy -> environment shop-legacy: tier standard, tenancy shared",
    ]
    markdown = o.render_markdown(report)
    assert markdown.startswith("# Onboarding assessment: erp-old\n")
    assert "| high | `db_user_superuser` |" in markdown
    assert "### erp-main (database `erp_main`)" in markdown
