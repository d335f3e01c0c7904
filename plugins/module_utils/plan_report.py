# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Human reports of an estate plan: a short text for logs, Markdown and HTML for approvers.

Pure Python, no Ansible imports. Every number printed comes with the explanation the
calculation recorded for it. Output is deterministic (no timestamps): the same plan renders
to the same bytes, so a re-run changes no file.
"""

from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

_ENV_SETTINGS = (
    "workers",
    "max_cron_threads",
    "db_maxconn",
    "limit_memory_soft",
    "limit_memory_hard",
    "limit_time_cpu",
    "limit_time_real",
    "limit_request",
    "processes",
    "estimated_ram",
)
_POLICY_KEYS = (
    "rpo_seconds",
    "rto_seconds",
    "backup_mode",
    "retention_days",
    "retention_min_sets",
    "standby",
    "odoo_replicas",
    "restore_drill_every_days",
    "maintenance_window",
)
_SERVER_SETTINGS = (
    "max_connections",
    "shared_buffers",
    "effective_cache_size",
    "maintenance_work_mem",
    "work_mem",
    "wal_buffers",
    "random_page_cost",
    "effective_io_concurrency",
    "min_wal_size",
    "max_wal_size",
)


def _rows(settings: Mapping[str, Any], explain: Mapping[str, str], keys: Sequence[str]) -> list[tuple[str, str, str]]:
    return [(k, _value(settings[k]), explain.get(k, "")) for k in keys if k in settings]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return (
            ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else ", ".join(map(str, value))
        )
    return str(value)


def render_text(plan: Mapping[str, Any]) -> str:
    """A compact summary for the run log: one line per environment and per server."""
    lines = [
        f"Plan {plan['hash'][:12]}: {len(plan['environments'])} environments, "
        f"{len(plan['postgres_servers'])} PostgreSQL servers"
    ]
    for name, env in plan["environments"].items():
        web, pol = env["web"]["settings"], env["policy"]["settings"]
        lines.append(
            f"  {name}: {env['tier']}/{env['tenancy']} on {env['postgres_server']}; {env['replicas']}x web "
            f"workers={web['workers']} cron={web['max_cron_threads']}{' +cron apart' if env['cron_apart'] else ''} "
            f"db_maxconn={web['db_maxconn']} soft={web['limit_memory_soft']} hard={web['limit_memory_hard']}; "
            f"RPO {pol['rpo_seconds']}s RTO {pol['rto_seconds']}s; role connection limit {env['connection_limit']}"
        )
        for pool_name, pool in env.get("pools", {}).items():
            lines.append(
                f"    {env['workload_profile']}: {pool_name} pool {pool['replicas']}x workers={pool['workers']}"
                f" (peak {pool['max_replicas']}x {pool['max_workers']})"
                + (f" channels={pool['channels']}" if "channels" in pool else "")
            )
    for name, server in plan["postgres_servers"].items():
        s, b = server["settings"], server["budget"]["settings"]
        lines.append(
            f"  {name}: {server['tier']} ({len(server['tenants'])} tenants) max_connections={s['max_connections']} "
            f"demand={b['demand']} + reserved {server['reserved_connections']} shared_buffers={s['shared_buffers']} "
            f"work_mem={s['work_mem']} effective_cache_size={s['effective_cache_size']}"
        )
    lines += [f"  WARNING: {w}" for w in plan["warnings"]]
    return "\n".join(lines)


def _md_table(rows: Sequence[tuple[str, str, str]]) -> list[str]:
    out = ["| setting | value | why |", "| --- | --- | --- |"]
    out += [f"| `{k}` | {v} | {w.replace('|', '/')} |" for k, v, w in rows]
    return out


def _workload_rows(env: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The workload profile, its side pools with their budgets, and the peak windows."""
    profile = env.get("workload_profile", "balanced")
    rows = [("workload_profile", profile, "odoo_platform_workload_profile (docs/workload.md)")]
    for name, pool in (env.get("pools") or {}).items():
        explain = pool["explain"]
        why = "; ".join(explain[k] for k in ("workers", "channels", "paths", "replicas") if k in explain)
        peak = f"{pool['max_replicas']} x {pool['max_workers']}"
        value = f"{pool['replicas']} x {pool['workers']} workers (budget at peak: {peak})"
        rows.append((f"{name} pool", value, why or "sized like a web replica of its own cpus/memory"))
        if "channels" in pool:
            rows.append(("queue_job channels", pool["channels"], explain.get("channels", "")))
    for peak in env.get("peak_windows") or []:
        targets = ", ".join(f"{k}={v}" for k, v in peak.items() if k not in ("name", "schedule"))
        active = " (active now)" if env.get("active_peak") == peak["name"] else ""
        rows.append(
            (f"peak {peak['name']}", f"{peak['schedule']}: {targets}{active}", "counted in the connection budget")
        )
    for item in env.get("api_integrations") or []:
        rows.append(
            (
                f"integration {item['name']}",
                f"{item['average']}/s burst {item['burst']} from {', '.join(item['source_ranges'])}",
                "Traefik rate limit on the API paths for these source addresses",
            )
        )
    return rows


