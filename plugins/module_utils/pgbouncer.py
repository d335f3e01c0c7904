# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PgBouncer pool sizes for the Odoo tenants of one PostgreSQL server, from the connection budget.

Pure Python, no Ansible imports (Python 3.8+).

Sources: PgBouncer 1.18 configuration reference (``pool_size`` is per database/user pair,
``max_user_connections`` caps the server connections of one user over all its pools, file
descriptors used are at most ``max_client_conn`` + the server connections) and its feature
table (session pooling keeps every session feature; transaction pooling loses ``LISTEN``,
session-level advisory locks, session ``SET`` and protocol-level prepared statements).
Odoo ``sql_db.py`` (a per-process ``ConnectionPool`` of ``db_maxconn``) and ``ir_cron.py``
(a cron thread holds the job's lock cursor and the job's own cursor at once).

Each tenant role gets two pools: its database, and the maintenance database ``postgres``
(Odoo's health and database-existence checks, and the bus: the evented worker ``LISTEN``s on
``postgres``, Odoo ``addons/bus/models/bus.py``), which always runs in session mode. In
**session** mode the server connections of a role are exactly what Odoo may open, the plan's
``connection_limit`` (replicas at maximum + surge, times processes, times ``db_maxconn``):
session pooling caps and queues, it cannot multiplex. In **transaction** mode a server
connection is held only during a transaction, so a role needs at most ``CURSORS_PER_PROCESS``
per Odoo process on its database, plus the maintenance pool, which must hold one connection
per evented process (replicas + surge) and one for checks.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .plan_result import InputError, Result, check_keys, read_choice, read_int

KEYS = ("pool_mode", "max_connections", "reserved", "tenants", "maintenance_pool_size", "client_factor")
TENANT_KEYS = ("environment", "database", "role", "connection_limit", "processes", "networks", "password")
POOL_MODES = ("session", "transaction")
# An Odoo process has at most two transactions open at once: an HTTP request's cursor plus a
# separate ``registry.cursor()`` (mail queue, bus), or a cron thread's lock cursor plus the job's.
CURSORS_PER_PROCESS = 2
# File descriptors PgBouncer needs besides client and server sockets (listen sockets, log, DNS).
FD_MARGIN = 64
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_-]{0,62}$")


def pgbouncer_pools(inputs: Mapping[str, Any]) -> Result:
    """Pool sizes, per-user caps, ``max_client_conn`` and file descriptors for PgBouncer."""
    check_keys(inputs, "pgbouncer_pools", KEYS, required=("max_connections", "tenants"))
    result = Result()
    mode = read_choice(inputs, "pool_mode", POOL_MODES, "session")
    max_connections = _int(inputs, "max_connections", None, 1)
    reserved = _int(inputs, "reserved", 3, 0)
    maintenance = _int(inputs, "maintenance_pool_size", 2, 1)
    factor = _int(inputs, "client_factor", 2, 1)
    tenants = _read_tenants(inputs["tenants"], mode)
    result.inputs = {
        "pool_mode": mode,
        "max_connections": max_connections,
        "reserved": reserved,
        "maintenance_pool_size": maintenance,
        "client_factor": factor,
        "tenants": tenants,
    }

    pools = [_pool(tenant, mode, maintenance, result) for tenant in tenants]
    result.set("pool_mode", mode, "session unless transaction is asked for (docs/postgres.md, pooling decision)")
    result.set("pools", pools, "per tenant role: its database's pool, the maintenance pool, the per-user cap")
    demand = sum(t["connection_limit"] for t in tenants)
    server = sum(p["max_user_connections"] for p in pools)
    capacity = max_connections - reserved
    result.set(
        "server_connections",
        server,
        " + ".join(str(p["max_user_connections"]) for p in pools) + f" = {server} (sum of max_user_connections)",
    )
    if server > capacity:
        raise InputError(
            "tenants",
            [t["environment"] for t in tenants],
            f"the pools need {server} server connections, more than max_connections {max_connections} "
            f"- reserved {reserved} = {capacity}",
            "a larger max_connections, smaller connection limits, or pool_mode transaction",
        )
    result.set("capacity", capacity, f"max_connections {max_connections} - reserved {reserved} = {capacity}")
    result.set(
        "saved_connections",
        demand - server,
        f"what Odoo may open {demand} - server connections {server} = {demand - server}",
    )
    clients = factor * demand
    result.set(
        "max_client_conn",
        clients,
        f"client_factor {factor} * what Odoo may open {demand} = {clients}: clients beyond a full pool wait in "
        "PgBouncer's queue (query_wait_timeout) instead of being refused",
    )
    fds = clients + server + FD_MARGIN
    result.set("file_descriptors", fds, f"max_client_conn {clients} + server {server} + margin {FD_MARGIN} = {fds}")
    if mode == "session" and demand == server:
        result.note("session", "session pooling saves no server connection for Odoo: it caps, queues and ends TLS")
    return result


