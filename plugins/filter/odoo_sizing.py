# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Odoo workers, per-worker limits, ports and Kubernetes resources for one instance. Documentation: odoo_sizing.yml."""

from __future__ import annotations

from typing import Any

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_sizing import odoo_sizing as _calculate
from ansible_collections.sysgenpro.odoo_platform.plugins.plugin_utils.tuning_filter import run


def odoo_sizing(inputs: Any, explain: bool = False) -> dict[str, Any]:
    """Odoo workers, per-worker limits, ports and Kubernetes resources for one instance."""
    return run("odoo_sizing", _calculate, inputs, explain)


class FilterModule:
    """The odoo_sizing filter."""

    def filters(self) -> dict[str, Any]:
        return {"odoo_sizing": odoo_sizing}
