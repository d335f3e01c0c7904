# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the backup_to_s3 role: thin wrappers over module_utils/backup_schedule.py.

Documentation: backup_schedule.yml, backup_runner_config.yml, backup_cronjob.yml, backup_environments_of.yml.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_schedule import (
    cronjob,
    runner_config,
    schedule,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.s3_stream import part_schedule


def backup_schedule(interval_hours: Any, environment: str, start_hour: Any = 1) -> dict[str, Any]:
    """OnCalendar and cron times of one environment's backups."""
    try:
        return schedule(interval_hours, str(environment), int(start_hour))
    except ValueError as err:
        raise AnsibleFilterError(f"backup_schedule: {err}") from err


def backup_runner_config(env: Any, settings: Any) -> dict[str, Any]:
    """The runner's JSON config for one environment (contains secrets: write it with no_log, mode 0600)."""
    try:
        return runner_config(dict(env or {}), dict(settings or {}))
    except ValueError as err:
        raise AnsibleFilterError(f"backup_runner_config: {err}") from err


def backup_cronjob(environment: str, interval_hours: Any, options: Any) -> dict[str, Any]:
    """The batch/v1 CronJob of one environment."""
    opts = dict(options or {})
    try:
        max_object = int(opts.pop("max_object_size", 256 * 1024**3))
        return cronjob(str(environment), interval_hours, part_size=part_schedule(max_object)[2], **opts)
    except (TypeError, ValueError) as err:
        raise AnsibleFilterError(f"backup_cronjob: {err}") from err


def backup_environments_of(environments: Any, hostvars: Any, host: str, only: Any = None) -> list[str]:
    """The active environments of the plan that ``host`` backs up (their odoo_platform_backup_runner,
    else their container host), limited to ``only`` when given."""
    wanted = set(only or [])
    out = []
    for name, env in dict(environments or {}).items():
        if env.get("lifecycle", "active") != "active" or (wanted and name not in wanted):
            continue
        env_vars = hostvars.get(name, {})
        runner = env_vars.get("odoo_platform_backup_runner") or env.get("runtime_host")
        if str(runner) == str(host):
            out.append(name)
    return sorted(out)


class FilterModule:
    """The backup_to_s3 filters."""

    def filters(self) -> dict[str, Any]:
        """Name to function."""
        return {
            "backup_schedule": backup_schedule,
            "backup_runner_config": backup_runner_config,
            "backup_cronjob": backup_cronjob,
            "backup_environments_of": backup_environments_of,
        }
