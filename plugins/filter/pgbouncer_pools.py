# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PgBouncer pool sizes from the connection budget of one server. Documentation: pgbouncer_pools.yml."""

from __future__ import annotations

from typing import Any

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pgbouncer import pgbouncer_pools as _calculate
from ansible_collections.sysgenpro.odoo_platform.plugins.plugin_utils.tuning_filter import run


def pgbouncer_pools(inputs: Any, explain: bool = False) -> dict[str, Any]:
    """PgBouncer pool sizes from the connection budget of one server."""
    return run("pgbouncer_pools", _calculate, inputs, explain)


class FilterModule:
    """The pgbouncer_pools filter."""

    def filters(self) -> dict[str, Any]:
        return {"pgbouncer_pools": pgbouncer_pools}
