# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""traefik_config: routers and priorities, F01, Odoo 15 vs 16, TLS, static config, errors, Kubernetes objects."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.container_spec import container_spec
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.odoo_sizing import odoo_sizing
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.traefik_config import (
    NOBODY,
    dynamic_config,
    endpoints_from_plan,
    expected_routers,
    k8s_objects,
    router_problems,
    sites_from_plan,
    static_config,
)

VALIDATORS = Path(__file__).resolve().parents[4] / "tools" / "k8s-validators"


def _plan(env="wh-north", version="18.0", workers=None, hostnames=("wh-north.example.test",)):
    settings = odoo_sizing({"cpus": 1, "memory": "1GiB", "odoo_version": version, "replicas": 1}).settings
    if workers is not None:
        settings = dict(settings, workers=workers)
    return {
        "environment": env,
        "tenant": env,
        "tier": "standard",
        "tenancy": "shared",
        "lifecycle": "active",
        "runtime": "docker",
        "runtime_host": "docker1",
        "odoo_version": version,
        "database": env.replace("-", "_"),
        "db_role": "odoo_" + env.replace("-", "_"),
        "hostnames": list(hostnames),
        "replicas": 1,
        "max_replicas": 1,
        "cron_apart": False,
        "cron_threads": 1,
        "redis": {"enabled": False},
        "policy": {"settings": {"pod_disruption_budget": {}, "autoscaling_allowed": False}},
        "web": {"settings": settings},
    }


def _site(env="wh-north", hosts=("wh-north.example.test",), evented_port=8072, path="/websocket", **extra):
    site = {
        "environment": env,
        "endpoints": {
            "hostnames": list(hosts),
            "web_host": f"{env}-web",
            "http_port": 8069,
            "evented_port": evented_port,
            "evented_path": path,
            "health_path": "/web/health",
        },
    }
    site.update(extra)
    return site


# The endpoints traefik computes for environments outside the run must equal what odoo_container
# publishes for those inside it (container_spec()["endpoints"]), or --limit would change routes.
@pytest.mark.parametrize(
    ("version", "workers"),
    [("16.0", None), ("17.0", None), ("18.0", 0), ("19.0", 4), ("15.0", None), ("15.0", 0)],
)
def test_endpoints_from_plan_equal_container_spec(version, workers):
    plan = _plan(version=version, workers=workers)
    options = {"image": "i", "db_host": "pg", "db_sslmode": "require", "db_password": "p", "admin_password": "a"}
    assert endpoints_from_plan(plan) == container_spec(plan, options)["endpoints"]


# Odoo deployment docs (proxy section) and FIELD_CASES F01: >= 16 /websocket on gevent_port,
# <= 15 /longpolling on longpolling_port, 8072 by default; threaded server (workers = 0): no evented port.
@pytest.mark.parametrize(
    ("version", "workers", "port", "path"),
    [
        ("15.0", None, 8072, "/longpolling"),
        ("16.0", None, 8072, "/websocket"),
        ("19.0", None, 8072, "/websocket"),
        ("17.0", 0, None, "/websocket"),
    ],
)
def test_endpoints_from_plan(version, workers, port, path):
    ends = endpoints_from_plan(_plan(version=version, workers=workers))
    assert (ends["evented_port"], ends["evented_path"], ends["web_host"], ends["http_port"]) == (
        port,
        path,
        "wh-north-web",
        8069,
    )


ROUTERS = dynamic_config([_site()])["http"]["routers"]


@pytest.mark.parametrize(
    ("suffix", "rule", "priority", "service", "middlewares"),
    [
        (
            "dbmanager",
            "Host(`wh-north.example.test`) && PathPrefix(`/web/database`)",
            40,
            "wh-north-http",
            ["wh-north-dbmanager", "security-headers"],
        ),
        (
            "login",
            "Host(`wh-north.example.test`) && Path(`/web/login`)",
            30,
            "wh-north-http",
            ["login-ratelimit", "security-headers", "compress"],
        ),
        (
            "evented",
            "Host(`wh-north.example.test`) && PathPrefix(`/websocket`)",
            20,
            "wh-north-evented",
            ["security-headers"],
        ),
        ("http", "Host(`wh-north.example.test`)", 10, "wh-north-http", ["security-headers", "compress"]),
    ],
)
def test_routers(suffix, rule, priority, service, middlewares):
    router = ROUTERS[f"wh-north--wh-north-example-test-{suffix}"]
    assert router == {
        "entryPoints": ["websecure"],
        "rule": rule,
        "priority": priority,
        "service": service,
        "middlewares": middlewares,
        "tls": {},
    }


