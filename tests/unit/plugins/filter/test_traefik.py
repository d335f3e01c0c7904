# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""traefik filters: thin wrappers, errors as AnsibleFilterError naming the variable, sites from hostvars."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sysgenpro.odoo_platform.plugins.filter.traefik import FilterModule
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_sizing import odoo_sizing

F = FilterModule().filters()


def _plan(env, host, workers=None):
    settings = odoo_sizing({"cpus": 1, "memory": "1GiB", "odoo_version": "17.0", "replicas": 1}).settings
    if workers is not None:
        settings = dict(settings, workers=workers)
    return {
        "environment": env,
        "runtime_host": host,
        "lifecycle": "active",
        "odoo_version": "17.0",
        "hostnames": [f"{env}.example.test"],
        "web": {"settings": settings},
    }


ENVS = {
    "wh-north": _plan("wh-north", "docker1"),
    "wh-south": _plan("wh-south", "docker1", 0),
    "erp": _plan("erp", "d2"),
}
HOSTVARS = {
    "wh-north": {"odoo_platform_maintenance": True, "odoo_platform_admin_cidrs": ["10.0.0.0/24"]},
    "wh-south": {},
}


def test_registered():
    assert set(F) == {
        "traefik_sites",
        "traefik_dynamic_config",
        "traefik_static_config",
        "traefik_router_problems",
        "traefik_k8s_objects",
    }


def test_sites_read_only_the_environment_options():
    sites = F["traefik_sites"](ENVS, "docker1", HOSTVARS)
    assert [(s["environment"], s["maintenance"], s.get("admin_cidrs")) for s in sites] == [
        ("wh-north", True, ["10.0.0.0/24"]),
        ("wh-south", False, None),
    ]
    assert [s["endpoints"]["evented_port"] for s in sites] == [8072, None]  # F01: workers = 0 -> no evented port


def test_dynamic_config_from_sites():
    config = F["traefik_dynamic_config"](F["traefik_sites"](ENVS, "docker1", HOSTVARS), {})
    assert "wh-north--wh-north-example-test-maintenance" in config["http"]["routers"]
    assert "wh-south--wh-south-example-test-evented" not in config["http"]["routers"]


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        (
            "traefik_dynamic_config",
            ([{"environment": "wh-north", "endpoints": {"hostnames": ["a_b"]}}], {}),
            "traefik_dynamic_config: traefik_sites[wh-north].endpoints.hostnames='a_b': is not a DNS name; "
            "accepted: e.g. erp.example.com",
        ),
        (
            "traefik_static_config",
            ({"tls_min_version": "VersionTLS10"},),
            "traefik_static_config: traefik_tls_min_version='VersionTLS10': is not supported; "
            "accepted: VersionTLS12, VersionTLS13",
        ),
        ("traefik_sites", ([], "docker1"), "traefik_sites: the input must be the plan's environments, got []"),
    ],
)
def test_errors(name, args, message):
    with pytest.raises(AnsibleFilterError) as err:
        F[name](*args)
    assert str(err.value) == message


def test_router_problems_tolerates_a_non_list_answer():
    config = F["traefik_dynamic_config"]([], {})
    assert F["traefik_router_problems"]({"message": "404 page not found"}, config) == []
