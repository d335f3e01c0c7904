# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_to_s3 filters: which runner backs up which environment; errors name the filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.filter.backup_to_s3 import (
    backup_environments_of,
    backup_schedule,
)

PLAN = {
    "wh-north": {"runtime_host": "docker-shared", "lifecycle": "active"},
    "wh-south": {"runtime_host": "docker-shared", "lifecycle": "active"},
    "old": {"runtime_host": "docker-shared", "lifecycle": "retired"},
    "central": {"runtime_host": "docker-central", "lifecycle": "active"},
}


@pytest.mark.parametrize(
    ("hostvars", "host", "only", "expected"),
    [
        ({}, "docker-shared", None, ["wh-north", "wh-south"]),
        ({}, "docker-shared", ["wh-south"], ["wh-south"]),
        ({"central": {"odoo_platform_backup_runner": "backup-vm"}}, "backup-vm", None, ["central"]),
        ({"central": {"odoo_platform_backup_runner": "backup-vm"}}, "docker-central", None, []),
    ],
)
def test_backup_environments_of(hostvars, host, only, expected):
    assert backup_environments_of(PLAN, hostvars, host, only) == expected


def test_backup_schedule_error_names_the_filter():
    with pytest.raises(AnsibleFilterError, match=r"^backup_schedule: full_backup_interval_hours=7 must divide the day"):
        backup_schedule(7, "wh-north")
