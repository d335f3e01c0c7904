# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the whole estate (every environment in the inventory, whatever --limit says)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleError, AnsibleFilterError
from jinja2 import Undefined

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import estate, plan, plan_report

_PREFIX = "odoo_platform_"


def _read(host: Mapping[str, Any], key: str) -> Any:
    """One templated variable; a template that cannot render is kept as Unresolved, not raised."""
    try:
        value = host[key]
    except AnsibleError as err:  # e.g. an undefined vault variable: the preflight reports it
        return estate.Unresolved(str(getattr(err, "message", err)).splitlines()[0])
    if isinstance(value, Undefined):  # ansible-core >= 2.19 hands back a marker instead of raising
        return estate.Unresolved(str(value._undefined_message).splitlines()[0])
    return value


def _environments(groups: Mapping[str, Any], hostvars: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The odoo_platform_* variables (only those are read) of every host: environments and infrastructure."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError(f"the argument must be 'hostvars', got {type(hostvars).__name__}")
    names = {host for members in groups.values() for host in members}
    result: dict[str, dict[str, Any]] = {}
    for name in sorted(names):
        if name not in hostvars:
            continue
        host = hostvars[name]
        result[name] = {key: _read(host, key) for key in host if key.startswith(_PREFIX)}
    return result


def _plain_groups(groups: Mapping[str, Any]) -> dict[str, list[str]]:
    if not isinstance(groups, Mapping):
        raise AnsibleFilterError(f"the input must be the inventory's 'groups' mapping, got {type(groups).__name__}")
    return {str(name): [str(h) for h in hosts] for name, hosts in groups.items()}


def estate_preflight(groups: Mapping[str, Any], hostvars: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every preflight finding for the estate; an empty list means it passed."""
    plain = _plain_groups(groups)
    return estate.findings_as_dicts(estate.preflight(_environments(plain, hostvars), plain))


def estate_summary(
    groups: Mapping[str, Any],
    hostvars: Mapping[str, Any],
    *,
    only: list[str] | None = None,
    output: str = "rows",
    plan: Mapping[str, Any] | None = None,
    containers: list[Any] | None = None,
) -> list[Any] | str:
    """One row per environment (placement, plan figures, runtime health), or an aligned text table."""
    if output not in ("rows", "table"):
        raise AnsibleFilterError(f"estate_summary: output is {output!r}; use 'rows' or 'table'")
    plain = _plain_groups(groups)
    names = None if only is None else [str(n) for n in only]
    rows = estate.summary(_environments(plain, hostvars), plain, names)
    if plan is not None or containers is not None:
        rows = estate.enrich(rows, plan, containers)
    return "\n".join(estate.summary_table(rows)) if output == "table" else rows


def estate_plan(groups: Mapping[str, Any], hostvars: Mapping[str, Any]) -> dict[str, Any]:
    """The explained plan of the whole estate (environments, PostgreSQL and Redis servers) with its hash."""
    plain = _plain_groups(groups)
    try:
        return plan.build_plan(_environments(plain, hostvars), plain)
    except plan.PlanError as err:
        lines = "; ".join(str(f) for f in err.findings)
        raise AnsibleFilterError(f"estate_plan: the inventory cannot be planned: {lines}") from err


def estate_plan_report(value: Mapping[str, Any], output: str = "text") -> str:
    """Render a plan from estate_plan as text (for the log), Markdown or HTML."""
    renderers = {
        "text": plan_report.render_text,
        "markdown": plan_report.render_markdown,
        "html": plan_report.render_html,
    }
    if output not in renderers:
        raise AnsibleFilterError(f"estate_plan_report: output is {output!r}; use one of {', '.join(renderers)}")
    if not isinstance(value, Mapping) or "environments" not in value:
        raise AnsibleFilterError(
            "estate_plan_report: the input must be a plan from sysgenpro.odoo_platform.estate_plan"
        )
    return renderers[output](value)


def estate_with_secret(items: Any, hostvars: Mapping[str, Any], variable: str, key: str) -> list[dict[str, Any]]:
    """Copy each item and add ``key`` = that item's environment's ``variable`` (a vault secret).

    Plans never hold secrets; the roles get them joined in at the last moment (keep no_log on).
    """
    if not isinstance(items, (list, tuple)):
        raise AnsibleFilterError(f"estate_with_secret: the input must be a list of items, got {type(items).__name__}")
    joined = []
    for item in items:
        name = item.get("environment") if isinstance(item, Mapping) else None
        if name is None or name not in hostvars:
            raise AnsibleFilterError(f"estate_with_secret: item {item!r} names no environment of the inventory")
        value = _read(hostvars[name], variable) if variable in hostvars[name] else None
        if value is None or isinstance(value, estate.Unresolved):
            raise AnsibleFilterError(f"estate_with_secret: {name}: {variable} is not defined (run the preflight)")
        joined.append({**dict(item), key: value})
    return joined


class FilterModule:
    """Estate-wide filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "estate_preflight": estate_preflight,
            "estate_summary": estate_summary,
            "estate_plan": estate_plan,
            "estate_plan_report": estate_plan_report,
            "estate_with_secret": estate_with_secret,
        }
