# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd schedules of the vacuum and reindex jobs from a maintenance window. Documentation: maintenance_timers.yml."""

from __future__ import annotations

from typing import Any

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.maintenance_schedule import (
    maintenance_timers as _calculate,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.plugin_utils.tuning_filter import run


def maintenance_timers(inputs: Any, explain: bool = False) -> dict[str, Any]:
    """systemd schedules of the vacuum and reindex jobs from a maintenance window."""
    return run("maintenance_timers", _calculate, inputs, explain)


class FilterModule:
    """The maintenance_timers filter."""

    def filters(self) -> dict[str, Any]:
        return {"maintenance_timers": maintenance_timers}
