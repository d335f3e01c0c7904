# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate plan: one coupled sizing chain from container limits to PostgreSQL settings.

Pure Python, no Ansible imports. The plan is computed from the *whole* inventory: a shared
server's connection budget and settings always count every environment placed on it, whatever
``--limit`` says. The algorithm (docs/plan.md):

1. per environment: its tier policy, then Odoo sizing from its container limits (web replicas
   run ``max_cron_threads = 0`` and cron gets its own single-replica instance when there is more
   than one web replica);
2. per PostgreSQL server: the connection demand of every instance placed on it, with replicas at
   their maximum plus the rolling-update surge, at each environment's target ``db_maxconn``;
3. ``max_connections = demand + reserved``, bounded by what the server's memory carries (the
   largest value for which PGTune's ``work_mem`` stays at its 4MB floor or above); when the
   demand does not fit, every ``db_maxconn`` on the server is lowered to
   ``floor((max_connections - reserved) / processes)``, with a warning below 4;
4. PGTune's settings from the server's own memory (its container limit) with that
   ``max_connections``, with ``work_mem`` bounded by its value at 100 connections.

The result is plain JSON-able data, deterministic for the same inventory, with a hash that an
apply run compares against an approved plan.
"""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
from typing import Any, Mapping, Sequence

from . import workload as profiles
from .connection_budget import LOW_DB_MAXCONN, connection_budget
from .estate import (
    DEFAULT_ODOO_VERSION,
    DEFAULT_POSTGRES_VERSION,
    Finding,
    environment_names,
    tenancy_of,
    tier_of,
)
from .odoo_sizing import odoo_sizing
from .pg_tune import pg_tune
from .plan_result import InputError, Result
from .redis_sizing import redis_sizing
from .tier_policy import TIERS, tier_policy
from .units import format_pg_kb, parse_size

PLAN_FORMAT = 1
# Strictest first: a shared server follows the strictest tier among its tenants.
TIER_ORDER = ("mission_critical", "regional", "standard")
DEFAULT_DB_MAXCONN = 8
DEFAULT_RESERVED = 10
DEFAULT_CRON_THREADS = 2
DEFAULT_USERS = 25
# work_mem is not allowed to grow past PGTune's value at this many connections (see module doc).
WORK_MEM_REFERENCE_CONNECTIONS = 100
_WORK_MEM_FLOOR_KB = 4 * 1024
_KB = 1024

_ENV_INPUT_VARIABLES = {
    "odoo_platform_redis_server": "odoo_platform_redis_server",
    "odoo_platform_max_replicas": "odoo_platform_max_replicas",
    "cpus": "odoo_platform_cpus",
    "memory": "odoo_platform_memory",
    "odoo_version": "odoo_platform_odoo_version",
    "concurrent_users": "odoo_platform_concurrent_users",
    "replicas": "odoo_platform_replicas",
    "db_maxconn": "odoo_platform_db_maxconn",
    "max_cron_threads": "odoo_platform_cron_threads",
    "tier": "tier group",
    "overrides": "odoo_platform_tier_overrides",
}
_SERVER_INPUT_VARIABLES = {
    "memory": "odoo_platform_pg_memory",
    "cpus": "odoo_platform_pg_cpus",
    "max_connections": "odoo_platform_pg_max_connections",
    "workload": "odoo_platform_pg_workload",
    "storage": "odoo_platform_pg_storage",
    "pg_version": "odoo_platform_pg_version",
    "db_size": "odoo_platform_pg_db_size",
    "container": "odoo_platform_pg_container",
}


class PlanError(Exception):
    """The inventory cannot be planned; ``findings`` say where and how to fix it."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("; ".join(str(f) for f in self.findings))


def identifier(name: str) -> str:
    """A PostgreSQL identifier from an environment name (``wh-north`` -> ``wh_north``)."""
    return name.replace("-", "_")


