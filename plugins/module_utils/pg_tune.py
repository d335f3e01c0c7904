# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL settings by PGTune's formulas (Linux), with every number explained.

Pure Python, no Ansible imports (Python 3.8+).

Source: le0pard/pgtune ``src/features/configuration/configurationSlice.js``, the newest version
held by the reference index (the one that reads ``dbSize``; the index did not expose its
commit id — the previous stored version is 01bb6447113831159c5f14fafe11f59cf2ba0964, whose
formulas are the same except ``db_size``). Output order and unit formatting follow
``src/common/components/configurationView/index.jsx`` at 421728c2f26fae14285f9805d31198b98925d697
(``formatValue``: GB when divisible, else MB, else kB; null settings are left out).

Differences from the web form, all deliberate: memory may be any whole number of bytes (PGTune
takes whole MB/GB; we keep its arithmetic exact on kB, flooring where it floors); ``cpus`` may be
fractional and is floored as PGTune's ``parseInt`` does; the default ``pg_version`` is 15 (the
issue's choice), not PGTune's 18. Warnings add a worst-case memory check and a container note
for ``io_method = io_uring``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

from .plan_result import InputError, Result, check_keys, read_bool, read_choice, read_int
from .units import GIB, MIB, format_bytes, format_pg_kb, parse_cpu, parse_size

WORKLOADS = ("web", "oltp", "dw", "desktop", "mixed")
STORAGES = ("ssd", "hdd", "san", "nvme")
DB_SIZES = ("less_ram", "mid_ram", "greater_ram")
PG_VERSIONS = (10, 11, 12, 13, 14, 15, 16, 17, 18)
KEYS = ("memory", "cpus", "max_connections", "workload", "storage", "pg_version", "db_size", "container")

_KB_PER_MB = 1024
_KB_PER_GB = 1024 * 1024
# PGTune's tables, keyed by workload.
_DEFAULT_CONNECTIONS = {"web": 200, "oltp": 300, "dw": 40, "desktop": 20, "mixed": 100}
_MIN_WAL_MB = {"web": 1024, "oltp": 2048, "dw": 4096, "desktop": 100, "mixed": 1024}
_MAX_WAL_MB = {"web": 4096, "oltp": 8192, "dw": 16384, "desktop": 2048, "mixed": 4096}
_IO_CONCURRENCY = {"hdd": 2, "ssd": 200, "san": 300, "nvme": 1000}
_WORK_MEM_DIVISOR = {"web": 1, "oltp": 1, "dw": 2, "desktop": 6, "mixed": 2}
# PostgreSQL's default autovacuum_max_workers, used by the worst-case check when PGTune omits it.
_PG_DEFAULT_AUTOVACUUM_WORKERS = 3


def pg_tune(inputs: Mapping[str, Any]) -> Result:
    """Compute PGTune's settings for ``inputs`` (see module docstring and docs/tuning.md)."""
    check_keys(inputs, "pg_tune", KEYS, required=("memory",))
    result = Result()
    p = _read_inputs(inputs, result)
    mem_kb = Fraction(p["memory"], 1024)
    workload = p["workload"]
    max_conn = p["max_connections"]

    given = inputs.get("max_connections") is not None
    why = f"input max_connections = {max_conn}" if given else f"PGTune default for {workload} = {max_conn}"
    result.set("max_connections", max_conn, why)
    shared = _shared_buffers(result, mem_kb, workload)
    _effective_cache_size(result, mem_kb, workload)
    maintenance = _maintenance_work_mem(result, mem_kb, workload)
    result.set("checkpoint_completion_target", 0.9, "PGTune constant 0.9 (PostgreSQL commit bbcc4eb2)")
    _wal_buffers(result, shared)
    result.set(
        "default_statistics_target",
        500 if workload == "dw" else 100,
        f"PGTune: 500 for dw, 100 otherwise (workload {workload})",
    )
    _random_page_cost(result, p["storage"], p["db_size"], workload)
    result.set(
        "effective_io_concurrency",
        _IO_CONCURRENCY[p["storage"]],
        f"PGTune on Linux: hdd 2, ssd 200, san 300, nvme 1000 (storage {p['storage']})",
    )
    parallel = _parallel_settings(p["cpus"], workload, p["pg_version"])
    work_mem = _work_mem(result, mem_kb, shared, parallel, p)
    huge = "try" if shared >= 2 * _KB_PER_GB else "off"
    result.set("huge_pages", huge, f"PGTune: 'try' when shared_buffers >= 2GB, else 'off' ({format_pg_kb(shared)})")
    _version_settings(result, p, maintenance)
    _wal_sizes(result, workload)
    for key, value, formula in parallel:
        result.set(key, value, formula)
    if workload == "desktop":
        result.set("wal_level", "minimal", "PGTune: desktop workload")
        result.set("max_wal_senders", 0, "PGTune: must be 0 when wal_level = minimal")
    _warnings(result, p, shared, work_mem, maintenance)
    return result