def test_evented_strictly_above_catch_all_and_below_the_guards():
    # F01: equal priorities break the websocket intermittently; the guards must win over both.
    prio = {name.rsplit("-", 1)[1]: r["priority"] for name, r in ROUTERS.items()}
    assert prio["dbmanager"] > prio["login"] > prio["evented"] > prio["http"]


def test_services_point_at_the_web_alias():
    services = dynamic_config([_site()])["http"]["services"]
    assert services["wh-north-http"]["loadBalancer"]["servers"] == [{"url": "http://wh-north-web:8069"}]
    assert services["wh-north-evented"]["loadBalancer"]["servers"] == [{"url": "http://wh-north-web:8072"}]
    assert services["wh-north-http"]["loadBalancer"]["healthCheck"]["path"] == "/web/health"
    assert services["maintenance"] == {"loadBalancer": {"servers": []}}


# FIELD_CASES F01: workers = 0 -> a single route, no evented service.
def test_no_split_when_workers_is_zero():
    config = dynamic_config(sites_from_plan({"wh-north": _plan(workers=0)}, "docker1"))
    assert sorted(config["http"]["routers"]) == [
        "wh-north--wh-north-example-test-blocked",
        "wh-north--wh-north-example-test-dbmanager",
        "wh-north--wh-north-example-test-http",
        "wh-north--wh-north-example-test-login",
    ]
    assert "wh-north-evented" not in config["http"]["services"]


@pytest.mark.parametrize(("version", "prefix"), [("15.0", "/longpolling"), ("16.0", "/websocket")])
def test_evented_rule_per_series(version, prefix):
    config = dynamic_config(sites_from_plan({"wh-north": _plan(version=version)}, "docker1"))
    rule = config["http"]["routers"]["wh-north--wh-north-example-test-evented"]["rule"]
    assert rule == f"Host(`wh-north.example.test`) && PathPrefix(`{prefix}`)"


def test_maintenance_router_wins_and_keeps_the_others():
    routers = dynamic_config([_site(maintenance=True)])["http"]["routers"]
    top = routers["wh-north--wh-north-example-test-maintenance"]
    assert top["priority"] == 100 and top["service"] == "maintenance"
    assert top["priority"] > max(r["priority"] for n, r in routers.items() if not n.endswith("maintenance"))
    assert top["middlewares"] == ["security-headers", "maintenance-headers"]


def test_maintenance_page_from_a_static_server():
    config = dynamic_config([_site(maintenance=True)], {"maintenance_page_url": "http://pages:8080/"})
    top = config["http"]["routers"]["wh-north--wh-north-example-test-maintenance"]
    assert top["middlewares"] == ["security-headers", "maintenance-headers", "maintenance-page"]
    # Traefik v3 errors middleware: the page replaces the body, the 503 status stays.
    assert config["http"]["middlewares"]["maintenance-page"] == {
        "errors": {"query": "/maintenance.html", "service": "maintenance-page", "status": ["503"]}
    }
    assert config["http"]["services"]["maintenance-page"] == {
        "loadBalancer": {"servers": [{"url": "http://pages:8080"}]}
    }
    assert "maintenance-page" not in dynamic_config([_site(maintenance=True)])["http"]["services"]


def test_allow_list_first_in_every_chain():
    config = dynamic_config([_site(allow_cidrs=["10.1.0.0/16", "192.0.2.7"])])
    assert config["http"]["middlewares"]["wh-north-allow"] == {
        "ipAllowList": {"sourceRange": ["10.1.0.0/16", "192.0.2.7/32"]}
    }
    assert all(r["middlewares"][0] == "wh-north-allow" for r in config["http"]["routers"].values())


