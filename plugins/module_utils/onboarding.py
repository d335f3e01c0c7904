# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conformance of a discovered legacy Odoo instance against the landing-zone standard.

Pure Python, no Ansible imports. ``assess`` takes the facts of ``odoo_discovery.discover`` (or
of the ``odoo_instance_facts`` module) and returns the report: what differs from the standard
and what the migration will change, one proposed environment per Odoo database (tier and
tenancy with the reasons, overridable), the inventory fragment to add, and the risks.
``render_markdown`` and ``to_yaml`` render it without third-party libraries.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

from .estate import DEFAULT_POSTGRES_VERSION, ODOO_DEPLOY_VERSIONS, ODOO_LEGACY_VERSIONS, TENANCY_GROUPS, TIER_GROUPS

TIERS = tuple(group[len("tier_") :] for group in TIER_GROUPS)
TENANCIES = tuple(group[len("tenancy_") :] for group in TENANCY_GROUPS)
GIB = 1024**3
# Tier thresholds per environment (one Odoo database): any one signal at or above a threshold
# proposes the tier. Sizes are database + filestore; users are active internal users;
# integrations are installed integration modules plus one for active outgoing mail servers.
TIER_THRESHOLDS = {
    "mission_critical": {"users": 150, "size_bytes": 200 * GIB, "integrations": 6},
    "regional": {"users": 30, "size_bytes": 20 * GIB, "integrations": 3},
}
# A dedicated server pays off from this size or these users on; mission-critical is always dedicated.
DEDICATED_THRESHOLDS = {"users": 100, "size_bytes": 100 * GIB}
INTEGRATION_MODULES = re.compile(
    r"^(queue_job|connector\w*|\w*_edi\w*|edi_\w+|payment_\w+|delivery_\w+|base_rest\w*|\w*webhook\w*|"
    r"auth_oauth|fetchmail|\w+_connector)$"
)
TARGET_AUTH = "scram-sha-256"
TARGET_DATA_DIR = "/var/lib/odoo"
_SEVERITY = {"high": 0, "medium": 1, "low": 2}
# What the landing zone does about each weakness the discovery reports.
WEAKNESS_FIXES = {
    "admin_passwd_default": "a random master password per environment, kept in the vault",
    "admin_passwd_plaintext": "the master password comes from the vault and is stored hashed",
    "secret_on_command_line": "the database password is read from a 0600 file, never passed on argv",
    "db_user_superuser": "Odoo gets a role that owns only its database (no SUPERUSER, CREATEDB or CREATEROLE)",
    "pg_trust_auth": "pg_hba is generated: scram-sha-256 for every Odoo role, no trust rule",
    "pg_md5_auth": "password_encryption = scram-sha-256 and the roles' passwords are set again",
    "list_db_enabled": "list_db = False and the database manager blocked at Traefik",
    "config_world_readable": "odoo.conf is 0640, owned by the Odoo user, rendered from the vault",
}


class AssessmentError(ValueError):
    """An override the assessment cannot use."""


def dns_label(name: str) -> str:
    """A database name as an environment name: lowercase, ``_`` and other characters to ``-``."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return label[:63].rstrip("-") or "odoo"


def _signals(db: Mapping[str, Any]) -> dict[str, Any]:
    """The sizing signals of one Odoo database."""
    modules = db.get("installed_modules") or []
    integrations = sorted(m for m in modules if INTEGRATION_MODULES.match(m))
    size = int(db.get("size_bytes") or 0) + int((db.get("filestore") or {}).get("bytes") or 0)
    return {
        "users": int(db.get("internal_users") or 0),
        "size_bytes": size,
        "integrations": len(integrations) + (1 if db.get("mail_servers") else 0),
        "integration_modules": integrations,
    }


def propose_tier(signals: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The tier the signals call for, and why."""
    for tier in ("mission_critical", "regional"):
        limits = TIER_THRESHOLDS[tier]
        reasons = [
            f"{key.replace('_bytes', '')} {_fmt(key, signals[key])} >= {_fmt(key, limit)}"
            for key, limit in limits.items()
            if signals[key] >= limit
        ]
        if reasons:
            return tier, reasons
    below = TIER_THRESHOLDS["regional"]
    return "standard", [
        "below every regional threshold: "
        + ", ".join(f"{key.replace('_bytes', '')} {_fmt(key, signals[key])} < {_fmt(key, below[key])}" for key in below)
    ]