def render_markdown(plan: Mapping[str, Any]) -> str:
    """The approver's report: a table per environment and per server, every number explained."""
    out = [
        "# Estate plan",
        "",
        f"Plan hash `{plan['hash']}`. Approve this file's hash; `site.yml -e odoo_platform_approved_plan=<plan.json>` "
        "refuses to apply when the inventory no longer produces it.",
        "",
        "## Environments",
        "",
        "| environment | tier | tenancy | runtime | database server | Odoo | replicas (max) | URL |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, env in plan["environments"].items():
        urls = ", ".join(f"https://{h}/" for h in env["hostnames"]) or "-"
        out.append(
            f"| {name} | {env['tier']} | {env['tenancy']} | {env['runtime']} on {env['runtime_host']} | "
            f"{env['postgres_server']} | {env['odoo_version']} | {env['replicas']} ({env['max_replicas']}) | {urls} |"
        )
    for name, env in plan["environments"].items():
        out += ["", f"### {name}", ""]
        if env["lifecycle"] == "onboarding":
            out += ["_Onboarding: planned for the landing zone, not deployed until it is onboarded._", ""]
        rows = _rows(env["web"]["settings"], env["web"]["explain"], _ENV_SETTINGS)
        rows += _rows(env["policy"]["settings"], env["policy"]["explain"], _POLICY_KEYS)
        rows.append(("connection_limit", str(env["connection_limit"]), env["connection_limit_explain"]))
        if env["cron_apart"]:
            rows.append(("cron", f"{env['cron_threads']} threads, 1 replica", "more than one web replica: cron apart"))
        rows += _workload_rows(env)
        out += _md_table(rows)
        out += [f"- warning: {w}" for w in env["web"]["warnings"]]
    out += ["", "## PostgreSQL servers"]
    for name, server in plan["postgres_servers"].items():
        budget = server["budget"]["settings"]
        out += [
            "",
            f"### {name}",
            "",
            f"Tenants: {', '.join(server['tenants'])}. Tier {server['tier']} ({server['tier_reason']}): "
            f"backups {server['backup_mode']}, standby {server['standby']}, window {server['maintenance_window']}.",
            "",
        ]
        rows = [
            ("demand", str(budget["demand"]), server["budget"]["explain"].get("demand", "")),
            ("reserved", str(server["reserved_connections"]), "superuser, monitoring, backup and admin sessions"),
            ("memory_cap", str(server["memory_cap_connections"]), server["explain"].get("memory_cap", "")),
        ]
        rows += _rows(server["settings"], server["explain"], _SERVER_SETTINGS)
        out += _md_table(rows)
        out += [f"- warning: {w}" for w in server["warnings"]]
    if plan["redis_servers"]:
        out += ["", "## Redis servers"]
        for name, redis in plan["redis_servers"].items():
            sessions = redis["settings"]["sessions"]
            out += ["", f"### {name}", "", f"Tenants: {', '.join(redis['tenants'])}.", ""]
            out += _md_table(
                [
                    ("sessions maxmemory", str(sessions["maxmemory"]), redis["explain"]["sessions"]),
                    ("sessions policy", sessions["maxmemory_policy"], "sessions must never be evicted"),
                ]
            )
    if plan["warnings"]:
        out += ["", "## Warnings", ""] + [f"- {w}" for w in plan["warnings"]]
    return "\n".join(out) + "\n"


def _diagram(plan: Mapping[str, Any]) -> str:
    """An SVG of placement: environments (left) wired to their database servers (right)."""
    envs = list(plan["environments"].items())
    servers = list(plan["postgres_servers"])
    row, width = 34, 760
    height = max(len(envs), len(servers)) * row + 20
    colour = {"mission_critical": "#c0392b", "regional": "#d68910", "standard": "#2e86c1"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        'aria-label="placement of environments on database servers" font-family="sans-serif" font-size="12">'
    ]
    server_y = {name: 10 + i * row for i, name in enumerate(servers)}
    for i, (name, env) in enumerate(envs):
        y = 10 + i * row
        sy = server_y.get(env["postgres_server"], y)
        dash = ' stroke-dasharray="4 3"' if env["tenancy"] == "shared" else ""
        parts.append(f'<line x1="230" y1="{y + 12}" x2="520" y2="{sy + 12}" stroke="#888"{dash}/>')
        parts.append(f'<rect x="10" y="{y}" width="220" height="24" rx="4" fill="{colour.get(env["tier"], "#777")}"/>')
        parts.append(f'<text x="18" y="{y + 16}" fill="#fff">{html.escape(name)} ({env["tenancy"]})</text>')
    for name, y in server_y.items():
        server = plan["postgres_servers"][name]
        parts.append(f'<rect x="520" y="{y}" width="230" height="24" rx="4" fill="#34495e"/>')
        parts.append(
            f'<text x="528" y="{y + 16}" fill="#fff">{html.escape(name)} '
            f"max_connections {server['settings']['max_connections']}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(plan: Mapping[str, Any]) -> str:
    """A self-contained HTML page: the Markdown report's tables plus the placement diagram."""
    body = []
    in_table = False
    for line in render_markdown(plan).splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip().strip("`")) for c in line.strip("|").split("|")]
            if set(line) <= {"|", "-", " "}:
                continue
            if not in_table:
                body.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in cells) + "</tr>")
                in_table = True
            else:
                body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
            if line == "## Environments":
                body.append(
                    f"<figure>{_diagram(plan)}<figcaption>Placement: tier colour (red mission-critical, "
                    "amber regional, blue standard); dashed = shared tenancy.</figcaption></figure>"
                )
        elif line.startswith("- "):
            body.append(f'<p class="warn">{html.escape(line[2:])}</p>')
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#eee}"
        ".warn{color:#a04000}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Estate plan</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
