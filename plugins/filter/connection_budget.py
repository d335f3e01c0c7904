# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL connection budget of every Odoo instance on one server. Documentation: connection_budget.yml."""

from __future__ import annotations

from typing import Any

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.connection_budget import (
    connection_budget as _calculate,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.plugin_utils.tuning_filter import run


def connection_budget(inputs: Any, explain: bool = False) -> dict[str, Any]:
    """PostgreSQL connection budget of every Odoo instance on one server."""
    return run("connection_budget", _calculate, inputs, explain)


class FilterModule:
    """The connection_budget filter."""

    def filters(self) -> dict[str, Any]:
        return {"connection_budget": connection_budget}