@pytest.mark.parametrize(
    ("site_admin", "global_admin", "source_range"),
    [(None, [], [NOBODY]), (None, ["10.9.0.0/24"], ["10.9.0.0/24"]), (["10.8.0.1"], ["10.9.0.0/24"], ["10.8.0.1/32"])],
)
def test_database_manager_allow_list(site_admin, global_admin, source_range):
    site = _site(admin_cidrs=site_admin) if site_admin is not None else _site()
    mws = dynamic_config([site], {"admin_cidrs": global_admin})["http"]["middlewares"]
    assert mws["wh-north-dbmanager"]["ipAllowList"]["sourceRange"] == source_range


def test_trusted_ips_set_the_client_ip_strategy():
    config = dynamic_config([_site(allow_cidrs=["10.0.0.0/8"])], {"trusted_ips": ["172.16.0.10"]})
    mws = config["http"]["middlewares"]
    strategy = {"ipStrategy": {"excludedIPs": ["172.16.0.10/32"]}}
    assert mws["wh-north-allow"]["ipAllowList"]["ipStrategy"] == strategy["ipStrategy"]
    assert mws["login-ratelimit"]["rateLimit"]["sourceCriterion"] == strategy
    static = static_config({"trusted_ips": ["172.16.0.10"]})
    assert static["entryPoints"]["websecure"]["forwardedHeaders"] == {"trustedIPs": ["172.16.0.10/32"]}


# Traefik v3 reference, TLS options: minVersion; cipherSuites only apply to TLS <= 1.2.
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"minVersion": "VersionTLS12", "sniStrict": False, "ciphers": 6}),
        ({"tls_min_version": "VersionTLS13"}, {"minVersion": "VersionTLS13", "sniStrict": False, "ciphers": 0}),
        ({"sni_strict": True}, {"minVersion": "VersionTLS12", "sniStrict": True, "ciphers": 6}),
    ],
)
def test_tls_options(options, expected):
    tls = dynamic_config([_site()], options)["tls"]["options"]["default"]
    assert (tls["minVersion"], tls["sniStrict"], len(tls.get("cipherSuites", []))) == (
        expected["minVersion"],
        expected["sniStrict"],
        expected["ciphers"],
    )


def test_certificates_and_default_certificate():
    tls = dynamic_config(
        [_site()],
        {
            "certificates": [
                {"certFile": "/etc/traefik/certs/b.crt", "keyFile": "/b.key"},
                {"certFile": "/a.crt", "keyFile": "/a.key"},
            ],
            "default_certificate": {"certFile": "/d.crt", "keyFile": "/d.key"},
        },
    )["tls"]
    assert [c["certFile"] for c in tls["certificates"]] == ["/a.crt", "/etc/traefik/certs/b.crt"]
    assert tls["stores"] == {"default": {"defaultCertificate": {"certFile": "/d.crt", "keyFile": "/d.key"}}}
    named = dynamic_config([_site()], {"certificates": ["site-0"], "default_certificate": "default"})["tls"]
    assert named["certificates"] == [
        {"certFile": "/etc/traefik/certs/site-0.crt", "keyFile": "/etc/traefik/certs/site-0.key"}
    ]
    assert named["stores"]["default"]["defaultCertificate"]["certFile"] == "/etc/traefik/certs/default.crt"


def test_security_headers():
    # HSTS one year (hstspreload.org's minimum max-age, 31536000), includeSubDomains; nosniff; SAMEORIGIN framing.
    headers = dynamic_config([_site()])["http"]["middlewares"]["security-headers"]["headers"]
    assert (headers["stsSeconds"], headers["stsIncludeSubdomains"], headers["stsPreload"]) == (31536000, True, False)
    assert headers["contentTypeNosniff"] is True
    assert headers["customFrameOptionsValue"] == "SAMEORIGIN"
    assert headers["customResponseHeaders"] == {"Server": "", "X-Powered-By": ""}