def _read_inputs(inputs: Mapping[str, Any], result: Result) -> dict[str, Any]:
    size = parse_size("memory", inputs["memory"])
    if size.bytes == 0:
        raise InputError("memory", inputs["memory"], "must be more than 0", "the memory available to PostgreSQL")
    if size.note:
        result.note("memory", size.note)
    workload = read_choice(inputs, "workload", WORKLOADS, "web")
    cpus = None
    if inputs.get("cpus") is not None:
        exact = parse_cpu("cpus", inputs["cpus"])
        cpus = math.floor(exact)
        if cpus != exact:
            result.note("cpus", f"cpus {inputs['cpus']!r} floored to {cpus}, as PGTune's parseInt does")
        if cpus < 1:
            raise InputError("cpus", inputs["cpus"], "is less than one whole CPU", "a number of CPUs >= 1")
    p = {
        "memory": size.bytes,
        "cpus": cpus,
        "max_connections": read_int(inputs, "max_connections", None, minimum=1) or _DEFAULT_CONNECTIONS[workload],
        "workload": workload,
        "storage": read_choice(inputs, "storage", STORAGES, "ssd"),
        "pg_version": _read_version(inputs),
        "db_size": read_choice(inputs, "db_size", DB_SIZES, "mid_ram"),
        "container": read_bool(inputs, "container", False),
    }
    result.inputs = dict(p)
    return p


def _read_version(inputs: Mapping[str, Any]) -> int:
    value = inputs.get("pg_version")
    if value is None:
        return 15
    accepted = ", ".join(str(v) for v in PG_VERSIONS)
    try:
        version = int(str(value).split(".", maxsplit=1)[0]) if not isinstance(value, bool) else -1
    except ValueError:
        version = -1
    if version not in PG_VERSIONS:
        raise InputError("pg_version", value, "unknown PostgreSQL major version", accepted)
    return version


def _shared_buffers(result: Result, mem_kb: Fraction, workload: str) -> int:
    divisor = 16 if workload == "desktop" else 4
    value = math.floor(mem_kb / divisor)
    result.set("shared_buffers", format_pg_kb(value), f"floor({_kb(mem_kb)} / {divisor}) = {value} kB")
    return value


def _effective_cache_size(result: Result, mem_kb: Fraction, workload: str) -> None:
    if workload == "desktop":
        value, formula = math.floor(mem_kb / 4), f"floor({_kb(mem_kb)} / 4)"
    else:
        value, formula = math.floor(mem_kb * 3 / 4), f"floor({_kb(mem_kb)} * 3 / 4)"
    result.set("effective_cache_size", format_pg_kb(value), f"{formula} = {value} kB")


def _maintenance_work_mem(result: Result, mem_kb: Fraction, workload: str) -> int:
    divisor = 8 if workload == "dw" else 16
    value = math.floor(mem_kb / divisor)
    formula = f"floor({_kb(mem_kb)} / {divisor}) = {value} kB"
    cap = 8 * _KB_PER_GB
    if value >= cap:
        value = cap
        formula += " -> clamped to PGTune's 8GB cap"
    result.set("maintenance_work_mem", format_pg_kb(value), formula)
    return value


