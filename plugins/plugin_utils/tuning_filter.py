# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared glue for the tuning filters: call a calculation, shape its result, translate errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError, Result


def run(name: str, calculate: Callable[[Mapping[str, Any]], Result], inputs: Any, explain: bool) -> dict[str, Any]:
    """Return the settings, or with ``explain`` the settings, explanations, warnings and inputs."""
    if not isinstance(explain, bool):
        raise AnsibleFilterError(f"{name}: explain={explain!r}: must be true or false")
    try:
        result = calculate(_plain(inputs))
    except InputError as err:
        raise AnsibleFilterError(f"{name}: {err}") from err
    return result.as_dict() if explain else result.settings


def _plain(value: Any) -> Any:
    """Copy Ansible's lazy/tagged containers into plain dicts and lists (strings stay strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