def test_deterministic_whatever_the_input_order():
    a = _site("wh-north", ("b.example.test", "a.example.test"))
    b = _site("wh-south", ("c.example.test",), evented_port=None)
    one, two = dynamic_config([a, b]), dynamic_config([b, a])
    assert json.dumps(one) == json.dumps(two)
    assert list(one["http"]["routers"]) == sorted(one["http"]["routers"])


@pytest.mark.parametrize(
    ("sites", "options", "message"),
    [
        (
            [_site("central-erp", ("erp.test",)), _site("wh-north", ("ERP.test",))],
            {},
            "traefik_sites[wh-north].endpoints.hostnames='ERP.test': is already routed to central-erp; "
            "accepted: a hostname per site",
        ),
        (
            [_site(hosts=("bad_name.test",))],
            {},
            "traefik_sites[wh-north].endpoints.hostnames='bad_name.test': is not a DNS name; "
            "accepted: e.g. erp.example.com",
        ),
        (
            [_site(allow_cidrs=["10.0.0.300/8"])],
            {},
            "traefik_sites[wh-north].allow_cidrs='10.0.0.300/8': is not an IP address or CIDR; "
            "accepted: e.g. 192.0.2.0/24 or 2001:db8::/32",
        ),
        (
            [_site("Wh_North")],
            {},
            "traefik_sites[0].environment='Wh_North': is not a DNS-1123 label of at most 40 characters; "
            "accepted: e.g. wh-north",
        ),
        (
            [_site(path="/bus")],
            {},
            "traefik_sites[wh-north].endpoints.evented_path='/bus': is unknown; accepted: /websocket, /longpolling",
        ),
        (
            [_site()],
            {"tls_min_version": "VersionTLS11"},
            "traefik_tls_min_version='VersionTLS11': is not supported; accepted: VersionTLS12, VersionTLS13",
        ),
        (
            [_site()],
            {"websocket_timeout": "1 hour"},
            "traefik_websocket_timeout='1 hour': is not a duration; accepted: a number with ms, s, m or h, e.g. 3600s",
        ),
        (
            [_site()],
            {"web_port": 8443},
            "traefik_api_port=[8443, 8443, 8082]: entrypoint ports collide; accepted: three different ports",
        ),
        (
            [_site()],
            {"admin_cidrs": "10.0.0.0/8"},
            "traefik_admin_cidrs='10.0.0.0/8': is not a list; accepted: a list of CIDRs such as ['10.0.0.0/8']",
        ),
        ([_site()], {"login_rate_burst": 0}, "traefik_login_rate_burst=0: is out of range; accepted: 1 to 1000000"),
        (
            [_site()],
            {"maintenance_page_url": "pages:8080"},
            "traefik_maintenance_page_url='pages:8080': is not an http(s) URL; accepted: e.g. http://maintenance-pages:8080",
        ),
    ],
)
def test_errors_name_the_variable(sites, options, message):
    with pytest.raises(InputError) as err:
        dynamic_config(sites, options)
    assert str(err.value) == message


def test_sites_from_plan_whole_inventory():
    envs = {
        "wh-north": _plan("wh-north"),
        "wh-south": dict(_plan("wh-south", hostnames=["wh-south.example.test"]), lifecycle="retired"),
        "central-erp": dict(_plan("central-erp", hostnames=["erp.example.test"]), runtime_host="docker2"),
    }
    sites = sites_from_plan(envs, "docker1", {"wh-north": {"odoo_platform_maintenance": True}})
    assert [(s["environment"], s["network"], s["maintenance"]) for s in sites] == [("wh-north", "odoo-wh-north", True)]