def _wal_buffers(result: Result, shared: int) -> None:
    value = math.floor(3 * shared / 100)
    formula = f"floor(3 * {shared} kB / 100) = {value} kB"
    top, near = 16 * _KB_PER_MB, 14 * _KB_PER_MB
    if value > top:
        value, formula = top, formula + " -> clamped to 16MB"
    if near < value < top:
        value, formula = top, formula + " -> rounded up to 16MB (above 14MB)"
    if value < 32:
        value, formula = 32, formula + " -> raised to the 32kB minimum"
    result.set("wal_buffers", format_pg_kb(value), formula)


def _random_page_cost(result: Result, storage: str, db_size: str, workload: str) -> None:
    if db_size == "less_ram":
        value, why = 1.1, "database fits in RAM (db_size less_ram)"
    elif storage == "hdd":
        value, why = 4, "hdd"
    elif workload == "dw":
        value, why = 4, "dw larger than RAM keeps PostgreSQL's default to avoid index-scan plans"
    else:
        value, why = 1.1, f"{storage} storage"
    result.set("random_page_cost", value, f"PGTune: {value} ({why})")


def _parallel_settings(cpus: int | None, workload: str, version: int) -> list[tuple[str, int, str]]:
    if not cpus or cpus < 4:
        return []
    per_gather = math.ceil(cpus / 2)
    gather_formula = f"ceil({cpus} / 2) = {per_gather}"
    if workload != "dw" and per_gather > 4:
        per_gather, gather_formula = 4, gather_formula + " -> clamped to 4 (not dw)"
    settings = [
        ("max_worker_processes", cpus, f"cpus = {cpus} (parallel block from 4 CPUs)"),
        ("max_parallel_workers_per_gather", per_gather, gather_formula),
    ]
    if version >= 10:
        settings.append(("max_parallel_workers", cpus, f"cpus = {cpus}"))
    if version >= 11:
        maint = math.ceil(cpus / 2)
        formula = f"ceil({cpus} / 2) = {maint}"
        if maint > 4:
            maint, formula = 4, formula + " -> clamped to 4"
        settings.append(("max_parallel_maintenance_workers", maint, formula))
    return settings


def _work_mem(result: Result, mem_kb: Fraction, shared: int, parallel: list[tuple[str, int, str]], p: Mapping) -> int:
    max_conn, workload, db_size = p["max_connections"], p["workload"], p["db_size"]
    # PGTune counts max_worker_processes: the CPU count from 4 CPUs, else PostgreSQL's default 8.
    workers = parallel[0][1] if parallel else 8
    raw = (mem_kb - shared) / ((max_conn + workers) * 3)
    divisor = _WORK_MEM_DIVISOR[workload]
    value = math.floor(raw / divisor)
    formula = f"({_kb(mem_kb)} - {shared} kB) / (({max_conn} + {workers}) * 3)"
    formula += f" / {divisor}" if divisor != 1 else ""
    formula += f" = {value} kB"
    # PGTune multiplies by the JavaScript doubles 1.3 and 0.9 and floors; both doubles lie just above
    # the decimal value, so the integer forms *13//10 and *9//10 give the same results.
    if db_size == "less_ram":
        value = value * 13 // 10
        formula += f"; * 1.3 (db_size less_ram) = {value} kB"
    elif db_size == "greater_ram":
        value = value * 9 // 10
        formula += f"; * 0.9 (db_size greater_ram) = {value} kB"
    if value < 4 * _KB_PER_MB:
        value = 4 * _KB_PER_MB
        formula += " -> raised to PGTune's 4MB minimum"
    result.set("work_mem", format_pg_kb(value), formula)
    return value


