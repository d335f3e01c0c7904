# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL connection budget of every Odoo instance on one server.

Pure Python, no Ansible imports (Python 3.8+).

Sources: Odoo ``config.py`` (``db_maxconn``, default 64, is per Odoo process; ``max_cron_threads``
default 2); the Odoo maintainers' rule (1 + workers + max_cron_threads) x db_maxconn <
max_connections; FIELD_CASES F02. Replication connections are not counted: since PostgreSQL 12
they count against ``max_wal_senders``, not ``max_connections``.
"""

from __future__ import annotations

from typing import Any, Mapping

from .plan_result import InputError, Result, check_keys, read_int

KEYS = ("max_connections", "reserved", "instances")
INSTANCE_KEYS = ("name", "workers", "max_cron_threads", "db_maxconn", "replicas", "surge")
LOW_DB_MAXCONN = 4


def connection_budget(inputs: Mapping[str, Any]) -> Result:
    """Sum the worst-case connections of every instance against ``max_connections - reserved``."""
    check_keys(inputs, "connection_budget", KEYS, required=("max_connections", "instances"))
    result = Result()
    max_connections = _int(inputs, "", "max_connections", None, minimum=1)
    reserved = _int(inputs, "", "reserved", 3)
    instances = _read_instances(inputs["instances"])
    result.inputs = {"max_connections": max_connections, "reserved": reserved, "instances": instances}

    capacity = max_connections - reserved
    result.set("capacity", capacity, f"max_connections {max_connections} - reserved {reserved} = {capacity}")
    per_instance, demand, processes = _per_instance(instances, result)
    result.set("per_instance", per_instance, "per instance: copies (replicas + surge) * processes * db_maxconn")
    terms = " + ".join(str(i["demand"]) for i in per_instance.values())
    result.set("demand", demand, f"{terms} = {demand}")
    result.set("total_processes", processes, "sum over instances of (replicas + surge) * processes")
    fits = demand <= capacity
    result.set("fits", fits, f"demand {demand} {'<=' if fits else '>'} capacity {capacity}")
    suggested = capacity // processes if processes else capacity
    result.set(
        "suggested_db_maxconn",
        suggested,
        f"floor(capacity {capacity} / total processes {processes}) = {suggested}",
    )
    result.set("headroom", capacity - demand, f"capacity {capacity} - demand {demand}")
    _warnings(result, fits, suggested, demand, capacity)
    return result


def _read_instances(value: Any) -> list[dict[str, Any]]:
    accepted = "a non-empty list of dicts with keys " + ", ".join(INSTANCE_KEYS)
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError("instances", value, "must be a non-empty list", accepted)
    names = set()
    instances = []
    for index, item in enumerate(value):
        key = f"instances[{index}]"
        check_keys(item, key, INSTANCE_KEYS, required=("name", "workers"))
        name = str(item["name"])
        if name in names:
            raise InputError(f"{key}.name", name, "is used twice", "a unique name per instance")
        names.add(name)
        instances.append(
            {
                "name": name,
                "workers": _int(item, key, "workers", None),
                # Odoo's own default when the option is not set.
                "max_cron_threads": _int(item, key, "max_cron_threads", 2),
                "db_maxconn": _int(item, key, "db_maxconn", 64, minimum=1),
                "replicas": _int(item, key, "replicas", 1, minimum=1),
                "surge": _int(item, key, "surge", 0),
            }
        )
    return instances


def _int(item: Mapping[str, Any], prefix: str, key: str, default: int | None, minimum: int = 0) -> int:
    try:
        value = read_int(item, key, default, minimum=minimum)
    except InputError as err:
        raise InputError(f"{prefix}.{key}" if prefix else key, err.value, err.reason, err.accepted) from None
    if value is None:  # required keys were checked by check_keys; kept for type checkers
        raise InputError(f"{prefix}.{key}" if prefix else key, None, "is required", "a whole number")
    return value


def _per_instance(instances: list[dict[str, Any]], result: Result) -> tuple[dict[str, Any], int, int]:
    per_instance: dict[str, Any] = {}
    demand = processes = 0
    for inst in instances:
        copies = inst["replicas"] + inst["surge"]
        if inst["workers"] == 0:
            # Threaded mode: one process, one pool shared by HTTP and cron threads.
            procs, how = 1, "workers 0 (threaded mode: one process)"
        else:
            procs = inst["workers"] + inst["max_cron_threads"] + 1
            how = f"workers {inst['workers']} + cron {inst['max_cron_threads']} + 1 gevent"
        value = copies * procs * inst["db_maxconn"]
        per_instance[inst["name"]] = {"processes": copies * procs, "demand": value}
        result.note(
            f"per_instance.{inst['name']}",
            f"(replicas {inst['replicas']} + surge {inst['surge']}) * ({how} = {procs}) * db_maxconn "
            f"{inst['db_maxconn']} = {value}",
        )
        demand += value
        processes += copies * procs
    return per_instance, demand, processes


def _warnings(result: Result, fits: bool, suggested: int, demand: int, capacity: int) -> None:
    if not fits:
        result.warn(
            f"connection demand {demand} exceeds capacity {capacity}: set db_maxconn to {suggested} on every "
            "instance, or raise max_connections (and recompute work_mem), or add a pooler"
        )
    if suggested < LOW_DB_MAXCONN:
        result.warn(
            f"suggested db_maxconn {suggested} is below {LOW_DB_MAXCONN}: cron jobs and reports will wait for "
            "connections; raise max_connections or add a pooler instead"
        )
