# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Odoo server options (workers, limits, ports) from CPUs, memory, version and users.

Pure Python, no Ansible imports (Python 3.8+).

Sources:
- Odoo deployment docs, "Builtin server > Worker number calculation" (2 x CPU + 1, 1 worker per
  ~6 concurrent users), "memory size calculation" (light 150 MB, heavy 1 GB, 20 % heavy; the docs
  compute with 1 GB = 1024 MB) and the configuration sample "4 CPU, 8 threads, 60 concurrent
  users": workers 8, max_cron_threads 1, limit_memory_soft 629145600, limit_memory_hard
  1677721600, limit_time_cpu 600, limit_time_real 1200, limit_request 8192.
- Odoo ``odoo/tools/config.py``: ``limit_time_real_cron`` is present in every series from 12.0
  (it already is in the 10/11-era file); ``gevent_port`` replaces ``longpolling_port`` from 16.0;
  ``db_maxconn_gevent`` is present in a 17.x config.py read for this; ``limit_memory_soft_gevent``
  and ``limit_memory_hard_gevent`` first appear in 18.0 (corroborated by two independent
  option tables; the 18.0 branch file itself was not read).
- Odoo ``service/server.py``: the limits apply per worker process; the hard limit is RLIMIT_AS.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Mapping

from .plan_result import InputError, Result, check_keys, read_int
from .units import GIB, MIB, format_bytes, format_k8s_bytes, format_k8s_cpu, parse_cpu, parse_size

KEYS = (
    "cpus",
    "memory",
    "odoo_version",
    "concurrent_users",
    "replicas",
    "max_cron_threads",
    "db_maxconn",
    "db_maxconn_gevent",
    "light_worker_memory",
    "heavy_worker_memory",
    "heavy_worker_percent",
    "limit_time_cpu",
    "limit_time_real",
    "limit_time_real_cron",
    "limit_request",
    "gevent_port",
)
ODOO_VERSIONS = (12, 13, 14, 15, 16, 17, 18, 19)
VERSION_ACCEPTED = "an Odoo series 12.0 to 19.0 ('17.0' or 17); deployments use 16.0-19.0"

# The docs' configuration sample, used unless the per-worker memory budget is smaller.
DOCS_SOFT = 600 * MIB
DOCS_HARD = 1600 * MIB
USERS_PER_WORKER = 6


def odoo_sizing(inputs: Mapping[str, Any]) -> Result:
    """Compute workers, limits and resources for one Odoo instance (one replica)."""
    check_keys(inputs, "odoo_sizing", KEYS, required=("cpus", "memory", "odoo_version"))
    result = Result()
    p = _read_inputs(inputs, result)
    per_process = _per_process_estimate(p, result)
    workers = _workers(p, per_process, result, inputs)
    cron = p["max_cron_threads"]
    processes = workers + cron + 1
    result.set("max_cron_threads", cron, f"input/default {cron} (0 when cron runs in its own deployment)")
    soft, hard = _memory_limits(p["memory"], processes, result)
    result.set("limit_time_cpu", p["limit_time_cpu"], "Odoo docs sample: 600 s (input overrides)")
    result.set("limit_time_real", p["limit_time_real"], "Odoo docs sample: 1200 s (input overrides)")
    result.set("limit_time_real_cron", p["limit_time_real_cron"], "explicit; Odoo's -1 means limit_time_real")
    result.set("limit_request", p["limit_request"], "Odoo docs sample: 8192 requests per worker")
    result.set("db_maxconn", p["db_maxconn"], "connections per Odoo process (Odoo default 64); see connection_budget")
    _version_options(p, soft, hard, result)
    result.set("processes", processes, f"workers {workers} + max_cron_threads {cron} + 1 gevent = {processes}")
    estimated = processes * per_process
    result.set(
        "estimated_ram",
        estimated,
        f"{processes} processes * {per_process} bytes = {estimated} bytes ({estimated / MIB:.1f} MiB)",
    )
    result.set("replicas", p["replicas"], "input (sizing is per replica)")
    _resources(p, estimated, result)
    return result


def _read_inputs(inputs: Mapping[str, Any], result: Result) -> dict[str, Any]:
    memory = parse_size("memory", inputs["memory"])
    if memory.note:
        result.note("memory", memory.note)
    p: dict[str, Any] = {
        "cpus": parse_cpu("cpus", inputs["cpus"]),
        "memory": memory.bytes,
        "odoo_version": _read_version(inputs["odoo_version"]),
        "concurrent_users": read_int(inputs, "concurrent_users", None, minimum=1),
        "replicas": read_int(inputs, "replicas", 1, minimum=1),
        "max_cron_threads": read_int(inputs, "max_cron_threads", 1, minimum=0),
        "db_maxconn": read_int(inputs, "db_maxconn", 64, minimum=1),
        "light_worker_memory": _size(inputs, "light_worker_memory", 150 * MIB),
        "heavy_worker_memory": _size(inputs, "heavy_worker_memory", GIB),
        "heavy_worker_percent": read_int(inputs, "heavy_worker_percent", 20, minimum=0, maximum=100),
        "limit_time_cpu": read_int(inputs, "limit_time_cpu", 600, minimum=1),
        "limit_time_real": read_int(inputs, "limit_time_real", 1200, minimum=1),
        "limit_request": read_int(inputs, "limit_request", 8192, minimum=1),
        "gevent_port": read_int(inputs, "gevent_port", 8072, minimum=1, maximum=65535),
    }
    p["db_maxconn_gevent"] = read_int(inputs, "db_maxconn_gevent", p["db_maxconn"], minimum=1)
    p["limit_time_real_cron"] = read_int(inputs, "limit_time_real_cron", p["limit_time_real"], minimum=0)
    result.inputs = {k: (format_k8s_cpu(v) if k == "cpus" else v) for k, v in p.items()}
    return p