def _finding(host: str, err: InputError, variables: Mapping[str, str], where: str) -> Finding:
    key = err.key.split(".")[0].split("[")[0]
    # Errors that already name an inventory variable (workload profiles, peaks) keep it.
    variable = err.key if err.key.startswith("odoo_platform_") else variables.get(key, f"{where}.{err.key}")
    return Finding(host, variable, f"{err.value!r}: {err.reason}", f"accepted: {err.accepted}")


def _explained(result: Result) -> dict[str, Any]:
    return {"settings": result.settings, "explain": result.explain, "warnings": list(result.warnings)}


def _plan_environment(name: str, env: Mapping[str, Any], groups: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    tier = tier_of(name, groups) or "standard"
    policy = tier_policy({"tier": tier, "overrides": env.get("odoo_platform_tier_overrides") or {}})
    replicas = int(env.get("odoo_platform_replicas") or policy.settings["odoo_replicas"])
    max_replicas = int(env.get("odoo_platform_max_replicas") or replicas)
    if max_replicas < replicas:
        raise InputError("odoo_platform_max_replicas", max_replicas, f"is below the {replicas} replicas", ">= replicas")
    if max_replicas > replicas and not policy.settings["autoscaling_allowed"]:
        raise InputError(
            "odoo_platform_max_replicas",
            max_replicas,
            f"autoscaling is not allowed in tier {tier}",
            f"{replicas} (no autoscaling), or allow it in odoo_platform_tier_overrides",
        )
    profile = profiles.read_profile(env)
    peaks = profiles.read_peaks(env, profile)
    peak = profiles.active_peak(peaks, env.get("odoo_platform_active_peak"))
    # The connection budget carries every pool at its highest peak; the replicas that run now are
    # the base ones, or the active peak's when an operator switched one on (docs/workload.md).
    peak_replicas = profiles.pool_replicas(max_replicas, peaks, "web_replicas")
    if peak and "web_replicas" in peak:
        replicas = int(peak["web_replicas"])
    max_replicas = max(max_replicas, peak_replicas)
    cron_apart = max_replicas > 1
    cron_threads = int(env.get("odoo_platform_cron_threads") or (DEFAULT_CRON_THREADS if cron_apart else 1))
    peak_cron_threads = max([cron_threads] + [int(p["cron_threads"]) for p in peaks if "cron_threads" in p])
    if peak and "cron_threads" in peak:
        cron_threads = int(peak["cron_threads"])
    sizing_inputs = {
        "cpus": env.get("odoo_platform_cpus"),
        "memory": env.get("odoo_platform_memory"),
        "odoo_version": str(env.get("odoo_platform_odoo_version", DEFAULT_ODOO_VERSION)),
        "replicas": replicas,
        "max_cron_threads": 0 if cron_apart else cron_threads,
        "db_maxconn": int(env.get("odoo_platform_db_maxconn") or DEFAULT_DB_MAXCONN),
    }
    if env.get("odoo_platform_concurrent_users") is not None:
        sizing_inputs["concurrent_users"] = env["odoo_platform_concurrent_users"]
    web = odoo_sizing(sizing_inputs)
    instances = [
        {
            "name": f"{name}/web",
            "workers": web.settings["workers"],
            "max_cron_threads": web.settings["max_cron_threads"],
            "db_maxconn": web.settings["db_maxconn"],
            "replicas": max_replicas,
            "surge": 1,
        }
    ]
    if cron_apart:
        # Cron runs threaded (workers = 0) in one process; recreate strategy, so no surge copy.
        instances.append(
            {
                "name": f"{name}/cron",
                "workers": 0,
                "max_cron_threads": peak_cron_threads,
                "db_maxconn": web.settings["db_maxconn"],
                "replicas": 1,
                "surge": 0,
            }
        )
    pools = _plan_pools(env, profile=profile, peaks=peaks, peak=peak, web_inputs=sizing_inputs)
    for pool_name, pool in pools.items():
        instances.append(
            {
                "name": f"{name}/{pool_name}",
                "workers": pool["max_workers"],
                "max_cron_threads": 0,
                "db_maxconn": pool["settings"]["db_maxconn"],
                "replicas": pool["max_replicas"],
                # The jobs pool is recreated (one queue_job runner per database), the api pool rolls.
                "surge": 0 if pool_name == "jobs" else 1,
            }
        )
    return {
        "environment": name,
        "tenant": env.get("odoo_platform_tenant", name),
        "stage": env.get("odoo_platform_stage", "production"),
        "lifecycle": env.get("odoo_platform_lifecycle", "active"),
        "tier": tier,
        "tenancy": tenancy_of(name, groups),
        "runtime": env.get("odoo_platform_runtime"),
        "runtime_host": env.get("odoo_platform_container_host") or env.get("odoo_platform_kubernetes_cluster"),
        "postgres_server": env.get("odoo_platform_postgres_server"),
        "redis_server": env.get("odoo_platform_redis_server"),
        "redis": _redis_choice(name, env, max_replicas),
        "hostnames": list(env.get("odoo_platform_hostnames") or []),
        "odoo_version": sizing_inputs["odoo_version"],
        "database": env.get("odoo_platform_database") or identifier(name),
        "db_role": env.get("odoo_platform_db_role") or f"odoo_{identifier(name)}",
        "replicas": replicas,
        "max_replicas": max_replicas,
        "cron_apart": cron_apart,
        "cron_threads": cron_threads,
        "policy": _explained(policy),
        "_sizing_inputs": sizing_inputs,
        "web": _explained(web),
        "instances": instances,
        "concurrent_users": env.get("odoo_platform_concurrent_users"),
        "workload_profile": profile,
        "pools": pools,
        "peak_windows": peaks,
        "active_peak": peak["name"] if peak else None,
        "api_integrations": profiles.read_integrations(env) if profile == "transport_api_heavy" else [],
    }


def _plan_pools(
    env: Mapping[str, Any],
    *,
    profile: str,
    peaks: list[dict[str, Any]],
    peak: dict[str, Any] | None,
    web_inputs: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """The side pools of the workload profile, each sized like a web replica of its own cpus/memory."""
    pools: dict[str, dict[str, Any]] = {}
    major = int(str(web_inputs["odoo_version"]).split(".", maxsplit=1)[0])
    if profile == "transport_api_heavy":
        replicas = int(env.get("odoo_platform_api_replicas") or 1)
        current = int(peak["api_replicas"]) if peak and "api_replicas" in peak else replicas
        sizing = _pool_sizing(env, "api", web_inputs, current, {})
        paths = profiles.api_paths(major, env.get("odoo_platform_api_routes") or [])
        pools["api"] = {
            "workers": sizing.settings["workers"],
            "max_workers": sizing.settings["workers"],
            "replicas": current,
            "max_replicas": profiles.pool_replicas(replicas, peaks, "api_replicas"),
            "paths": paths,
            # Integrations retry: a call that gets no answer within this time gets Traefik's 504 instead of
            # waiting out Odoo's limit_time_real.
            "timeout_seconds": int(env.get("odoo_platform_api_timeout_seconds") or profiles.API_TIMEOUT_SECONDS),
            **_explained(sizing),
        }
        pools["api"]["explain"]["paths"] = (
            "Odoo's external API (XML-RPC /xmlrpc/2/, JSON-RPC /jsonrpc"
            + (", JSON-2 /json/2/" if major >= 19 else "")
            + ") and odoo_platform_api_routes: routed by the traefik role to this pool"
        )
    if profile == "warehouse_heavy":
        limits = {"limit_time_real": profiles.JOB_LIMIT_TIME_REAL, "limit_time_cpu": profiles.JOB_LIMIT_TIME_CPU}
        sizing = _pool_sizing(env, "job", web_inputs, 1, limits)
        most = sizing.settings["workers"]
        # The jobs container does nothing else: by default it runs as many workers as its size allows.
        base = int(env.get("odoo_platform_job_workers") or most)
        wanted = [("odoo_platform_job_workers", base)] + [
            (f"odoo_platform_peak_windows[{p['name']}].job_workers", p["job_workers"])
            for p in peaks
            if "job_workers" in p
        ]
        for variable, value in wanted:
            if value > most:
                raise InputError(
                    variable,
                    value,
                    f"is more than the {most} workers the jobs container's memory and CPUs allow",
                    f"<= {most}, or more odoo_platform_job_memory/odoo_platform_job_cpus",
                )
        workers = int(peak["job_workers"]) if peak and "job_workers" in peak else min(base, most)
        channels, channels_explain = profiles.queue_job_channels(workers, 1)
        pools["jobs"] = {
            "workers": workers,
            "max_workers": max(value for _variable, value in wanted),
            "replicas": 1,
            "max_replicas": 1,
            "channels": channels,
            **_explained(sizing),
        }
        at_peak = f"; peak window {peak['name']}: {workers}" if peak and "job_workers" in peak else ""
        pools["jobs"]["explain"]["workers"] = (
            f"odoo_platform_job_workers, or all {most} workers the jobs container's cpus and memory allow: {base}"
            f"{at_peak}"
        )
        pools["jobs"]["explain"]["channels"] = channels_explain
        pools["jobs"]["explain"]["replicas"] = "1: one queue_job runner per database"
    return pools


def _pool_sizing(
    env: Mapping[str, Any], prefix: str, web_inputs: Mapping[str, Any], replicas: int, limits: Mapping[str, int]
) -> Any:
    inputs = dict(web_inputs, replicas=replicas, max_cron_threads=0, **limits)
    for key in ("cpus", "memory"):
        if env.get(f"odoo_platform_{prefix}_{key}") is not None:
            inputs[key] = env[f"odoo_platform_{prefix}_{key}"]
    inputs.pop("concurrent_users", None)
    return odoo_sizing(inputs)


def _redis_choice(name: str, env: Mapping[str, Any], replicas: int) -> dict[str, Any]:
    """Whether the environment keeps its sessions in Redis, why, and under which user and key prefix."""
    server = env.get("odoo_platform_redis_server")
    wanted = env.get("odoo_platform_redis_enabled")
    if server and wanted is not False:
        reason = "placed on a Redis server (odoo_platform_redis_server)"
        if replicas > 1:
            reason += f"; required: {replicas} web replicas must share sessions"
        return {
            "enabled": True,
            "reason": reason,
            "server": server,
            "user": f"odoo_{identifier(name)}",
            "key_prefix": f"session:{name}:",
        }
    if replicas > 1:
        raise InputError(
            "odoo_platform_redis_server",
            server,
            f"{replicas} web replicas need shared sessions",
            "a host of redis_servers, since sessions kept on each replica's disk are lost between replicas",
        )
    reason = "disabled by odoo_platform_redis_enabled: false" if server else "one replica: sessions on its volume"
    return {"enabled": False, "reason": reason, "server": None, "user": None, "key_prefix": None}


def _strictest(tiers: Sequence[str]) -> str:
    return min(tiers, key=TIER_ORDER.index) if tiers else "standard"


def _memory_cap(memory: int, cpus: Any, workload: str) -> tuple[int, str]:
    """Largest max_connections for which PGTune's work_mem stays >= 4MB, and its formula."""
    probe = pg_tune({"memory": memory, "cpus": cpus, "workload": workload, "max_connections": 1})
    mem_kb = Fraction(memory, _KB)
    shared_kb = _pg_kb(probe.settings["shared_buffers"])
    workers = int(probe.settings.get("max_worker_processes", 8))
    divisor = {"dw": 2, "mixed": 2, "desktop": 6}.get(workload, 1)
    cap = math.floor((mem_kb - shared_kb) / (3 * _WORK_MEM_FLOOR_KB * divisor)) - workers
    formula = (
        f"floor(({float(mem_kb):.0f} kB - shared_buffers {shared_kb} kB) / (3 * 4096 kB"
        f"{' * ' + str(divisor) if divisor != 1 else ''})) - {workers} worker processes = {cap}"
        " (beyond it PGTune's work_mem would fall under its 4MB floor)"
    )
    return cap, formula


def _pg_kb(value: str) -> int:
    return parse_size("setting", value).bytes // _KB


def _refuse_peaks_over_capacity(envs: list[dict[str, Any]], ceiling: int, reserved: int, demand: int) -> None:
    """A server with peak windows must carry every pool at its peak as planned (never by lowering db_maxconn)."""
    peaked = [env["environment"] for env in envs if env["peak_windows"]]
    if demand + reserved <= ceiling or not peaked:
        return
    raise InputError(
        "odoo_platform_peak_windows",
        ", ".join(peaked),
        f"at the peaks the server's connection demand {demand} + reserved {reserved} is more than {ceiling}",
        "lower the peak targets, or give the database server more memory (odoo_platform_pg_memory)",
    )


def _slow_query_log(envs: list[dict[str, Any]]) -> tuple[str, str]:
    """Slow queries logged at the strictest tenant's threshold (tier policy log_min_duration_statement_ms; -1 off)."""
    slow = sorted(int(env["policy"]["settings"]["log_min_duration_statement_ms"]) for env in envs)
    slow_on = [ms for ms in slow if ms >= 0]
    value = f"{slow_on[0]}ms" if slow_on else "-1"
    policies = ", ".join(map(str, slow))
    return value, f"{value}: the smallest log_min_duration_statement_ms of the tenants' tier policies ({policies})"


def _tune_server(
    tune_inputs: Mapping[str, Any], max_connections: int, envs: list[dict[str, Any]]
) -> tuple[Any, dict[str, Any], dict[str, str]]:
    """PGTune at the chosen max_connections, work_mem bounded, slow-query logging from the tier policies."""
    tune = pg_tune(dict(tune_inputs, max_connections=max_connections))
    settings = dict(tune.settings)
    tune_explain = dict(tune.explain)
    settings["log_min_duration_statement"], tune_explain["log_min_duration_statement"] = _slow_query_log(envs)
    if max_connections < WORK_MEM_REFERENCE_CONNECTIONS:
        reference = pg_tune(dict(tune_inputs, max_connections=WORK_MEM_REFERENCE_CONNECTIONS))
        own, bound = _pg_kb(settings["work_mem"]), _pg_kb(reference.settings["work_mem"])
        if own > bound:
            settings["work_mem"] = format_pg_kb(bound)
            tune_explain["work_mem"] = (
                f"PGTune at {max_connections} connections gives {format_pg_kb(own)}; bounded to its value at "
                f"{WORK_MEM_REFERENCE_CONNECTIONS} connections, {format_pg_kb(bound)}: larger sorts squeeze the "
                "page cache (measured: a 2 GiB container, 40 connections, 10.9MB gave about 15 % less throughput "
                "than 4.8MB on an Odoo-like mix)"
            )
    return tune, settings, tune_explain


def _plan_server(name: str, server: Mapping[str, Any], envs: list[dict[str, Any]]) -> dict[str, Any]:
    tune_inputs: dict[str, Any] = {
        key: server.get(variable)
        for key, variable in _SERVER_INPUT_VARIABLES.items()
        if server.get(variable) is not None and key != "max_connections"
    }
    tune_inputs.setdefault("pg_version", DEFAULT_POSTGRES_VERSION)
    workload = tune_inputs.get("workload", "web")
    memory = parse_size("memory", tune_inputs.get("memory")).bytes
    reserved = int(server.get("odoo_platform_pg_reserved_connections", DEFAULT_RESERVED))
    fixed = server.get("odoo_platform_pg_max_connections")
    cap, cap_formula = _memory_cap(memory, tune_inputs.get("cpus"), workload)
    explain: dict[str, str] = {"memory_cap": cap_formula}
    warnings: list[str] = []

    instances = [dict(i) for env in envs for i in env["instances"]]
    budget = connection_budget(
        {"max_connections": max(cap, reserved + 1), "reserved": reserved, "instances": instances}
    )
    demand = budget.settings["demand"]
    processes = budget.settings["total_processes"]
    _refuse_peaks_over_capacity(envs, fixed if fixed is not None else cap, reserved, demand)
    if fixed is not None:
        max_connections = int(fixed)
        explain["max_connections"] = f"fixed by odoo_platform_pg_max_connections = {max_connections}"
    elif demand + reserved <= cap:
        max_connections = demand + reserved
        explain["max_connections"] = f"demand {demand} + reserved {reserved} = {max_connections} (<= memory cap {cap})"
    else:
        max_connections = cap
        explain["max_connections"] = (
            f"demand {demand} + reserved {reserved} = {demand + reserved} > memory cap {cap}: capped at {cap}"
        )
    db_maxconn = max(1, (max_connections - reserved) // processes) if processes else 0
    lowered = [i for i in instances if i["db_maxconn"] > db_maxconn]
    if lowered:
        explain["db_maxconn"] = (
            f"demand does not fit: db_maxconn lowered to floor((max_connections {max_connections} - reserved "
            f"{reserved}) / {processes} processes) = {db_maxconn} for {', '.join(sorted(i['name'] for i in lowered))}"
        )
        for item in instances:
            item["db_maxconn"] = min(item["db_maxconn"], db_maxconn)
        if db_maxconn < LOW_DB_MAXCONN:
            warnings.append(
                f"{name}: db_maxconn {db_maxconn} is below {LOW_DB_MAXCONN}: cron jobs and reports will wait for "
                "connections; give the server more memory, fewer environments, or a pooler (docs/plan.md)"
            )
        if fixed is None:
            lowered_demand = connection_budget(
                {"max_connections": max_connections, "reserved": reserved, "instances": instances}
            ).settings["demand"]
            max_connections = min(max_connections, lowered_demand + reserved)
            explain["max_connections"] += f"; after lowering db_maxconn: demand {lowered_demand} + reserved {reserved}"
            explain["max_connections"] += f" = {max_connections}"
    budget = connection_budget({"max_connections": max_connections, "reserved": reserved, "instances": instances})
    if not budget.settings["fits"]:
        warnings.append(
            f"{name}: connection demand {budget.settings['demand']} exceeds capacity "
            f"{budget.settings['capacity']} (max_connections {max_connections} - reserved {reserved})"
        )
    tune, settings, tune_explain = _tune_server(tune_inputs, max_connections, envs)
    tiers = [env["tier"] for env in envs]
    strictest = _strictest(tiers)
    policy = next(env["policy"]["settings"] for env in envs if env["tier"] == strictest)
    return {
        "server": name,
        "tenants": [env["environment"] for env in envs],
        "tier": strictest,
        "tier_reason": f"strictest tier among its tenants ({', '.join(sorted(set(tiers)))})",
        "backup_mode": policy["backup_mode"],
        "standby": policy["standby"],
        "maintenance_window": policy["maintenance_window"],
        "pg_version": int(tune_inputs["pg_version"]),
        "client_networks": [str(n) for n in server.get("odoo_platform_pg_client_networks") or []],
        "tenant_roles": [],
        "memory": memory,
        "reserved_connections": reserved,
        "memory_cap_connections": cap,
        "db_maxconn": {i["name"]: i["db_maxconn"] for i in instances},
        "budget": _explained(budget),
        "settings": settings,
        "explain": dict(tune_explain, **explain),
        "warnings": warnings + list(tune.warnings) + list(budget.warnings),
    }


def _plan_redis(name: str, server: Mapping[str, Any], envs: list[dict[str, Any]]) -> dict[str, Any]:
    users = max(int(env.get("concurrent_users") or DEFAULT_USERS) for env in envs)
    # One sessions instance serves every tenant placed on it: the strictest tier's persistence wins.
    modes = {env["policy"]["settings"]["redis_persistence"] for env in envs}
    persistence = next((mode for mode in ("aof", "rdb") if mode in modes), "none")
    inputs: dict[str, Any] = {"users_per_tenant": users, "tenants": len(envs), "sessions_persistence": persistence}
    if server.get("odoo_platform_redis_cache_memory") is not None:
        inputs["cache_maxmemory"] = server["odoo_platform_redis_cache_memory"]
    sizing = redis_sizing(inputs)
    return {
        "server": name,
        "tenants": [env["environment"] for env in envs],
        "key_prefixes": {env["environment"]: env["redis"]["key_prefix"] for env in envs},
        "users": {env["environment"]: env["redis"]["user"] for env in envs},
        # The redis role's redis_tenants without the passwords (site.yml joins them in from the vault).
        "tenant_users": [
            {"environment": env["environment"], "user": env["redis"]["user"], "key_prefix": env["redis"]["key_prefix"]}
            for env in envs
        ],
        **_explained(sizing),
    }


def build_plan(hosts: Mapping[str, Mapping[str, Any]], groups: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Plan every environment and server of the estate; raise PlanError listing every problem."""
    findings: list[Finding] = []
    envs: dict[str, dict[str, Any]] = {}
    for name in environment_names(groups):
        try:
            envs[name] = _plan_environment(name, hosts.get(name, {}), groups)
        except InputError as err:
            findings.append(_finding(name, err, _ENV_INPUT_VARIABLES, "odoo_platform"))
    servers: dict[str, dict[str, Any]] = {}
    for server in sorted({e["postgres_server"] for e in envs.values() if e["postgres_server"]}):
        placed = [e for e in envs.values() if e["postgres_server"] == server]
        try:
            servers[server] = _plan_server(server, hosts.get(server, {}), placed)
        except InputError as err:
            findings.append(_finding(server, err, _SERVER_INPUT_VARIABLES, "odoo_platform_pg"))
    if findings:
        raise PlanError(findings)
    _apply_budget(envs, servers)
    _plan_standbys(hosts, groups, servers, findings)
    if findings:
        raise PlanError(findings)
    redis = {
        server: _plan_redis(server, hosts.get(server, {}), [e for e in envs.values() if e["redis"]["server"] == server])
        for server in sorted({e["redis"]["server"] for e in envs.values() if e["redis"]["enabled"]})
    }
    plan: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "tiers": list(TIERS),
        "environments": {name: _public(env) for name, env in sorted(envs.items())},
        "postgres_servers": servers,
        "redis_servers": redis,
        "warnings": sorted({w for s in servers.values() for w in s["warnings"]}),
    }
    plan["hash"] = plan_hash(plan)
    return plan


def _plan_standbys(
    hosts: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, Sequence[str]],
    servers: dict[str, dict[str, Any]],
    findings: list[Finding],
) -> None:
    """Streaming standbys (``odoo_platform_pg_standby_of``) and the tier policy's demand for them.

    A standby runs its primary's settings: every max_* it shares (max_connections,
    max_worker_processes, max_wal_senders, max_prepared_transactions, max_locks_per_transaction)
    must be >= the primary's or the standby refuses to start (PostgreSQL docs, "Hot Standby",
    "Administrator's Overview"). Its tenants' roles and pg_hba rules are the primary's, ready for
    a promotion.
    """
    primaries = dict(servers.items())
    for name in groups.get("postgres_servers", ()):
        primary = (hosts.get(name) or {}).get("odoo_platform_pg_standby_of")
        if primary in (None, ""):
            continue
        if primary not in primaries:
            choices = ", ".join(sorted(primaries)) or "none: no PostgreSQL server has tenants"
            findings.append(
                Finding(
                    name,
                    "odoo_platform_pg_standby_of",
                    f"names {primary!r}, which is not a PostgreSQL server with tenants",
                    f"set it to one of {choices}",
                )
            )
            continue
        source = primaries[primary]
        kind = source["standby"] if source["standby"] in ("hot", "warm") else "hot"
        settings = dict(source["settings"])
        explain = dict(source["explain"])
        if kind == "warm":
            settings["hot_standby"] = "off"  # warm: replays WAL, accepts no queries until promoted
            explain["hot_standby"] = f"tier {source['tier']} wants a warm standby: it replays WAL and serves no queries"
        servers[name] = dict(
            source,
            server=name,
            role="standby",
            standby_of=primary,
            standby_kind=kind,
            standbys=[],
            settings=settings,
            explain=explain,
            tenant_roles=[dict(t) for t in source["tenant_roles"]],
            warnings=[],
        )
        source.setdefault("standbys", []).append(name)
    for name, server in primaries.items():
        server.setdefault("role", "primary")
        server.setdefault("standbys", [])
        if server["standby"] in ("hot", "warm") and not server["standbys"]:
            server["warnings"].append(
                f"{name}: tier {server['tier']} wants a {server['standby']} standby and none streams from it: add a "
                f"host to postgres_servers with odoo_platform_pg_standby_of: {name}"
            )


def _apply_budget(envs: dict[str, dict[str, Any]], servers: Mapping[str, dict[str, Any]]) -> None:
    """Give each environment the db_maxconn its server's budget chose, and resize it with that."""
    for env in envs.values():
        server = servers[env["postgres_server"]]
        chosen = server["db_maxconn"][f"{env['environment']}/web"]
        if chosen != env["web"]["settings"]["db_maxconn"]:
            resized = odoo_sizing(dict(env["_sizing_inputs"], db_maxconn=chosen))
            env["web"] = _explained(resized)
            env["web"]["explain"]["db_maxconn"] = f"{server['explain']['db_maxconn']} (server {server['server']})"
        for instance in env["instances"]:
            instance["db_maxconn"] = server["db_maxconn"][instance["name"]]
        for pool_name, pool in env["pools"].items():
            chosen = server["db_maxconn"][f"{env['environment']}/{pool_name}"]
            if chosen != pool["settings"]["db_maxconn"]:
                pool["settings"] = dict(pool["settings"], db_maxconn=chosen)
                pool["explain"]["db_maxconn"] = f"{server['explain']['db_maxconn']} (server {server['server']})"
        per_instance = server["budget"]["settings"]["per_instance"]
        demands = {i["name"]: per_instance[i["name"]]["demand"] for i in env["instances"]}
        env["connection_limit"] = sum(demands.values())
        env["connection_limit_explain"] = (
            " + ".join(f"{name} {demand}" for name, demand in demands.items())
            + " (replicas at maximum + surge) * processes * db_maxconn: the role's CONNECTION LIMIT"
        )
        server["tenant_roles"].append(
            {
                "environment": env["environment"],
                "database": env["database"],
                "role": env["db_role"],
                "connection_limit": env["connection_limit"],
                # Odoo processes of the environment at their peak (PgBouncer's transaction pools are sized from it).
                "processes": sum(per_instance[i["name"]]["processes"] for i in env["instances"]),
                "networks": server["client_networks"],
            }
        )


def _public(env: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in env.items() if not k.startswith("_")}


def plan_hash(plan: Mapping[str, Any]) -> str:
    """sha256 of the plan's canonical JSON (without its own hash)."""
    body = {k: v for k, v in plan.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
