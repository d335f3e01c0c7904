# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the whole estate (every environment in the inventory, whatever --limit says)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleError, AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import estate

_PREFIX = "odoo_platform_"


def _read(host: Mapping[str, Any], key: str) -> Any:
    """One templated variable; a template that cannot render is kept as Unresolved, not raised."""
    try:
        return host[key]
    except AnsibleError as err:  # e.g. an undefined vault variable: the preflight reports it
        return estate.Unresolved(str(getattr(err, "message", err)).splitlines()[0])


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
    groups: Mapping[str, Any], hostvars: Mapping[str, Any], only: list[str] | None = None, output: str = "rows"
) -> list[Any] | str:
    """One row per environment (tier, tenancy, runtime, placement, version, hostnames), or text lines."""
    if output not in ("rows", "table"):
        raise AnsibleFilterError(f"estate_summary: output is {output!r}; use 'rows' or 'table'")
    plain = _plain_groups(groups)
    names = None if only is None else [str(n) for n in only]
    rows = estate.summary(_environments(plain, hostvars), plain, names)
    return "\n".join(estate.summary_table(rows)) if output == "table" else rows


class FilterModule:
    """Estate-wide filters."""

    def filters(self) -> dict[str, Any]:
        return {"estate_preflight": estate_preflight, "estate_summary": estate_summary}
