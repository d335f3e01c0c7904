# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The odoo_container filters are thin: registration and error translation."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.filter import odoo_container


def test_filters_are_registered():
    assert set(odoo_container.FilterModule().filters()) == {
        "odoo_container_spec",
        "odoo_container_docker_actions",
        "odoo_k8s_objects",
        "odoo_dbfilter_check",
    }


def test_spec_error_names_the_input_without_the_secret():
    with pytest.raises(AnsibleFilterError, match=r"odoo_container_spec: db_password='<value not shown>': is required"):
        odoo_container.odoo_container_spec(
            {"environment": "wh", "odoo_version": "18.0"}, {"image": "i", "db_host": "h", "db_password": ""}
        )


def test_non_dict_input_is_refused():
    with pytest.raises(AnsibleFilterError, match="plan must be a dict, got list"):
        odoo_container.odoo_container_spec([], {})


def test_dbfilter_check_passes_through():
    estate = {"a": {"postgres_server": "p", "database": "a", "hostnames": ["a.test"]}}
    assert odoo_container.odoo_dbfilter_check(estate) == []
