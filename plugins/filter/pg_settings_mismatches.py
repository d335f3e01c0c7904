# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planned settings a server does not run with. Documentation: pg_settings_mismatches.yml."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pg_settings import SettingError
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.pg_settings_check import live_mismatches


def pg_settings_mismatches(rows: Any, planned: Any) -> list[dict[str, Any]]:
    """Planned settings whose live value differs (unit-aware), waits for a restart, or is unknown."""
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, Mapping) for r in rows):
        raise AnsibleFilterError(
            f"pg_settings_mismatches: the input must be the rows of a pg_settings query (query_result), "
            f"got {type(rows).__name__}"
        )
    if not isinstance(planned, Mapping):
        raise AnsibleFilterError(
            "pg_settings_mismatches: planned must be a mapping of setting names to values, "
            f"got {type(planned).__name__}"
        )
    try:
        return live_mismatches([dict(r) for r in rows], dict(planned))
    except SettingError as err:
        raise AnsibleFilterError(f"pg_settings_mismatches: {err}") from err


class FilterModule:
    """The pg_settings_mismatches filter."""

    def filters(self) -> dict[str, Any]:
        return {"pg_settings_mismatches": pg_settings_mismatches}
