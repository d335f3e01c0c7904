# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""odoo.conf from the plan: options per series, per-worker limits, dbfilter, secrets (F01, F03)."""

from __future__ import annotations

import configparser

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_conf import (
    anchored_dbfilter,
    check_dbfilters,
    evented_option,
    odoo_db_filter,
    render_odoo_conf,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_sizing import odoo_sizing
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError

SECRETS = {"db_password": "p%w$rd;x#1", "admin_passwd": "M4ster-pw"}


def _plan(version: str, workers: int, **extra):
    """An estate-plan entry whose web sizing comes from odoo_sizing (workers 4 = 2 CPUs, 1 cron thread)."""
    settings = odoo_sizing({"cpus": 2, "memory": "4GiB", "odoo_version": version}).settings
    assert settings["workers"] == 4
    if workers == 0:
        settings["workers"] = 0  # threaded mode: an input the plan may carry for a tiny environment
    plan = {
        "environment": "erp",
        "odoo_version": version,
        "database": "erp_prod",
        "db_role": "odoo_erp_prod",
        "hostnames": ["erp.example.test"],
        "postgres_server": "pg1",
        "cron_apart": False,
        "cron_threads": 1,
        "web": {"settings": settings},
    }
    plan.update(extra)
    return plan


def _read(text):
    """Read odoo.conf as Odoo does (RawConfigParser, [options] only)."""
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return dict(parser.items("options"))


# Odoo config.py per series: gevent_port from 16.0; db_maxconn_gevent from 17.0;
# limit_memory_soft_gevent / limit_memory_hard_gevent from 18.0; without_demo up to 18.0.
@pytest.mark.parametrize("version", ["16.0", "17.0", "18.0", "19.0"])
@pytest.mark.parametrize("workers", [0, 4])
def test_options_per_series_and_workers(version, workers):
    conf = render_odoo_conf(_plan(version, workers), db_host="pg1", **SECRETS)
    options = _read(conf.text)
    major = int(version.split(".")[0])
    assert options["workers"] == str(workers)
    assert options["list_db"] == "False"
    assert options["dbfilter"] == "^erp_prod$"
    assert options["db_name"] == "erp_prod"
    assert options["db_user"] == "odoo_erp_prod"
    assert options["data_dir"] == "/var/lib/odoo"
    assert "proxy_mode" not in options  # only behind the proxy
    assert "longpolling_port" not in options
    if workers:
        assert options["gevent_port"] == "8072"
        assert conf.evented_port == 8072
    else:
        # Threaded: /websocket on the HTTP port, no evented process (F01: no route split).
        assert "gevent_port" not in options
        assert conf.evented_port is None
    assert ("db_maxconn_gevent" in options) is (major >= 17)
    assert ("limit_memory_soft_gevent" in options) is (major >= 18 and workers > 0)
    assert ("without_demo" in options) is (major <= 18)
    # F03: per worker, integer bytes, never multiplied by the worker count.
    assert int(options["limit_memory_soft"]) < int(options["limit_memory_hard"]) < 4 * 1024**3


def test_docs_sample_limits_reach_odoo_conf_verbatim():
    # Odoo deployment docs, configuration sample "4 CPU, 8 threads, 60 concurrent users" (FIELD_CASES F03).
    settings = odoo_sizing({"cpus": 4, "memory": "8GiB", "odoo_version": "17.0", "concurrent_users": 60}).settings
    plan = {**_plan("17.0", 4), "web": {"settings": settings}}
    options = _read(render_odoo_conf(plan, db_host="pg1", **SECRETS).text)
    assert {k: options[k] for k in ("workers", "limit_memory_soft", "limit_memory_hard", "limit_request")} == {
        "workers": "8",
        "limit_memory_soft": "629145600",
        "limit_memory_hard": "1677721600",
        "limit_request": "8192",
    }
    assert (options["limit_time_cpu"], options["limit_time_real"]) == ("600", "1200")


def test_f01_odoo_17_behind_the_proxy():
    # FIELD_CASES F01: Odoo 17, workers 4 -> gevent_port 8072 and proxy_mode = True behind traefik.
    conf = render_odoo_conf(_plan("17.0", 4), db_host="pg1", proxy_mode=True, **SECRETS)
    assert _read(conf.text)["proxy_mode"] == "True"
    assert conf.evented_port == 8072


@pytest.mark.parametrize(("version", "option"), [("15.0", "longpolling_port"), ("16.0", "gevent_port")])
def test_evented_option_per_series(version, option):
    # Odoo config.py: longpolling_port up to 15.0, gevent_port from 16.0.
    assert evented_option(version) == option


def test_cron_instance_runs_threaded_on_loopback():
    plan = _plan("18.0", 4, cron_apart=True, cron_threads=2)
    plan["web"]["settings"]["max_cron_threads"] = 0
    web = _read(render_odoo_conf(plan, db_host="pg1", **SECRETS).text)
    cron = _read(render_odoo_conf(plan, role="cron", db_host="pg1", **SECRETS).text)
    assert (web["workers"], web["max_cron_threads"]) == ("4", "0")
    assert (cron["workers"], cron["max_cron_threads"], cron["http_interface"]) == ("0", "2", "127.0.0.1")
    assert "gevent_port" not in cron


def test_cron_role_refused_when_cron_runs_inside_web():
    with pytest.raises(InputError, match="runs cron inside its web instance"):
        render_odoo_conf(_plan("18.0", 4), role="cron", db_host="pg1", **SECRETS)


def test_raw_values_and_redaction():
    conf = render_odoo_conf(_plan("18.0", 4), db_host="pg1", **SECRETS)
    options = _read(conf.text)
    assert options["db_password"] == SECRETS["db_password"]  # % and $ verbatim (RawConfigParser)
    assert options["admin_passwd"] == SECRETS["admin_passwd"]
    redacted = conf.redacted()
    for secret in SECRETS.values():
        assert secret not in redacted
    assert "db_password = <redacted>" in redacted


@pytest.mark.parametrize("bad", ["two\nlines", " padded", ""])
def test_unusable_secret_is_refused_without_showing_it(bad):
    with pytest.raises(InputError) as err:
        render_odoo_conf(_plan("18.0", 4), db_host="pg1", db_password=bad, admin_passwd="x")
    assert "<value not shown>" in str(err.value)
    if bad.strip():
        assert bad.strip() not in str(err.value)


def test_limits_must_be_integer_bytes():
    plan = _plan("18.0", 4)
    plan["web"]["settings"]["limit_memory_hard"] = "2G"  # F03: "2G" is invalid in odoo.conf
    with pytest.raises(InputError, match="must be integer bytes per worker"):
        render_odoo_conf(plan, db_host="pg1", **SECRETS)


def test_extra_options_cannot_override_the_plan():
    with pytest.raises(InputError, match="is computed from the plan"):
        render_odoo_conf(_plan("18.0", 4), db_host="pg1", extra_options={"workers": 12}, **SECRETS)
    conf = render_odoo_conf(_plan("18.0", 4), db_host="pg1", extra_options={"log_level": "warn"}, **SECRETS)
    assert _read(conf.text)["log_level"] == "warn"


# Odoo odoo/http.py db_filter: port and one "www." stripped, %h = host, %d = first label, re.match.
@pytest.mark.parametrize(
    ("host", "pattern", "expected"),
    [
        ("erp.example.test", "^erp_prod$", ["erp_prod"]),
        ("www.erp.example.test:443", "^%d_prod$", ["erp_prod"]),
        ("shop.example.test", "^%d_prod$", ["shop_prod"]),
        ("erp.example.test", "erp", ["erp_prod", "erp_prod_copy"]),  # unanchored: matches a prefix
        ("erp.example.test", "", ["erp_prod", "erp_prod_copy", "shop_prod"]),
    ],
)
def test_odoo_db_filter(host, pattern, expected):
    assert odoo_db_filter(["erp_prod", "erp_prod_copy", "shop_prod"], host, pattern) == expected


def test_anchored_dbfilter_escapes():
    assert anchored_dbfilter("wh.north") == r"^wh\.north$"


ESTATE = {
    "wh-north": {"postgres_server": "pg-shared", "database": "wh_north", "hostnames": ["wh-north.example.test"]},
    "wh-south": {"postgres_server": "pg-shared", "database": "wh_south", "hostnames": ["wh-south.example.test"]},
    "erp": {"postgres_server": "pg-erp", "database": "erp", "hostnames": ["erp.example.test", "www.erp.example.test"]},
}


def test_estate_with_anchored_filters_is_sound():
    assert check_dbfilters(ESTATE) == []


def test_unanchored_filter_on_a_shared_server_is_reported():
    problems = check_dbfilters(ESTATE, {"wh-north": "wh_"})
    assert problems == [
        "wh-north: host name wh-north.example.test with dbfilter 'wh_' selects ['wh_north', 'wh_south']"
        " on server pg-shared; it must select exactly ['wh_north']"
    ]


def test_host_name_in_two_environments_is_reported():
    estate = {**ESTATE, "wh-south": {**ESTATE["wh-south"], "hostnames": ["wh-north.example.test"]}}
    assert check_dbfilters(estate) == ["wh-south: host name wh-north.example.test also belongs to wh-north"]


def test_same_database_twice_on_a_server_is_reported():
    estate = {**ESTATE, "wh-south": {**ESTATE["wh-south"], "database": "wh_north"}}
    problems = check_dbfilters(estate)
    assert problems[0] == "server pg-shared: database wh_north is used by more than one environment"
