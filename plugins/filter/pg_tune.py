# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL settings by PGTune's formulas (Linux), every number explained. Documentation: pg_tune.yml."""

from __future__ import annotations

from typing import Any

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pg_tune import pg_tune as _calculate
from ansible_collections.sysgenpro.odoo_platform.plugins.plugin_utils.tuning_filter import run


def pg_tune(inputs: Any, explain: bool = False) -> dict[str, Any]:
    """PostgreSQL settings by PGTune's formulas (Linux), every number explained."""
    return run("pg_tune", _calculate, inputs, explain)


class FilterModule:
    """The pg_tune filter."""

    def filters(self) -> dict[str, Any]:
        return {"pg_tune": pg_tune}
