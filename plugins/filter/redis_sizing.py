# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis sessions (noeviction) and cache (allkeys-lru) instance sizing. Documentation: redis_sizing.yml."""

from __future__ import annotations

from typing import Any

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.redis_sizing import redis_sizing as _calculate
from ansible_collections.sysgenpro.odoo_platform.plugins.plugin_utils.tuning_filter import run


def redis_sizing(inputs: Any, explain: bool = False) -> dict[str, Any]:
    """Redis sessions (noeviction) and cache (allkeys-lru) instance sizing."""
    return run("redis_sizing", _calculate, inputs, explain)


class FilterModule:
    """The redis_sizing filter."""

    def filters(self) -> dict[str, Any]:
        return {"redis_sizing": redis_sizing}