def _version_settings(result: Result, p: Mapping[str, Any], maintenance: int) -> None:
    version, workload, cpus = p["pg_version"], p["workload"], p["cpus"]
    if version >= 12 and workload in ("web", "oltp", "mixed"):
        result.set("jit", "off", f"PGTune: off for {workload} on PostgreSQL >= 12 (short queries)")
    if version >= 15:
        # Not a warning: Debian's and PGDG's packages, the only ones the collection installs, are built
        # --with-lz4, and a server without it refuses the value at ALTER SYSTEM with a precise error.
        result.set(
            "wal_compression",
            "lz4",
            "PGTune: lz4 on PostgreSQL >= 15 (needs a build --with-lz4, as Debian's and PGDG's packages are)",
        )
    elif version >= 10:
        result.set("wal_compression", "on", "PGTune: on (pglz) on PostgreSQL 10-14")
    if cpus and cpus >= 16:
        workers = 5 if cpus >= 32 else 4
        result.set("autovacuum_max_workers", workers, f"PGTune: 5 from 32 CPUs, 4 from 16 CPUs (cpus {cpus})")
    if maintenance >= 2 * _KB_PER_GB:
        result.set(
            "autovacuum_work_mem",
            "2GB",
            f"PGTune: capped at 2GB because maintenance_work_mem is {format_pg_kb(maintenance)} (>= 2GB)",
        )
    if version >= 18:
        result.set("io_method", "io_uring", "PGTune on Linux, PostgreSQL >= 18: io_uring")
        if cpus:
            io_workers = min(32, max(3, cpus // 4))
            if io_workers > 3:
                result.set("io_workers", io_workers, f"min(32, max(3, floor({cpus} / 4))) = {io_workers}")


def _wal_sizes(result: Result, workload: str) -> None:
    result.set("min_wal_size", format_pg_kb(_MIN_WAL_MB[workload] * 1024), f"PGTune table for {workload}")
    result.set("max_wal_size", format_pg_kb(_MAX_WAL_MB[workload] * 1024), f"PGTune table for {workload}")


def _warnings(result: Result, p: Mapping[str, Any], shared: int, work_mem: int, maintenance: int) -> None:
    memory = p["memory"]
    if memory < 256 * MIB:
        result.warn("PGTune: the formulas are not optimal for low-memory systems (< 256MB)")
    elif memory > 100 * GIB:
        result.warn("PGTune: the formulas are not optimal for very high memory systems (> 100GB)")
    if result.settings.get("io_method") == "io_uring":
        result.warn("io_method = io_uring requires PostgreSQL built with --with-liburing")
        if p["container"]:
            result.warn(
                "io_method = io_uring in a container: the default seccomp profiles of Docker and containerd "
                "often block io_uring; set io_method = worker unless the profile allows it"
            )
    if p["workload"] == "dw" and p["storage"] != "hdd" and p["db_size"] != "less_ram":
        result.warn("PGTune: cost parameters for a data warehouse are left at defaults; watch the planner")
    _worst_case(result, memory, shared, work_mem, maintenance)


def _worst_case(result: Result, memory: int, shared: int, work_mem: int, maintenance: int) -> None:
    max_conn = result.settings["max_connections"]
    workers = result.settings.get("autovacuum_max_workers", _PG_DEFAULT_AUTOVACUUM_WORKERS)
    per_vacuum = 2 * _KB_PER_GB if "autovacuum_work_mem" in result.settings else maintenance
    total_kb = shared + Fraction(max_conn * work_mem * 3, 2) + workers * per_vacuum
    total = math.ceil(total_kb * 1024)
    result.note(
        "worst_case_memory",
        f"shared_buffers {shared} kB + {max_conn} * work_mem {work_mem} kB * 1.5 + {workers} autovacuum workers"
        f" * {per_vacuum} kB = {math.ceil(total_kb)} kB ({format_bytes(total)} of {format_bytes(memory)})",
    )
    if total > memory:
        result.warn(
            f"worst-case memory {math.ceil(total_kb)} kB (shared_buffers + max_connections * work_mem * 1.5 + "
            f"autovacuum workers * maintenance memory) exceeds the {memory // 1024} kB given: lower "
            "max_connections (use a pooler) or give PostgreSQL more memory"
        )


def _kb(mem_kb: Fraction) -> str:
    return f"{mem_kb.numerator} kB" if mem_kb.denominator == 1 else f"{float(mem_kb):.2f} kB"
