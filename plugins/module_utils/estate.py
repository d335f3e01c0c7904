# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate model: environments, their tier and tenancy groups, and their placement.

Pure Python, no Ansible imports. An *environment* is one Odoo deployment (an inventory host
with ``ansible_connection: local``); *infrastructure hosts* are the machines or endpoints it
is placed on. Every check here reads the whole inventory (``groups`` plus each environment's
``odoo_platform_*`` variables), never only the hosts of the current play, so ``--limit`` cannot
hide a problem from the preflight.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

ENVIRONMENTS_GROUP = "environments"
TIER_GROUPS = ("tier_mission_critical", "tier_regional", "tier_standard")
TENANCY_GROUPS = ("tenancy_dedicated", "tenancy_shared")
RUNTIMES = ("docker", "kubernetes")

# Where each runtime's placement variable must point (variable -> inventory group).
_PLACEMENT = {
    "docker": ("odoo_platform_container_host", "container_hosts"),
    "kubernetes": ("odoo_platform_kubernetes_cluster", "kubernetes_clusters"),
}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Finding:
    """One preflight failure: which host, which variable, what is wrong and how to fix it."""

    host: str
    variable: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.host}: {self.variable}: {self.problem}. Fix: {self.fix}"


def environment_names(groups: Mapping[str, Sequence[str]]) -> list[str]:
    """Every host that is an environment: in ``environments`` or in any tier/tenancy group."""
    names = set(groups.get(ENVIRONMENTS_GROUP, ()))
    for group in TIER_GROUPS + TENANCY_GROUPS:
        names.update(groups.get(group, ()))
    return sorted(names)


def _member_of(name: str, candidates: Sequence[str], groups: Mapping[str, Sequence[str]]) -> list[str]:
    return [g for g in candidates if name in groups.get(g, ())]


def tier_of(name: str, groups: Mapping[str, Sequence[str]]) -> str | None:
    """The tier (``mission_critical``, ``regional``, ``standard``) of an environment, if exactly one."""
    tiers = _member_of(name, TIER_GROUPS, groups)
    return tiers[0][len("tier_") :] if len(tiers) == 1 else None


def tenancy_of(name: str, groups: Mapping[str, Sequence[str]]) -> str | None:
    """The tenancy (``dedicated`` or ``shared``) of an environment, if exactly one."""
    tenancies = _member_of(name, TENANCY_GROUPS, groups)
    return tenancies[0][len("tenancy_") :] if len(tenancies) == 1 else None


def _check_groups(name: str, groups: Mapping[str, Sequence[str]]) -> list[Finding]:
    findings = []
    if name not in groups.get(ENVIRONMENTS_GROUP, ()):
        findings.append(
            Finding(
                name,
                "group environments",
                "is in a tier or tenancy group but not in the environments group",
                f"add {name} under all.children.environments.hosts",
            )
        )
    for kind, candidates in (("tier", TIER_GROUPS), ("tenancy", TENANCY_GROUPS)):
        found = _member_of(name, candidates, groups)
        if len(found) != 1:
            where = ", ".join(found) if found else "none"
            findings.append(
                Finding(
                    name,
                    f"{kind} group",
                    f"must be in exactly one of {', '.join(candidates)} (found: {where})",
                    f"list {name} under exactly one {kind} group in the inventory",
                )
            )
    return findings


def _check_name(name: str) -> list[Finding]:
    if _DNS_LABEL.match(name):
        return []
    return [
        Finding(
            name,
            "inventory_hostname",
            "is not a DNS-1123 label (lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)",
            "rename the environment, for example " + repr(_suggest_name(name)),
        )
    ]


def _suggest_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return cleaned[:63].rstrip("-") or "env"


def _check_placement(name: str, env: Mapping[str, Any], groups: Mapping[str, Sequence[str]]) -> list[Finding]:
    findings = []
    runtime = env.get("odoo_platform_runtime")
    if runtime not in RUNTIMES:
        findings.append(
            Finding(name, "odoo_platform_runtime", f"is {runtime!r}", f"set it to one of {', '.join(RUNTIMES)}")
        )
    else:
        variable, group = _PLACEMENT[runtime]
        findings += _check_reference(name, env, variable, group, groups)
    findings += _check_reference(name, env, "odoo_platform_postgres_server", "postgres_servers", groups)
    return findings


def _check_reference(
    name: str, env: Mapping[str, Any], variable: str, group: str, groups: Mapping[str, Sequence[str]]
) -> list[Finding]:
    target = env.get(variable)
    members = groups.get(group, ())
    if target in members:
        return []
    problem = "is not set" if target in (None, "") else f"names {target!r}, which is not in the {group} group"
    choices = ", ".join(members) if members else f"none yet: add a host to {group}"
    return [Finding(name, variable, problem, f"set it to a host of {group} ({choices})")]


def preflight(environments: Mapping[str, Mapping[str, Any]], groups: Mapping[str, Sequence[str]]) -> list[Finding]:
    """Check the whole estate; return every finding at once (an empty list means it passed).

    ``environments`` maps each environment name to its ``odoo_platform_*`` variables;
    ``groups`` is the inventory's group → hosts mapping.
    """
    findings: list[Finding] = []
    for name in environment_names(groups):
        env = environments.get(name, {})
        findings += _check_name(name)
        findings += _check_groups(name, groups)
        findings += _check_placement(name, env, groups)
    return findings


def findings_as_dicts(findings: Sequence[Finding]) -> list[dict[str, str]]:
    """Plain dicts for Ansible (``host``, ``variable``, ``problem``, ``fix``, ``message``)."""
    return [dict(asdict(f), message=str(f)) for f in findings]


def summary(
    environments: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, Sequence[str]],
    only: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per environment (or per environment in ``only``): where it lives, what standard it follows."""
    rows = []
    for name in environment_names(groups):
        if only is not None and name not in only:
            continue
        env = environments.get(name, {})
        runtime = env.get("odoo_platform_runtime")
        variable = _PLACEMENT.get(runtime, ("", ""))[0]
        rows.append(
            {
                "environment": name,
                "tenant": env.get("odoo_platform_tenant", name),
                "stage": env.get("odoo_platform_stage", ""),
                "tier": tier_of(name, groups),
                "tenancy": tenancy_of(name, groups),
                "runtime": runtime,
                "runtime_host": env.get(variable) if variable else None,
                "postgres_server": env.get("odoo_platform_postgres_server"),
                "odoo_version": env.get("odoo_platform_odoo_version"),
                "hostnames": list(env.get("odoo_platform_hostnames") or []),
            }
        )
    return rows


_TABLE_COLUMNS = (
    ("environment", "ENVIRONMENT"),
    ("tier", "TIER"),
    ("tenancy", "TENANCY"),
    ("runtime", "RUNTIME"),
    ("runtime_host", "RUNS ON"),
    ("postgres_server", "DATABASE SERVER"),
    ("odoo_version", "ODOO"),
    ("hostnames", "URL"),
)


def summary_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Render summary rows as aligned text lines (a header and one line per environment)."""

    def cell(row: Mapping[str, Any], key: str) -> str:
        value = row.get(key)
        if key == "hostnames":
            return ", ".join(f"https://{h}/" for h in value or []) or "-"
        return "-" if value in (None, "") else str(value)

    keys = [key for key, _title in _TABLE_COLUMNS]
    table = [[title for _key, title in _TABLE_COLUMNS]] + [[cell(r, k) for k in keys] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(_TABLE_COLUMNS))]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