def propose_tenancy(tier: str, signals: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The tenancy the tier and the signals call for, and why."""
    if tier == "mission_critical":
        return "dedicated", ["mission-critical environments run on dedicated infrastructure"]
    reasons = [
        f"{key.replace('_bytes', '')} {_fmt(key, signals[key])} >= {_fmt(key, limit)}"
        for key, limit in DEDICATED_THRESHOLDS.items()
        if signals[key] >= limit
    ]
    if reasons:
        return "dedicated", reasons
    return "shared", [
        "fits a shared server: "
        + ", ".join(
            f"{key.replace('_bytes', '')} {_fmt(key, signals[key])} < {_fmt(key, limit)}"
            for key, limit in DEDICATED_THRESHOLDS.items()
        )
    ]


def _fmt(key: str, value: Any) -> str:
    if key == "size_bytes":
        return f"{value / GIB:.2f} GiB" if value < 10 * GIB else f"{value / GIB:.0f} GiB"
    return str(value)


def _check_choice(where: str, value: Any, choices: Sequence[str]) -> None:
    if value is not None and value not in choices:
        raise AssessmentError(f"{where}: {value!r} is not one of {', '.join(choices)}")


def differences(facts: Mapping[str, Any]) -> list[dict[str, str]]:
    """What differs from the landing-zone standard, and what the migration changes."""
    odoo = facts["odoo"]
    pg = facts["postgresql"]
    service = facts["service"]
    found: list[dict[str, str]] = []

    def add(item: str, legacy: str, standard: str, change: str) -> None:
        found.append({"item": item, "legacy": legacy, "standard": standard, "change": change})

    where = f"{service['kind']} {service['unit'] or 'process'} on {facts['host']['hostname']}"
    add(
        "runtime",
        f"Odoo as {where}",
        "one container per environment (odoo_container)",
        "each database gets its own container from the derived image; the legacy service is left running",
    )
    odoo_dbs = [db for db in facts["databases"] if db.get("odoo")]
    if len(odoo_dbs) != 1:
        add(
            "databases per instance",
            f"{len(odoo_dbs)} Odoo databases in one instance",
            "one database per environment",
            "one environment per database, each with its own role, filestore and backups",
        )
    version = odoo.get("version")
    if version in ODOO_LEGACY_VERSIONS:
        add(
            "Odoo version",
            version,
            f"one of {', '.join(ODOO_DEPLOY_VERSIONS)}",
            f"migrated as {version} with odoo_platform_lifecycle: onboarding; the upgrade is a separate project",
        )
    if pg.get("major") is not None and pg["major"] != DEFAULT_POSTGRES_VERSION:
        add(
            "PostgreSQL version",
            str(pg["major"]),
            str(DEFAULT_POSTGRES_VERSION),
            f"dump with pg_dump {max(pg['major'], DEFAULT_POSTGRES_VERSION)}+ and restore on the governed server",
        )
    methods = sorted({r["method"] for r in pg.get("hba_rules") or [] if r["method"] not in ("peer", TARGET_AUTH)})
    encryption = (pg.get("settings") or {}).get("password_encryption")
    if methods or (encryption and encryption != TARGET_AUTH):
        legacy = ", ".join(
            filter(
                None,
                [
                    f"pg_hba {'/'.join(methods)}" if methods else "",
                    f"password_encryption {encryption}" if encryption else "",
                ],
            )
        )
        add("PostgreSQL authentication", legacy, TARGET_AUTH, "roles created on the governed server with scram-sha-256")
    role = pg.get("role") or {}
    if role.get("superuser") or role.get("createrole"):
        add(
            "database role",
            f"{role.get('name')} (superuser)" if role.get("superuser") else str(role.get("name")),
            "odoo_<environment>, owner of its database only",
            "restore as the new non-superuser role (F05)",
        )
    if odoo.get("list_db"):
        add("list_db", "on", "off", "list_db = False; Traefik blocks /web/database/*")
    if not odoo.get("proxy_mode"):
        add("proxy_mode", "off", "on, behind Traefik with TLS", "proxy_mode = True; Traefik sends X-Forwarded-*")
    if odoo.get("workers") == 0:
        add(
            "workers",
            "0 (threaded, one process)",
            "sized from the environment's CPUs and memory (odoo_sizing)",
            "multi-worker mode with the gevent port routed for /websocket",
        )
    if odoo.get("data_dir") != TARGET_DATA_DIR:
        add(
            "data_dir",
            f"{odoo.get('data_dir')} ({odoo.get('data_dir_source')})",
            TARGET_DATA_DIR,
            "filestore copied to the environment's volume (or object storage where the environment uses it)",
        )
    if odoo.get("addons_path_empty_entries"):
        resolved = ", ".join(e["resolved_to"] for e in odoo["addons_path_empty_entries"])
        add(
            "addons_path",
            f"empty entry resolved to {resolved}",
            "only real addons directories",
            "the empty entry is dropped; addons_path rendered as one comma-separated line",
        )
    if odoo.get("custom_addons_paths"):
        add(
            "custom addons",
            ", ".join(odoo["custom_addons_paths"]),
            "packaged into the derived image",
            f"{len(odoo.get('custom_modules') or [])} custom modules copied into the environment's image",
        )
    config = facts.get("config") or {}
    if config.get("mode") and int(config["mode"], 8) & 0o027:
        add("odoo.conf mode", config["mode"], "0640, owned by the Odoo user", "rendered by the role from the vault")
    return found


def risks(facts: Mapping[str, Any]) -> list[dict[str, str]]:
    """What can go wrong in the migration, most severe first; every weakness is one."""
    found: list[dict[str, str]] = []

    def add(ident: str, severity: str, risk: str, mitigation: str) -> None:
        found.append({"id": ident, "severity": severity, "risk": risk, "mitigation": mitigation})

    for weakness in facts.get("weaknesses") or []:
        add(
            weakness["id"],
            weakness["severity"],
            f"{weakness['summary']} ({weakness['evidence']})",
            WEAKNESS_FIXES.get(weakness["id"], "fixed by the landing-zone standard"),
        )
    odoo = facts["odoo"]
    pg = facts["postgresql"]
    version = odoo.get("version")
    if not version or not odoo.get("supported"):
        add(
            "odoo_version_unknown",
            "high",
            f"the Odoo series is unknown or unsupported ({version})",
            "set the series by hand (odoo_platform_odoo_version) before migrating",
        )
    elif version in ODOO_LEGACY_VERSIONS:
        add(
            "odoo_version_legacy",
            "medium",
            f"Odoo {version} no longer gets upstream fixes",
            "migrate as is, then plan the upgrade to a supported series",
        )
    if not pg.get("reachable"):
        add(
            "postgresql_unreachable",
            "high",
            f"PostgreSQL could not be read: {pg.get('error')}",
            "fix the credentials or run the discovery as a user that can connect, then assess again",
        )
    elif pg.get("major") and pg["major"] > DEFAULT_POSTGRES_VERSION:
        add(
            "postgresql_downgrade",
            "high",
            f"the legacy server runs PostgreSQL {pg['major']}, newer than the standard {DEFAULT_POSTGRES_VERSION}",
            "place the environment on a server of the same or a newer major version",
        )
    available = set()
    for addons in odoo.get("addons") or []:
        available.update(m["name"] for m in addons["modules"])
    for db in facts["databases"]:
        found.extend(_database_risks(db, available))
    if odoo.get("addons_path_empty_entries"):
        add(
            "addons_path_empty_entry",
            "low",
            "addons_path has an empty entry (trailing comma): Odoo loads modules from its working directory",
            "the migrated configuration drops the entry",
        )
    found.sort(key=lambda r: _SEVERITY[r["severity"]])
    return found


def _database_risks(db: Mapping[str, Any], available: set[str]) -> list[dict[str, str]]:
    """The risks of one database: unreadable, not Odoo, module code or attachment files missing."""
    found: list[dict[str, str]] = []

    def add(ident: str, severity: str, risk: str, mitigation: str) -> None:
        found.append({"id": ident, "severity": severity, "risk": risk, "mitigation": mitigation})

    if not db.get("odoo"):
        if db.get("error"):
            add(
                "database_unreadable",
                "high",
                f"database {db['name']} could not be read: {db['error']}",
                "grant the discovery role CONNECT and read access, then assess again",
            )
        else:
            add(
                "database_not_odoo",
                "low",
                f"database {db['name']} is not an Odoo database",
                "not migrated: move it separately if something still uses it",
            )
        return found
    missing_code = sorted(set(db.get("installed_modules") or []) - available)
    if missing_code and available:
        add(
            "installed_module_without_code",
            "high",
            f"{db['name']}: installed modules with no code in any addons path: {', '.join(missing_code)}",
            "find the code (or uninstall the modules on the legacy instance) before migrating",
        )
    filestore = db.get("filestore") or {}
    if filestore.get("missing_files"):
        add(
            "attachments_missing",
            "high",
            f"{db['name']}: {filestore['missing_files']} attachment files are already missing on the legacy host",
            "record them as the baseline: the migration must not add to this number",
        )
    if db.get("attachments_in_database"):
        add(
            "attachments_in_database",
            "low",
            f"{db['name']}: {db['attachments_in_database']} attachments are stored in the database",
            "they move with the dump; consider moving them to the filestore afterwards",
        )
    return found


def environments(facts: Mapping[str, Any], overrides: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One proposed environment per Odoo database, with tier and tenancy and the reasons."""
    _check_choice("overrides.tier", overrides.get("tier"), TIERS)
    _check_choice("overrides.tenancy", overrides.get("tenancy"), TENANCIES)
    per_db = overrides.get("databases") or {}
    known = {db["name"] for db in facts["databases"] if db.get("odoo")}
    unknown = sorted(set(per_db) - known)
    if unknown:
        raise AssessmentError(
            f"overrides.databases: {', '.join(unknown)} not among the Odoo databases ({', '.join(sorted(known))})"
        )
    proposed = []
    for db in facts["databases"]:
        if not db.get("odoo"):
            continue
        own = per_db.get(db["name"]) or {}
        _check_choice(f"overrides.databases.{db['name']}.tier", own.get("tier"), TIERS)
        _check_choice(f"overrides.databases.{db['name']}.tenancy", own.get("tenancy"), TENANCIES)
        signals = _signals(db)
        tier, tier_reasons = propose_tier(signals)
        chosen_tier = own.get("tier") or overrides.get("tier") or tier
        if chosen_tier != tier:
            tier_reasons = [f"overridden (proposed {tier}: {'; '.join(tier_reasons)})"]
        tenancy, tenancy_reasons = propose_tenancy(chosen_tier, signals)
        chosen_tenancy = own.get("tenancy") or overrides.get("tenancy") or tenancy
        if chosen_tenancy != tenancy:
            tenancy_reasons = [f"overridden (proposed {tenancy}: {'; '.join(tenancy_reasons)})"]
        name = own.get("name") or dns_label(f"{overrides.get('name_prefix', '')}{db['name']}")
        proposed.append(
            {
                "name": name,
                "database": db["name"],
                "tier": chosen_tier,
                "tier_reasons": tier_reasons,
                "tenancy": chosen_tenancy,
                "tenancy_reasons": tenancy_reasons,
                "signals": signals,
                "stage": own.get("stage") or overrides.get("stage") or "production",
            }
        )
    return proposed


# Placement variables the discovery cannot know: the operator sets them (overrides.vars).
PLACEMENT_VARIABLES = (
    "odoo_platform_runtime",
    "odoo_platform_postgres_server",
    "odoo_platform_hostnames",
    "odoo_platform_cpus",
    "odoo_platform_memory",
)


def inventory_fragment(
    facts: Mapping[str, Any], envs: Sequence[Mapping[str, Any]], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The hosts and group memberships to add to the estate inventory."""
    extra = dict(overrides.get("vars") or {})
    hosts: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for env in envs:
        role = "odoo_" + env["name"].replace("-", "_")
        secret = env["name"].replace("-", "_")
        hosts[env["name"]] = {
            "ansible_connection": "local",
            "odoo_platform_lifecycle": "onboarding",
            "odoo_platform_odoo_version": facts["odoo"].get("version"),
            "odoo_platform_tenant": env["name"],
            "odoo_platform_stage": env["stage"],
            # The legacy name stays: integrations and dbfilter rules address the database by it.
            "odoo_platform_database": env["database"],
            "odoo_platform_db_role": role,
            "odoo_platform_db_password": "{{ vault_" + secret + "_db_password }}",
            "odoo_platform_admin_password": "{{ vault_" + secret + "_admin_password }}",
            "odoo_platform_onboarding_source": {
                "host": facts["host"]["hostname"],
                "database": env["database"],
                "data_dir": facts["odoo"].get("data_dir"),
                "custom_addons_paths": list(facts["odoo"].get("custom_addons_paths") or []),
            },
            **extra,
        }
        for group in ("tier_" + env["tier"], "tenancy_" + env["tenancy"]):
            groups.setdefault(group, {"hosts": {}})["hosts"][env["name"]] = {}
    children: dict[str, Any] = {"environments": {"hosts": hosts}}
    children.update(sorted(groups.items()))
    return {"all": {"children": children}}


def assess(facts: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The conformance report of one legacy instance (see the module docstring)."""
    overrides = overrides or {}
    envs = environments(facts, overrides)
    extra = overrides.get("vars") or {}
    todo = [
        f"set {var} for {', '.join(e['name'] for e in envs)} (overrides.vars or the inventory)"
        for var in PLACEMENT_VARIABLES
        if var not in extra
    ]
    todo.append(
        "add the vault secrets "
        + ", ".join(
            f"vault_{e['name'].replace('-', '_')}_db_password, vault_{e['name'].replace('-', '_')}_admin_password"
            for e in envs
        )
    )
    found_risks = risks(facts)
    return {
        "host": facts["host"]["hostname"],
        "instance": {
            "odoo_version": facts["odoo"].get("version"),
            "service": facts["service"]["unit"] or f"process {facts['service']['main_pid']}",
            "postgresql": facts["postgresql"].get("version"),
            "databases": [db["name"] for db in facts["databases"] if db.get("odoo")],
            "data_dir": facts["odoo"].get("data_dir"),
            "custom_modules": list(facts["odoo"].get("custom_modules") or []),
        },
        "weaknesses": [w["id"] for w in facts.get("weaknesses") or []],
        "differences": differences(facts),
        "environments": envs,
        "inventory_fragment": inventory_fragment(facts, envs, overrides),
        "todo": todo,
        "risks": found_risks,
        "risk_counts": {sev: sum(1 for r in found_risks if r["severity"] == sev) for sev in _SEVERITY},
        "warnings": list(facts.get("warnings") or []),
    }


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """A few lines for the console: the instance, the proposal and the risk counts."""
    inst = report["instance"]
    counts = report["risk_counts"]
    lines = [
        f"{report['host']}: Odoo {inst['odoo_version']} ({inst['service']}), PostgreSQL {inst['postgresql']}, "
        f"{len(inst['databases'])} database(s)",
        f"risks: {counts['high']} high, {counts['medium']} medium, {counts['low']} low; "
        f"weaknesses: {', '.join(report['weaknesses']) or 'none'}",
    ]
    lines += [
        f"{env['database']} -> environment {env['name']}: tier {env['tier']}, tenancy {env['tenancy']}"
        for env in report["environments"]
    ]
    return lines


def to_yaml(data: Any, indent: int = 0) -> str:
    """Block YAML for dicts, lists and scalars; strings are JSON-quoted (valid YAML)."""
    pad = "  " * indent
    if isinstance(data, Mapping):
        if not data:
            return "{}\n"
        out = []
        for key, value in data.items():
            if isinstance(value, (Mapping, list)) and value:
                out.append(f"{pad}{key}:\n{to_yaml(value, indent + 1)}")
            else:
                out.append(f"{pad}{key}: {to_yaml(value, 0).strip()}\n")
        return "".join(out)
    if isinstance(data, list):
        if not data:
            return "[]\n"
        out = []
        for item in data:
            if isinstance(item, (Mapping, list)) and item:
                body = to_yaml(item, indent + 1)
                out.append(f"{pad}- {body.lstrip()}")
            else:
                out.append(f"{pad}- {to_yaml(item, 0).strip()}\n")
        return "".join(out)
    return _yaml_scalar(data)


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown for the ops engineer and the acquisition file."""
    inst = report["instance"]
    lines = [
        f"# Onboarding assessment: {report['host']}",
        "",
        "| | |",
        "| --- | --- |",
        f"| Odoo | {inst['odoo_version']} ({inst['service']}) |",
        f"| PostgreSQL | {inst['postgresql']} |",
        f"| databases | {', '.join(inst['databases'])} |",
        f"| data_dir | `{inst['data_dir']}` |",
        f"| custom modules | {', '.join(inst['custom_modules']) or 'none'} |",
        "",
        "## Risks",
        "",
        "| severity | id | risk | mitigation |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {r['severity']} | `{r['id']}` | {r['risk']} | {r['mitigation']} |" for r in report["risks"]]
    lines += [
        "",
        "## What differs from the standard",
        "",
        "| item | legacy | standard | migration |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {d['item']} | {d['legacy']} | {d['standard']} | {d['change']} |" for d in report["differences"]]
    lines += ["", "## Proposed environments", ""]
    for env in report["environments"]:
        lines += [
            f"### {env['name']} (database `{env['database']}`)",
            "",
            f"- tier **{env['tier']}**: {'; '.join(env['tier_reasons'])}",
            f"- tenancy **{env['tenancy']}**: {'; '.join(env['tenancy_reasons'])}",
            f"- stage {env['stage']}",
            "",
        ]
    lines += [
        "## Inventory fragment",
        "",
        "```yaml",
        "---",
        to_yaml(report["inventory_fragment"]).rstrip(),
        "```",
        "",
        "## Still to do before the migration",
        "",
    ]
    lines += [f"- {item}" for item in report["todo"]]
    if report["warnings"]:
        lines += ["", "## Discovery warnings", ""] + [f"- {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"