def _size(inputs: Mapping[str, Any], key: str, default: int) -> int:
    if inputs.get(key) is None:
        return default
    return parse_size(key, inputs[key]).bytes


def _read_version(value: Any) -> int:
    match = re.match(r"^(\d+)(\.0)?$", str(value).strip()) if not isinstance(value, bool) else None
    if not match or int(match.group(1)) not in ODOO_VERSIONS:
        raise InputError("odoo_version", value, "unknown Odoo series", VERSION_ACCEPTED)
    return int(match.group(1))


def _per_process_estimate(p: Mapping[str, Any], result: Result) -> int:
    heavy = Fraction(p["heavy_worker_percent"], 100)
    value = math.ceil((1 - heavy) * p["light_worker_memory"] + heavy * p["heavy_worker_memory"])
    result.note(
        "per_process_estimate",
        f"Odoo docs: {float(1 - heavy):g} * {format_bytes(p['light_worker_memory'])} + {float(heavy):g} * "
        f"{format_bytes(p['heavy_worker_memory'])} = {value} bytes ({value / MIB:.1f} MiB)",
    )
    return value


def _workers(p: Mapping[str, Any], per_process: int, result: Result, raw: Mapping[str, Any]) -> int:
    cron = p["max_cron_threads"]
    slots = math.floor(2 * p["cpus"] + 1)
    cpu_text = f"2 * {format_k8s_cpu(p['cpus'])} CPU + 1 = {slots}, minus {cron} cron = {slots - cron}"
    caps = {"cpus": (slots - cron, cpu_text)}
    fit = p["memory"] // per_process - cron - 1
    caps["memory"] = (fit, f"floor({p['memory']} / {per_process}) - {cron} cron - 1 gevent = {fit}")
    if p["concurrent_users"]:
        users = math.ceil(p["concurrent_users"] / USERS_PER_WORKER)
        caps["concurrent_users"] = (users, f"ceil({p['concurrent_users']} users / 6) = {users}")
    binding = min(caps, key=lambda k: caps[k][0])
    workers = caps[binding][0]
    if workers < 1:
        raise InputError(
            binding,
            raw[binding],
            f"leaves no room for one worker ({caps[binding][1]})",
            "more memory or CPUs, fewer max_cron_threads, or smaller worker memory estimates",
        )
    detail = "; ".join(f"{k}: {v[1]}" for k, v in caps.items())
    result.set("workers", workers, f"min of caps -> {workers}, bound by {binding} ({detail})")
    return workers


def _floor_mib(value: Fraction | int) -> int:
    return math.floor(Fraction(value) / MIB) * MIB


def _memory_limits(memory: int, processes: int, result: Result) -> tuple[int, int]:
    # A quarter of each process's share stays free so one worker can grow towards the hard
    # limit before the soft limit recycles it; the docs' sample (600 MiB) applies when it fits.
    share = Fraction(memory, processes)
    soft = min(DOCS_SOFT, _floor_mib(share * 3 / 4))
    soft_rule = (
        f"min(docs 600 MiB, 3/4 of the per-process share {memory} / {processes}"
        f" = {format_bytes(_floor_mib(share * 3 / 4))})"
    )
    room = memory - (processes - 1) * soft
    hard = min(DOCS_HARD, _floor_mib(Fraction(soft * 8, 3)), _floor_mib(room))
    hard_rule = (
        f"min(docs 1600 MiB, soft * 8/3, memory - {processes - 1} other processes at soft"
        f" = {format_bytes(_floor_mib(room))})"
    )
    if soft < MIB or hard <= soft:
        raise InputError(
            "memory",
            memory,
            f"too small for {processes} processes (soft {soft} bytes, hard {hard} bytes: hard must exceed soft)",
            "more memory, or fewer workers via concurrent_users/cpus",
        )
    result.set("limit_memory_soft", soft, f"{soft_rule} = {soft} bytes (per worker)")
    result.set("limit_memory_hard", hard, f"{hard_rule} = {hard} bytes (per worker, < memory {memory})")
    return soft, hard


def _version_options(p: Mapping[str, Any], soft: int, hard: int, result: Result) -> None:
    version = p["odoo_version"]
    if version >= 17:
        result.set("db_maxconn_gevent", p["db_maxconn_gevent"], "Odoo >= 17 option; default db_maxconn")
    if version >= 18:
        result.set("limit_memory_soft_gevent", soft, "Odoo >= 18 option; same as limit_memory_soft")
        result.set("limit_memory_hard_gevent", hard, "Odoo >= 18 option; same as limit_memory_hard")
    if version >= 16:
        result.set("gevent_port", p["gevent_port"], "Odoo >= 16 serves /websocket on gevent_port")
    else:
        result.set("longpolling_port", p["gevent_port"], "Odoo <= 15 serves /longpolling/ on longpolling_port")


def _resources(p: Mapping[str, Any], estimated: int, result: Result) -> None:
    request_memory = math.ceil(estimated / MIB) * MIB
    resources = {
        "requests": {"cpu": format_k8s_cpu(p["cpus"]), "memory": format_k8s_bytes(request_memory)},
        "limits": {"memory": format_k8s_bytes(p["memory"])},
    }
    result.set(
        "resources",
        resources,
        "requests: cpus and estimated_ram rounded up to Mi; limits: memory only (the container limit given; "
        "no CPU limit, because CFS throttling stalls requests that a CPU request already shares fairly)",
    )