def test_static_config():
    static = static_config({"https_public_port": 443})
    assert static["entryPoints"]["web"]["http"]["redirections"]["entryPoint"] == {
        "to": ":443",
        "scheme": "https",
        "permanent": True,
    }
    # Traefik v3 sets readTimeout to 60s by default, which cuts Odoo's websocket.
    assert static["entryPoints"]["websecure"]["transport"]["respondingTimeouts"]["readTimeout"] == "3600s"
    assert static["ping"] == {"entryPoint": "traefik"}
    assert static["metrics"]["prometheus"]["entryPoint"] == "traefik"
    assert static["accessLog"]["format"] == "json"
    assert static["accessLog"]["fields"]["headers"] == {"defaultMode": "drop"}
    assert static["providers"]["file"] == {"filename": "/etc/traefik/dynamic/routes.yml", "watch": True}


def _api(config, **changes):
    """What /api/http/routers lists once ``config`` is loaded (the fields the check reads)."""
    routers = [
        {"name": f"{n}@file", "status": "enabled", "rule": r["rule"], "priority": r["priority"]}
        for n, r in config["http"]["routers"].items()
    ]
    routers.append({"name": "ping@internal", "status": "enabled", "rule": "PathPrefix(`/ping`)", "priority": 1})
    for name, change in changes.items():
        for router in routers:
            if router["name"] == name:
                router.update(change)
    return routers


def test_router_problems():
    config = dynamic_config([_site()])
    assert router_problems(_api(config), config) == []
    assert len(expected_routers(config)) == 4
    broken = _api(config, **{"wh-north--wh-north-example-test-http@file": {"status": "disabled", "error": ["boom"]}})
    assert router_problems(broken, config) == ["wh-north--wh-north-example-test-http: disabled boom"]
    old = dynamic_config([_site(maintenance=True)])
    assert router_problems(_api(old), config) == [
        "wh-north--wh-north-example-test-maintenance@file: still loaded, removed from the file"
    ]
    assert router_problems(_api(config), old) == ["wh-north--wh-north-example-test-maintenance: not loaded"]


def test_k8s_objects_mirror_the_file_provider():
    objects = k8s_objects([_site(maintenance=True, allow_cidrs=["10.0.0.0/8"])])
    kinds = sorted({o["kind"] for o in objects})
    assert kinds == ["IngressRoute", "Middleware", "ServersTransport", "Service", "TLSOption"]
    route = next(o for o in objects if o["kind"] == "IngressRoute")
    assert route["metadata"]["namespace"] == "odoo-wh-north"
    prios = sorted((r["match"], r["priority"]) for r in route["spec"]["routes"])
    files = dynamic_config([_site(maintenance=True, allow_cidrs=["10.0.0.0/8"])])["http"]["routers"]
    assert prios == sorted((r["rule"], r["priority"]) for r in files.values())
    evented = next(r for r in route["spec"]["routes"] if "websocket" in r["match"])
    assert evented["services"] == [{"name": "odoo-wh-north", "port": 8072, "serversTransport": "odoo"}]


def _validators() -> None:
    """The npm validators must be installed (make venv runs npm ci): fail loudly, never skip."""
    if not (VALIDATORS / "node_modules").is_dir() or not shutil.which("node"):
        pytest.fail("the Traefik CRD validators are missing: run `make venv` (npm ci in tools/k8s-validators)")


