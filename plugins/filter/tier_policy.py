# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recovery-tier policy with overrides that may strengthen but never weaken a tier. Documentation: tier_policy.yml."""

from __future__ import annotations

from typing import Any

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.tier_policy import tier_policy as _calculate
from ansible_collections.sysgenpro.odoo_platform.plugins.plugin_utils.tuning_filter import run


def tier_policy(inputs: Any, explain: bool = False) -> dict[str, Any]:
    """Recovery-tier policy with overrides that may strengthen but never weaken a tier."""
    return run("tier_policy", _calculate, inputs, explain)


class FilterModule:
    """The tier_policy filter."""

    def filters(self) -> dict[str, Any]:
        return {"tier_policy": tier_policy}
