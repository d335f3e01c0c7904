# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis sizing for Odoo: a sessions instance that never evicts, a cache instance that may.

Pure Python, no Ansible imports (Python 3.8+).

Sources: Redis persistence docs (AOF ``appendfsync everysec`` loses at most about a second of
writes; RDB snapshots at the redis.conf default points ``save 3600 1 300 100 60 10000`` of Redis 7.0
lose the writes since the last snapshot); Redis eviction policies (``noeviction`` refuses writes at
maxmemory; ``allkeys-lru`` and ``volatile-lru`` evict, and session keys carry a TTL, so volatile-* would drop sessions);
redis.conf memory units (``1mb`` = 1024*1024 bytes); FIELD_CASES F09.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

from .plan_result import InputError, Result, check_keys, read_bool, read_choice, read_int
from .units import MIB, format_bytes, format_redis_bytes, parse_size

KEYS = (
    "tenants",
    "users_per_tenant",
    "sessions_per_user",
    "session_size",
    "headroom_percent",
    "sessions_persistence",
    "cache_maxmemory",
)
# Floor for the sessions instance: Redis's own overhead and the replication/AOF buffers need room.
MIN_SESSIONS_MAXMEMORY = 64 * MIB
DEFAULT_SESSION_SIZE = 16 * 1024
USED_RATIO_ALERT = 0.85
PERSISTENCE_MODES = ("aof", "rdb", "none")
# Redis 7.0's own default snapshot points (redis.conf "save 3600 1 300 100 60 10000").
RDB_SAVE_POINTS = "3600 1 300 100 60 10000"


def redis_sizing(inputs: Mapping[str, Any]) -> Result:
    """Size the sessions and cache instances and render their redis.conf settings."""
    check_keys(inputs, "redis_sizing", KEYS, required=("users_per_tenant",))
    result = Result()
    p = _read_inputs(inputs)
    result.inputs = dict(p)
    sessions = p["tenants"] * p["users_per_tenant"] * p["sessions_per_user"]
    result.note(
        "expected_sessions",
        f"tenants {p['tenants']} * users {p['users_per_tenant']} * sessions per user {p['sessions_per_user']} "
        f"= {sessions}",
    )
    factor = 1 + Fraction(p["headroom_percent"], 100)
    raw = math.ceil(sessions * p["session_size"] * factor)
    maxmemory = math.ceil(Fraction(raw, MIB)) * MIB
    formula = (
        f"{sessions} sessions * {p['session_size']} bytes * {float(factor):g} = {raw} bytes, "
        f"rounded up to whole MiB = {format_bytes(maxmemory)}"
    )
    if maxmemory < MIN_SESSIONS_MAXMEMORY:
        maxmemory = MIN_SESSIONS_MAXMEMORY
        formula += f" -> raised to the {format_bytes(MIN_SESSIONS_MAXMEMORY)} floor"
    result.set("sessions", _instance(maxmemory, "noeviction", p["sessions_persistence"]), formula)
    result.set(
        "cache",
        _instance(p["cache_maxmemory"], "allkeys-lru", "none"),
        f"cache_maxmemory {format_bytes(p['cache_maxmemory'])}, allkeys-lru (a cache may lose keys), no persistence",
    )
    result.set(
        "alerts",
        {"evicted_keys_max": 0, "used_memory_ratio_max": USED_RATIO_ALERT, "rejected_writes_max": 0},
        "sessions: any eviction or rejected write is an incident; warn at used/maxmemory > 0.85",
    )
    return result


def _read_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    p: dict[str, Any] = {
        "tenants": read_int(inputs, "tenants", 1, minimum=1),
        "users_per_tenant": read_int(inputs, "users_per_tenant", None, minimum=1),
        "sessions_per_user": read_int(inputs, "sessions_per_user", 2, minimum=1),
        "session_size": _size(inputs, "session_size", DEFAULT_SESSION_SIZE),
        "headroom_percent": read_int(inputs, "headroom_percent", 50, minimum=0, maximum=1000),
        "sessions_persistence": _persistence(inputs),
        "cache_maxmemory": _size(inputs, "cache_maxmemory", 256 * MIB),
    }
    return p


def _persistence(inputs: Mapping[str, Any]) -> str:
    """aof, rdb or none; a boolean means aof (true) or none (false)."""
    value = inputs.get("sessions_persistence")
    if isinstance(value, bool):
        return "aof" if value else "none"
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "false", "no", "off"):
        return "aof" if read_bool(inputs, "sessions_persistence", True) else "none"
    return read_choice(inputs, "sessions_persistence", PERSISTENCE_MODES, "aof")


def _size(inputs: Mapping[str, Any], key: str, default: int) -> int:
    if inputs.get(key) is None:
        return default
    value = parse_size(key, inputs[key]).bytes
    if value == 0:
        raise InputError(key, inputs[key], "must be more than 0", "a size such as 16KiB or 256Mi")
    return value


def _instance(maxmemory: int, policy: str, mode: str) -> dict[str, Any]:
    conf = {
        "maxmemory": format_redis_bytes(maxmemory),
        "maxmemory-policy": policy,
        "appendonly": "yes" if mode == "aof" else "no",
    }
    if mode == "aof":
        conf["appendfsync"] = "everysec"
    elif mode == "rdb":
        conf["save"] = RDB_SAVE_POINTS
    else:
        conf["save"] = '""'
    return {
        "maxmemory": maxmemory,
        "maxmemory_policy": policy,
        "persistence": mode != "none",
        "persistence_mode": mode,
        "conf": conf,
        "conf_text": "".join(f"{key} {value}\n" for key, value in conf.items()),
    }