def _pool(tenant: Mapping[str, Any], mode: str, maintenance: int, result: Result) -> dict[str, Any]:
    limit = tenant["connection_limit"]
    if limit < 2:
        raise InputError(
            f"tenants[{tenant['environment']}].connection_limit",
            limit,
            "leaves no connection for the maintenance pool",
            "at least 2",
        )
    if mode == "session":
        # No split between the two pools: the evented worker holds its LISTEN connection to the
        # maintenance database for its whole life, a fixed share could starve it or the tenant.
        cap = pool_size = maint = limit
        how = f"connection_limit {limit} (session: one server connection per Odoo connection), both pools {limit}"
    else:
        maint = min(maintenance, limit - 1)
        pool_size = min(limit - maint, CURSORS_PER_PROCESS * tenant["processes"])
        cap = pool_size + maint
        how = (
            f"pool_size min(connection_limit {limit} - maintenance {maint}, {CURSORS_PER_PROCESS} cursors * "
            f"{tenant['processes']} processes) = {pool_size}, + maintenance {maint} (session mode) = {cap}"
        )
    pool = {
        "environment": tenant["environment"],
        "database": tenant["database"],
        "role": tenant["role"],
        "pool_size": pool_size,
        "maintenance_pool_size": maint,
        "max_user_connections": cap,
    }
    result.note(f"pools.{tenant['environment']}", f"max_user_connections: {how}")
    return pool


def _read_tenants(value: Any, mode: str) -> list[dict[str, Any]]:
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError("tenants", value, "must be a non-empty list", "the role's postgres_tuning_tenants")
    tenants = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        key = f"tenants[{index}]"
        check_keys(item, key, TENANT_KEYS, required=("environment", "database", "role", "connection_limit"))
        for name in ("database", "role"):
            if not _IDENTIFIER.match(str(item[name])):
                raise InputError(f"{key}.{name}", item[name], "is not a lower-case identifier", "[a-z_][a-z0-9_-]*")
        if item["role"] in seen:
            raise InputError(f"{key}.role", item["role"], "is used twice", "one role per tenant")
        seen.add(item["role"])
        processes = _int(item, "processes", None, 1, prefix=key)
        if mode == "transaction" and processes is None:
            raise InputError(
                f"{key}.processes",
                None,
                "is required in transaction mode",
                "the number of Odoo processes of the environment (the plan's budget per_instance processes)",
            )
        tenants.append(
            {
                "environment": str(item["environment"]),
                "database": str(item["database"]),
                "role": str(item["role"]),
                "connection_limit": _int(item, "connection_limit", None, 1, prefix=key),
                "processes": processes,
            }
        )
    return tenants


def _int(item: Mapping[str, Any], key: str, default: int | None, minimum: int, prefix: str = "") -> Any:
    try:
        return read_int(item, key, default, minimum=minimum)
    except InputError as err:
        raise InputError(f"{prefix}.{key}" if prefix else key, err.value, err.reason, err.accepted) from None