@pytest.mark.parametrize(
    "sites",
    [
        [_site(maintenance=True, allow_cidrs=["10.0.0.0/8"], admin_cidrs=["192.0.2.0/24"])],
        [_site("legacy", ("old.example.test",), path="/longpolling"), _site("tiny", ("t.example.test",), None)],
    ],
)
def test_k8s_objects_validate_against_the_traefik_crds(sites):
    _validators()
    objects = [o for o in k8s_objects(sites, {"trusted_ips": ["10.0.0.1"]}) if o["apiVersion"] == "traefik.io/v1alpha1"]
    done = subprocess.run(
        ["node", str(VALIDATORS / "validate.mjs"), "-"],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_k8s_validator_rejects_a_bad_object():
    _validators()
    bad = [
        {
            "apiVersion": "traefik.io/v1alpha1",
            "kind": "Middleware",
            "metadata": {"name": "x"},
            "spec": {"rateLimit": {"average": "fast"}},
        }
    ]
    done = subprocess.run(
        ["node", str(VALIDATORS / "validate.mjs"), "-"],
        input=json.dumps(bad),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "Middleware/x: data/spec/rateLimit/average must be integer" in done.stderr


def _api_site():
    api = {"host": "tpl-api", "port": 8069, "paths": ["/jsonrpc", "/xmlrpc/2/"], "timeout_seconds": 120}
    telematics = {
        "name": "telematics",
        "source_ranges": ["198.51.100.0/24", "203.0.113.7/32"],
        "average": 5,
        "burst": 10,
    }
    return _site(
        "tpl",
        ("3pl.example.test",),
        endpoints={
            "hostnames": ["3pl.example.test"],
            "web_host": "tpl-web",
            "http_port": 8069,
            "evented_port": 8072,
            "evented_path": "/websocket",
            "health_path": "/web/health",
            "pools": {"api": api},
            "api_integrations": [telematics],
            "blocked_paths": ["/queue_job/"],
        },
    )


def test_api_pool_gets_the_api_paths_and_integrations_their_rate_limit():
    config = dynamic_config([_api_site()])["http"]
    routers, base = config["routers"], "tpl--3pl-example-test"
    assert (
        routers[f"{base}-api"]["rule"]
        == "Host(`3pl.example.test`) && (PathPrefix(`/jsonrpc`) || PathPrefix(`/xmlrpc/2/`))"
    )
    assert routers[f"{base}-api"]["service"] == "tpl-api"
    integration = routers[f"{base}-api-telematics"]
    assert integration["rule"].endswith("&& (ClientIP(`198.51.100.0/24`) || ClientIP(`203.0.113.7/32`))")
    assert integration["service"] == "tpl-api"
    # Traefik picks the highest priority among matching routers: integration > API > catch-all.
    assert integration["priority"] > routers[f"{base}-api"]["priority"] > routers[f"{base}-http"]["priority"]
    assert config["middlewares"]["tpl-api-telematics-ratelimit"] == {
        "rateLimit": {"average": 5, "burst": 10, "period": "1s", "sourceCriterion": {"requestHost": True}}
    }
    assert config["services"]["tpl-api"]["loadBalancer"]["servers"] == [{"url": "http://tpl-api:8069"}]
    # Retry-friendly: no answer within the API timeout gives the integration a 504, not a 20-minute wait.
    assert config["services"]["tpl-api"]["loadBalancer"]["serversTransport"] == "tpl-api"
    assert config["serversTransports"]["tpl-api"]["forwardingTimeouts"]["responseHeaderTimeout"] == "120s"
    assert config["serversTransports"]["odoo"]["forwardingTimeouts"]["responseHeaderTimeout"] == "0s"


def test_queue_job_is_never_public():
    config = dynamic_config([_api_site()])["http"]
    blocked = config["routers"]["tpl--3pl-example-test-blocked"]
    assert blocked["rule"] == "Host(`3pl.example.test`) && (PathPrefix(`/queue_job/`))"
    assert blocked["middlewares"][0] == "deny-all"
    assert config["middlewares"]["deny-all"] == {"ipAllowList": {"sourceRange": ["255.255.255.255/32"]}}
    assert blocked["priority"] > config["routers"]["tpl--3pl-example-test-api"]["priority"]


def test_api_pool_route_in_kubernetes_targets_its_service():
    objects = k8s_objects([_api_site()])
    route = next(o for o in objects if o["kind"] == "IngressRoute")
    api = next(r for r in route["spec"]["routes"] if "ClientIP" not in r["match"] and "jsonrpc" in r["match"])
    assert api["services"] == [{"name": "odoo-tpl-api", "port": 8069, "serversTransport": "odoo-api"}]
    transport = next(o for o in objects if o["kind"] == "ServersTransport" and o["metadata"]["name"] == "odoo-api")
    assert transport["spec"]["forwardingTimeouts"]["responseHeaderTimeout"] == "120s"


def test_integrations_without_an_api_pool_are_refused():
    site = _api_site()
    site["endpoints"]["pools"] = {}
    with pytest.raises(InputError, match="need an api pool"):
        dynamic_config([site])
