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
from typing import Any, Callable, Mapping, Sequence

from .plan_result import InputError
from .units import parse_cpu, parse_size

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

# Odoo series that can be deployed, and the legacy ones only an onboarding environment may run.
ODOO_DEPLOY_VERSIONS = ("16.0", "17.0", "18.0", "19.0")
ODOO_LEGACY_VERSIONS = ("12.0", "13.0", "14.0", "15.0")
DEFAULT_ODOO_VERSION = "18.0"
# PostgreSQL majors with community support in 2026 (14-18); the lab can only install 15.
POSTGRES_VERSIONS = (14, 15, 16, 17, 18)
DEFAULT_POSTGRES_VERSION = 15
LIFECYCLES = ("active", "onboarding")
STAGES = ("production", "staging", "test", "development")
# Secrets every environment must have, each a vault reference in the inventory.
REQUIRED_SECRETS = ("odoo_platform_db_password", "odoo_platform_admin_password")
_PLACEHOLDER = re.compile(r"^\s*(|change[-_ ]?me.*|password|secret|todo|tbd|x+|\*+|<.*>|\$\{.*\})\s*$", re.IGNORECASE)
# Placement variables a dedicated environment may not share with any other environment
# (a dedicated environment may share a Kubernetes cluster: it gets its own node pool there).
_EXCLUSIVE = ("odoo_platform_postgres_server", "odoo_platform_container_host", "odoo_platform_redis_server")


class Unresolved:
    """A variable whose template could not be rendered (for example an undefined vault variable)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<unresolved: {self.reason}>"


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
    if env.get("odoo_platform_redis_server") not in (None, ""):
        findings += _check_reference(name, env, "odoo_platform_redis_server", "redis_servers", groups)
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


def _check_versions(name: str, env: Mapping[str, Any]) -> list[Finding]:
    version = str(env.get("odoo_platform_odoo_version", DEFAULT_ODOO_VERSION))
    lifecycle = env.get("odoo_platform_lifecycle", "active")
    findings = []
    if lifecycle not in LIFECYCLES:
        findings.append(
            Finding(name, "odoo_platform_lifecycle", f"is {lifecycle!r}", f"set it to one of {', '.join(LIFECYCLES)}")
        )
    stage = env.get("odoo_platform_stage", "production")
    if stage not in STAGES:
        findings.append(Finding(name, "odoo_platform_stage", f"is {stage!r}", f"set it to one of {', '.join(STAGES)}"))
    if version in ODOO_DEPLOY_VERSIONS:
        return findings
    if version in ODOO_LEGACY_VERSIONS and lifecycle == "onboarding":
        return findings
    if version in ODOO_LEGACY_VERSIONS:
        fix = (
            f"legacy {version} is only accepted with odoo_platform_lifecycle: onboarding; "
            f"migrate to one of {', '.join(ODOO_DEPLOY_VERSIONS)}"
        )
    else:
        fix = f'use one of {", ".join(ODOO_DEPLOY_VERSIONS)} (quote it: "18.0")'
    findings.append(Finding(name, "odoo_platform_odoo_version", f"is {version!r}, which is not supported", fix))
    return findings


def _required_secrets(env: Mapping[str, Any]) -> list[str]:
    """The vault secrets an environment needs: its Redis ACL user's password only when it keeps sessions there."""
    required = list(REQUIRED_SECRETS)
    placed = env.get("odoo_platform_redis_server") not in (None, "")
    if placed and str(env.get("odoo_platform_redis_enabled", True)).lower() not in ("false", "no", "off", "0"):
        required.append("odoo_platform_redis_password")
    return required


def _check_secrets(name: str, env: Mapping[str, Any]) -> list[Finding]:
    findings = []
    for variable in _required_secrets(env):
        value = env.get(variable)
        if isinstance(value, Unresolved):
            findings.append(
                Finding(
                    name,
                    variable,
                    f"cannot be resolved ({value.reason})",
                    "define the vault variable it refers to in the inventory's vault file",
                )
            )
        elif value is None:
            findings.append(
                Finding(
                    name,
                    variable,
                    "is not defined",
                    f'set it to a vault reference, e.g. {variable}: "{{{{ vault_{name.replace("-", "_")}'
                    f'_{variable[len("odoo_platform_") :]} }}}}"',
                )
            )
        elif not isinstance(value, str) or _PLACEHOLDER.match(value):
            # Never echo the value: it is (or should be) a secret.
            findings.append(
                Finding(
                    name,
                    variable,
                    "is a placeholder or not a string",
                    "set a real secret in the vault file (ansible-vault edit ...)",
                )
            )
    return findings


def _parse(parser: Callable[[str, Any], Any], host: str, variable: str, value: Any, example: str) -> list[Finding]:
    if value is None:
        return [Finding(host, variable, "is not set", f"set it, for example {variable}: {example}")]
    try:
        parser(variable, value)
    except InputError as err:
        return [Finding(host, variable, f"{value!r} {err.reason}", f"write it like {example} ({err.accepted})")]
    return []


def _check_sizing(name: str, env: Mapping[str, Any]) -> list[Finding]:
    return _parse(parse_cpu, name, "odoo_platform_cpus", env.get("odoo_platform_cpus"), "2") + _parse(
        parse_size, name, "odoo_platform_memory", env.get("odoo_platform_memory"), "4GiB"
    )


def _check_postgres_server(name: str, server: Mapping[str, Any]) -> list[Finding]:
    findings = _parse(parse_cpu, name, "odoo_platform_pg_cpus", server.get("odoo_platform_pg_cpus"), "4")
    findings += _parse(parse_size, name, "odoo_platform_pg_memory", server.get("odoo_platform_pg_memory"), "16GiB")
    version = server.get("odoo_platform_pg_version", DEFAULT_POSTGRES_VERSION)
    if str(version) not in {str(v) for v in POSTGRES_VERSIONS}:
        findings.append(
            Finding(
                name,
                "odoo_platform_pg_version",
                f"is {version!r}, which is not supported",
                f"use one of {', '.join(str(v) for v in POSTGRES_VERSIONS)}",
            )
        )
    return findings


