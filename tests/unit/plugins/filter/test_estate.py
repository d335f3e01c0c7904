# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate filters are thin: they read odoo_platform_* from hostvars and call module_utils."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.filter import estate as estate_filter

GROUPS = {
    "environments": ["wh1"],
    "tier_standard": ["wh1"],
    "tenancy_shared": ["wh1"],
    "postgres_servers": ["pg1"],
    "container_hosts": ["docker1"],
}
HOSTVARS = {
    "wh1": {
        "odoo_platform_runtime": "docker",
        "odoo_platform_container_host": "docker1",
        "odoo_platform_postgres_server": "pg1",
        "odoo_platform_db_password": "kT9v-2qLx_Wm8rPz",
        "odoo_platform_admin_password": "Zp4n_8vQm-3LwYx7",
        "odoo_platform_cpus": 1,
        "odoo_platform_memory": "2GiB",
        "unrelated": "ignored",
    },
    "pg1": {"odoo_platform_pg_memory": "8GiB", "odoo_platform_pg_cpus": 2},
    "docker1": {},
}


def test_filters_are_registered():
    assert set(estate_filter.FilterModule().filters()) == {
        "estate_preflight",
        "estate_summary",
        "estate_plan",
        "estate_plan_report",
        "estate_with_secret",
    }


def test_preflight_passes_and_fails_with_messages():
    assert estate_filter.estate_preflight(GROUPS, HOSTVARS) == []
    bad = dict(GROUPS, tier_standard=[])
    (finding,) = estate_filter.estate_preflight(bad, HOSTVARS)
    assert finding["host"] == "wh1"
    assert finding["variable"] == "tier group"
    assert finding["message"].startswith("wh1: tier group: must be in exactly one of")


def test_summary_table_output():
    text = estate_filter.estate_summary(GROUPS, HOSTVARS, output="table")
    assert text.splitlines()[1].split()[:3] == ["wh1", "standard", "shared"]


def test_summary_rejects_an_unknown_output():
    with pytest.raises(AnsibleFilterError, match=r"estate_summary: output is 'html'; use 'rows' or 'table'"):
        estate_filter.estate_summary(GROUPS, HOSTVARS, output="html")


def test_preflight_rejects_a_wrong_input_type():
    with pytest.raises(AnsibleFilterError, match=r"must be the inventory's 'groups' mapping, got list"):
        estate_filter.estate_preflight(["wh1"], HOSTVARS)


def test_plan_filter_and_reports():
    plan = estate_filter.estate_plan(GROUPS, HOSTVARS)
    assert set(plan["environments"]) == {"wh1"}
    assert plan["postgres_servers"]["pg1"]["tenants"] == ["wh1"]
    text = estate_filter.estate_plan_report(plan)
    assert text.startswith(f"Plan {plan['hash'][:12]}: 1 environments, 1 PostgreSQL servers")
    markdown = estate_filter.estate_plan_report(plan, "markdown")
    assert "| `work_mem` |" in markdown
    page = estate_filter.estate_plan_report(plan, "html")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page


def test_plan_filter_names_the_host_when_it_cannot_plan():
    tiny = {**HOSTVARS, "wh1": {**HOSTVARS["wh1"], "odoo_platform_memory": "128MiB"}}
    with pytest.raises(
        AnsibleFilterError, match=r"estate_plan: the inventory cannot be planned: wh1: odoo_platform_memory"
    ):
        estate_filter.estate_plan(GROUPS, tiny)


def test_plan_report_rejects_other_input():
    with pytest.raises(AnsibleFilterError, match=r"the input must be a plan"):
        estate_filter.estate_plan_report({"x": 1})


def test_with_secret_joins_the_environment_secret():
    items = [{"environment": "wh1", "database": "wh1"}]
    (joined,) = estate_filter.estate_with_secret(items, HOSTVARS, "odoo_platform_db_password", "password")
    assert joined == {"environment": "wh1", "database": "wh1", "password": "kT9v-2qLx_Wm8rPz"}
    assert "password" not in items[0], "the plan item itself must stay secret-free"
    with pytest.raises(AnsibleFilterError, match=r"wh1: odoo_platform_redis_password is not defined"):
        estate_filter.estate_with_secret(items, HOSTVARS, "odoo_platform_redis_password", "password")