def _check_hostnames(envs: Sequence[str], hosts: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    findings, owner = [], {}
    for name in envs:
        hostnames = hosts.get(name, {}).get("odoo_platform_hostnames")
        if hostnames is None:
            continue
        if not isinstance(hostnames, (list, tuple)):
            findings.append(
                Finding(
                    name,
                    "odoo_platform_hostnames",
                    f"is {hostnames!r}",
                    "make it a list of host names, e.g. [erp.example.com]",
                )
            )
            continue
        for hostname in hostnames:
            if not _is_dns_subdomain(hostname):
                findings.append(
                    Finding(
                        name,
                        "odoo_platform_hostnames",
                        f"{hostname!r} is not a DNS-1123 host name",
                        "use lowercase letters, digits, '-' and '.', e.g. erp.example.com",
                    )
                )
            elif hostname in owner:
                findings.append(
                    Finding(
                        name,
                        "odoo_platform_hostnames",
                        f"{hostname!r} is also used by {owner[hostname]}",
                        "give every environment its own host names",
                    )
                )
            else:
                owner[hostname] = name
    return findings


def _is_dns_subdomain(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 253 and all(_DNS_LABEL.match(p) for p in value.split("."))


def _check_dedicated(
    envs: Sequence[str], hosts: Mapping[str, Mapping[str, Any]], groups: Mapping[str, Sequence[str]]
) -> list[Finding]:
    findings = []
    for variable in _EXCLUSIVE:
        users: dict[str, list[str]] = {}
        for name in envs:
            target = hosts.get(name, {}).get(variable)
            if target not in (None, ""):
                users.setdefault(str(target), []).append(name)
        for target, names in sorted(users.items()):
            if len(names) < 2:
                continue
            for name in names:
                if tenancy_of(name, groups) == "dedicated":
                    others = ", ".join(n for n in names if n != name)
                    findings.append(
                        Finding(
                            name,
                            variable,
                            f"{target} is shared with {others}, but {name} is dedicated",
                            f"give {name} its own host, or move it to tenancy_shared",
                        )
                    )
    return findings


def preflight(hosts: Mapping[str, Mapping[str, Any]], groups: Mapping[str, Sequence[str]]) -> list[Finding]:
    """Check the whole estate; return every finding at once (an empty list means it passed).

    ``hosts`` maps every inventory host (environments and infrastructure) to its
    ``odoo_platform_*`` variables; ``groups`` is the inventory's group -> hosts mapping.
    """
    envs = environment_names(groups)
    findings: list[Finding] = []
    for name in envs:
        env = hosts.get(name, {})
        findings += _check_name(name)
        findings += _check_groups(name, groups)
        findings += _check_placement(name, env, groups)
        findings += _check_versions(name, env)
        findings += _check_secrets(name, env)
        findings += _check_sizing(name, env)
    findings += _check_hostnames(envs, hosts)
    findings += _check_dedicated(envs, hosts, groups)
    used_servers = {hosts.get(n, {}).get("odoo_platform_postgres_server") for n in envs}
    for server in groups.get("postgres_servers", ()):
        if server in used_servers:
            findings += _check_postgres_server(server, hosts.get(server, {}))
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
    ("hostnames", "URL"),
    ("image", "IMAGE"),
    ("workers", "WORKERS"),
    ("limits", "MEMORY SOFT/HARD"),
    ("database", "DATABASE"),
    ("redis", "SESSIONS"),
    ("health", "HEALTH"),
)
_ENV_LABEL = "org.sysgenpro.odoo.environment"


def _mib(value: Any) -> str:
    return f"{int(value) // (1024 * 1024)}Mi"


def enrich(
    rows: Sequence[Mapping[str, Any]], plan: Mapping[str, Any] | None, containers: Sequence[Mapping[str, Any]] | None
) -> list[dict[str, Any]]:
    """Add what the plan chose and what the runtime reports (Docker's container list) to summary rows."""
    if containers is not None:
        # Several inventory container hosts may be one engine (the lab): count each container once.
        containers = list({str(c.get("Id", id(c))): c for c in containers}.values())
    out = []
    for row in rows:
        item = dict(row)
        env = ((plan or {}).get("environments") or {}).get(row["environment"])
        if env:
            web = env["web"]["settings"]
            cron = f" + cron {env['cron_threads']}" if env["cron_apart"] else f", cron {web['max_cron_threads']}"
            item["workers"] = f"{web['workers']} x{env['replicas']}{cron}"
            item["limits"] = f"{_mib(web['limit_memory_soft'])}/{_mib(web['limit_memory_hard'])}"
            item["database"] = f"{env['database']}@{env['postgres_server']} (limit {env['connection_limit']})"
            redis = env.get("redis") or {}
            item["redis"] = f"redis {redis['user']}@{redis['server']}" if redis.get("enabled") else "volume"
            if env.get("lifecycle") == "onboarding":
                item["health"] = "onboarding"
        if containers is not None and "health" not in item:
            mine = [c for c in containers if (c.get("Labels") or {}).get(_ENV_LABEL) == row["environment"]]
            running = [c for c in mine if c.get("State") == "running"]
            healthy = [c for c in running if "(healthy)" in str(c.get("Status", ""))]
            item["image"] = ", ".join(sorted({str(c.get("Image")) for c in running})) or "-"
            item["health"] = f"{len(healthy)}/{len(running)} healthy" if running else "not running"
        out.append(item)
    return out


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
