# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traefik v3 configuration for the Odoo environments of one container host (or cluster).

Pure Python, no Ansible imports (Python 3.8+). One source of truth, three renderings:
``dynamic_config`` (file provider), ``static_config`` (traefik.yml) and ``k8s_objects``
(IngressRoute, Middleware, TLSOption, ServersTransport). Every rendering is built from the same
``sites``: one per environment, with the endpoints the odoo_container role publishes
(``container_spec()["endpoints"]``, or ``endpoints_from_plan`` for environments outside the run)
and the environment's options (maintenance, allow-list, database-manager CIDRs).

Routing per hostname (router priorities are explicit, never Traefik's rule-length default):

=====================  ==========  =====================================================
router                 priority    rule / target
=====================  ==========  =====================================================
``...-maintenance``    100         every path -> the maintenance service (503 page), only
                                   while the environment's ``maintenance`` is on
``...-dbmanager``      40          ``/web/database`` prefix -> 403 unless an admin CIDR
``...-login``          30          ``/web/login`` -> HTTP port, rate-limited per client
``...-evented``        20          ``/websocket`` (>= 16) or ``/longpolling`` (<= 15) ->
                                   evented port; absent when workers = 0 (FIELD_CASES F01)
``...-http``           10          everything else -> HTTP port
=====================  ==========  =====================================================

Sources: Traefik v3 reference (routers ``priority``, ``tls.options``, ``tls.stores``,
middlewares ``headers``/``compress``/``ipAllowList``/``rateLimit``, ``serversTransports``,
entrypoint ``http.redirections``, ``transport.respondingTimeouts``, ``forwardedHeaders``);
Odoo deployment docs (proxy section: ``/websocket`` to the gevent port, ``proxy_mode``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from typing import Any, Mapping, Sequence

from .odoo_conf import HTTP_PORT, evented_option, major_of
from .plan_result import InputError

PART_OF = "sysgenpro-odoo-platform"
MANAGED_BY = "sysgenpro.odoo_platform"
# Where the Traefik container finds its files (the role mounts the host directories there).
CONTAINER_DIR = "/etc/traefik"
DYNAMIC_FILE = "routes.yml"
NOBODY = "255.255.255.255/32"
PRIORITY = {
    "http": 10,
    "evented": 20,
    "api": 25,
    "api_integration": 27,
    "login": 30,
    "dbmanager": 40,
    "blocked": 45,
    "maintenance": 100,
}
# Workload pools Traefik routes to (plugins/module_utils/workload.py): the external-API pool.
EXPOSED_POOLS = ("api",)
# Paths never served publicly: queue_job's runjob controller is auth="none" (its runner calls it
# on the jobs pool's own loopback).
BLOCKED_PATHS = ("/queue_job/",)
TLS_VERSIONS = ("VersionTLS12", "VersionTLS13")
# TLS 1.2 suites with forward secrecy and AEAD only (Mozilla "intermediate"); TLS 1.3 suites are not
# configurable in Go and are all strong.
TLS12_CIPHERS = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
]
# The public options and their defaults (the role's traefik_* variables without the prefix).
DEFAULTS: dict[str, Any] = {
    "web_port": 8000,
    "websecure_port": 8443,
    "api_port": 8082,
    "https_public_port": 443,
    "tls_min_version": "VersionTLS12",
    "sni_strict": False,
    "certificates": [],
    "default_certificate": {},
    "hsts_seconds": 31536000,
    "hsts_preload": False,
    "admin_cidrs": [],
    "trusted_ips": [],
    "login_rate_average": 10,
    "login_rate_burst": 20,
    "login_rate_period": "1m",
    "websocket_timeout": "3600s",
    "idle_timeout": "180s",
    "dial_timeout": "10s",
    "health_interval": "10s",
    "log_level": "INFO",
    "access_log": True,
    "metrics": True,
    "maintenance_retry_after": 600,
    "maintenance_page_url": "",
}
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
_DURATION = re.compile(r"^\d+(ms|s|m|h)$")
_URL = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?(/[^\s]*)?$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def endpoints_from_plan(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The ``endpoints`` the odoo_container role publishes, computed from one plan entry (no secrets).

    Same rules as ``container_spec()["endpoints"]`` (a unit test keeps them equal): the evented
    port exists only when the web instance runs workers (a threaded server answers /websocket on
    its HTTP port, FIELD_CASES F01); its option is ``gevent_port`` from 16.0, ``longpolling_port``
    before, 8072 unless the plan's sizing says otherwise.
    """
    env = _require_name("environment", plan.get("environment"))
    major = major_of(plan.get("odoo_version"))
    sizing = (plan.get("web") or {}).get("settings") or {}
    workers = int(sizing.get("workers") or 0)
    evented_port = int(sizing.get(evented_option(major)) or 8072) if workers > 0 else None
    return {
        "hostnames": [str(h) for h in plan.get("hostnames") or []],
        "web_host": f"{env}-web",
        "http_port": HTTP_PORT,
        "evented_port": evented_port,
        "evented_path": "/websocket" if major >= 16 else "/longpolling",
        "health_path": "/web/health",
        "pools": {
            name: {
                "host": f"{env}-{name}",
                "port": HTTP_PORT,
                "paths": list(pool.get("paths") or []),
                "timeout_seconds": int(pool.get("timeout_seconds") or 0),
            }
            for name, pool in sorted((plan.get("pools") or {}).items())
            if name in EXPOSED_POOLS
        },
        "api_integrations": [dict(item) for item in plan.get("api_integrations") or []],
        "blocked_paths": list(BLOCKED_PATHS),
    }


def sites_from_plan(
    environments: Mapping[str, Mapping[str, Any]],
    runtime_host: str,
    env_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The sites of every active environment the plan places on ``runtime_host`` (whole inventory).

    ``env_options`` maps an environment to its inventory variables; ``odoo_platform_maintenance``,
    ``odoo_platform_allow_cidrs`` and ``odoo_platform_admin_cidrs`` become the site's options.
    """
    sites = []
    for name in sorted(environments):
        plan = environments[name]
        if plan.get("runtime_host") != runtime_host or plan.get("lifecycle", "active") != "active":
            continue
        opts = dict((env_options or {}).get(name) or {})
        site: dict[str, Any] = {
            "environment": name,
            "endpoints": endpoints_from_plan(plan),
            "network": f"odoo-{name}",
            "maintenance": bool(opts.get("odoo_platform_maintenance", False)),
            "allow_cidrs": list(opts.get("odoo_platform_allow_cidrs") or []),
        }
        if opts.get("odoo_platform_admin_cidrs") is not None:
            site["admin_cidrs"] = list(opts["odoo_platform_admin_cidrs"])
        sites.append(site)
    return sites


def _require_name(key: str, value: Any) -> str:
    text = str(value or "")
    if not _NAME.match(text) or len(text) > 40:
        raise InputError(key, value, "is not a DNS-1123 label of at most 40 characters", "e.g. wh-north")
    return text


def _cidrs(key: str, values: Any) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise InputError(key, values, "is not a list", "a list of CIDRs such as ['10.0.0.0/8']")
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(str(value), strict=False)))
        except ValueError:
            raise InputError(key, value, "is not an IP address or CIDR", "e.g. 192.0.2.0/24 or 2001:db8::/32") from None
    return sorted(set(out))


def _duration(key: str, value: Any) -> str:
    text = str(value)
    if not _DURATION.match(text):
        raise InputError(key, value, "is not a duration", "a number with ms, s, m or h, e.g. 3600s")
    return text


def _int(key: str, value: Any, minimum: int, maximum: int = 65535) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputError(key, value, "is not an integer", f"{minimum} to {maximum}") from None
    if isinstance(value, bool) or not minimum <= number <= maximum:
        raise InputError(key, value, "is out of range", f"{minimum} to {maximum}")
    return number


def normalize_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options with defaults filled in and every value checked; errors name ``traefik_<option>``."""
    opts = dict(DEFAULTS)
    unknown = sorted(set(options or {}) - set(DEFAULTS))
    if unknown:
        raise InputError(f"traefik_{unknown[0]}", (options or {})[unknown[0]], "is not an option", ", ".join(DEFAULTS))
    opts.update({k: v for k, v in dict(options or {}).items() if v is not None})
    ports = {}
    for key in ("web_port", "websecure_port", "api_port", "https_public_port"):
        ports[key] = opts[key] = _int(f"traefik_{key}", opts[key], 1)
    inner = [ports["web_port"], ports["websecure_port"], ports["api_port"]]
    if len(set(inner)) != 3:
        raise InputError("traefik_api_port", inner, "entrypoint ports collide", "three different ports")
    if opts["tls_min_version"] not in TLS_VERSIONS:
        raise InputError(
            "traefik_tls_min_version", opts["tls_min_version"], "is not supported", ", ".join(TLS_VERSIONS)
        )
    for key in ("websocket_timeout", "idle_timeout", "dial_timeout", "health_interval", "login_rate_period"):
        opts[key] = _duration(f"traefik_{key}", opts[key])
    opts["hsts_seconds"] = _int("traefik_hsts_seconds", opts["hsts_seconds"], 0, 2**31)
    opts["login_rate_average"] = _int("traefik_login_rate_average", opts["login_rate_average"], 1, 10**6)
    opts["login_rate_burst"] = _int("traefik_login_rate_burst", opts["login_rate_burst"], 1, 10**6)
    page = str(opts["maintenance_page_url"] or "")
    if page and not _URL.match(page):
        raise InputError(
            "traefik_maintenance_page_url", page, "is not an http(s) URL", "e.g. http://maintenance-pages:8080"
        )
    opts["maintenance_page_url"] = page.rstrip("/")
    opts["maintenance_retry_after"] = _int("traefik_maintenance_retry_after", opts["maintenance_retry_after"], 0, 86400)
    opts["admin_cidrs"] = _cidrs("traefik_admin_cidrs", opts["admin_cidrs"])
    opts["trusted_ips"] = _cidrs("traefik_trusted_ips", opts["trusted_ips"])
    certs = opts["certificates"]
    if isinstance(certs, (str, bytes, Mapping)) or not isinstance(certs, (list, tuple)):
        raise InputError("traefik_certificates", certs, "is not a list", "names or {certFile, keyFile} paths")
    opts["certificates"] = [_cert_files("traefik_certificates", c) for c in certs]
    default = opts["default_certificate"]
    opts["default_certificate"] = _cert_files("traefik_default_certificate", default) if default else {}
    return opts


def _cert_files(key: str, value: Any) -> dict[str, str]:
    """``name`` -> the pair ``/etc/traefik/certs/<name>.crt|.key``; a ``{certFile, keyFile}`` dict as is."""
    if isinstance(value, str) and _NAME.match(value):
        return {"certFile": f"{CONTAINER_DIR}/certs/{value}.crt", "keyFile": f"{CONTAINER_DIR}/certs/{value}.key"}
    if isinstance(value, Mapping) and value.get("certFile") and value.get("keyFile"):
        return {"certFile": str(value["certFile"]), "keyFile": str(value["keyFile"])}
    raise InputError(key, value, "is not a certificate", "a file name such as site-0, or {certFile, keyFile} paths")


def normalize_sites(sites: Sequence[Mapping[str, Any]], options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Checked sites, sorted by environment; a hostname claimed twice is refused (naming both)."""
    if isinstance(sites, (str, bytes, Mapping)) or not isinstance(sites, (list, tuple)):
        raise InputError("traefik_sites", sites, "is not a list", "a list of {environment, endpoints, ...}")
    owners: dict[str, str] = {}
    out = []
    for index, site in enumerate(sites):
        where = f"traefik_sites[{index}]"
        if not isinstance(site, Mapping):
            raise InputError(where, site, "is not a dict", "{environment, endpoints, ...}")
        env = _require_name(f"{where}.environment", site.get("environment"))
        where = f"traefik_sites[{env}]"
        ends = site.get("endpoints")
        if not isinstance(ends, Mapping):
            raise InputError(f"{where}.endpoints", ends, "is missing", "odoo_container_endpoints of the environment")
        hosts = ends.get("hostnames")
        if isinstance(hosts, (str, bytes)) or not isinstance(hosts, (list, tuple)):
            raise InputError(f"{where}.endpoints.hostnames", hosts, "is not a list", "e.g. ['erp.example.com']")
        names = []
        for host in hosts:
            name = str(host).strip().lower().rstrip(".")
            if not _HOSTNAME.match(name):
                raise InputError(f"{where}.endpoints.hostnames", host, "is not a DNS name", "e.g. erp.example.com")
            if name in owners and owners[name] != env:
                raise InputError(
                    f"{where}.endpoints.hostnames", host, f"is already routed to {owners[name]}", "a hostname per site"
                )
            owners[name] = env
            names.append(name)
        evented_port = ends.get("evented_port")
        evented_path = str(ends.get("evented_path") or "")
        if evented_port is not None and evented_path not in ("/websocket", "/longpolling"):
            raise InputError(f"{where}.endpoints.evented_path", evented_path, "is unknown", "/websocket, /longpolling")
        admin = site.get("admin_cidrs")
        pools = _pools(where, ends)
        out.append(
            {
                "environment": env,
                "hostnames": sorted(set(names)),
                "web_host": str(ends.get("web_host") or f"{env}-web"),
                "http_port": _int(f"{where}.endpoints.http_port", ends.get("http_port") or HTTP_PORT, 1),
                "evented_port": None
                if evented_port is None
                else _int(f"{where}.endpoints.evented_port", evented_port, 1),
                "evented_path": evented_path,
                "health_path": str(ends.get("health_path") or "/web/health"),
                "maintenance": bool(site.get("maintenance", False)),
                "allow_cidrs": _cidrs(f"{where}.allow_cidrs", site.get("allow_cidrs") or []),
                "admin_cidrs": options["admin_cidrs"] if admin is None else _cidrs(f"{where}.admin_cidrs", admin or []),
                "network": str(site.get("network") or f"odoo-{env}"),
                "service": site.get("service") or {},
                "pools": pools,
                "integrations": _integrations(where, ends, pools),
                "blocked_paths": [str(p) for p in ends.get("blocked_paths") or []],
            }
        )
    return sorted(out, key=lambda s: s["environment"])


def _pools(where: str, ends: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    pools = {}
    for name, pool in sorted(dict(ends.get("pools") or {}).items()):
        key = f"{where}.endpoints.pools.{name}"
        paths = [str(p) for p in (pool or {}).get("paths") or []]
        if name not in EXPOSED_POOLS or not paths or not all(p.startswith("/") for p in paths):
            raise InputError(key, pool, "is not a routed pool with paths", f"one of {', '.join(EXPOSED_POOLS)}")
        pools[name] = {
            "host": str(pool.get("host") or ""),
            "port": _int(f"{key}.port", pool.get("port") or HTTP_PORT, 1),
            "paths": paths,
            # 0 = no own timeout (the shared odoo serversTransport).
            "timeout_seconds": _int(f"{key}.timeout_seconds", pool.get("timeout_seconds") or 0, 0, 86400),
        }
    return pools


def _integrations(where: str, ends: Mapping[str, Any], pools: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = [dict(i) for i in ends.get("api_integrations") or []]
    if items and "api" not in pools:
        raise InputError(f"{where}.endpoints.api_integrations", items, "need an api pool", "transport_api_heavy")
    for item in items:
        key = f"{where}.endpoints.api_integrations[{item.get('name')}]"
        _require_name(f"{key}.name", item.get("name"))
        item["source_ranges"] = _cidrs(f"{key}.source_ranges", item.get("source_ranges") or [])
        item["average"] = _int(f"{key}.average", item.get("average"), 1, 100000)
        item["burst"] = _int(f"{key}.burst", item.get("burst"), 1, 100000)
    return items


def _paths_rule(paths: Sequence[str]) -> str:
    return " || ".join(f"PathPrefix(`{p}`)" for p in paths)


def _transport(opts: Mapping[str, Any], response_header_timeout: str) -> dict[str, Any]:
    return {
        "forwardingTimeouts": {
            "dialTimeout": opts["dial_timeout"],
            "responseHeaderTimeout": response_header_timeout,
            "idleConnTimeout": opts["idle_timeout"],
        }
    }


def _slug(hostname: str) -> str:
    return hostname.replace(".", "-")


def _host_rule(hostname: str) -> str:
    return f"Host(`{hostname}`)"


def _ip_strategy(opts: Mapping[str, Any]) -> dict[str, Any]:
    # Behind a trusted load balancer the client is the first address in X-Forwarded-For that is
    # not one of the balancer's; without one, the TCP peer.
    return {"ipStrategy": {"excludedIPs": list(opts["trusted_ips"])}} if opts["trusted_ips"] else {}


def _site_middlewares(site: Mapping[str, Any], opts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    env = site["environment"]
    mws: dict[str, dict[str, Any]] = {}
    if site["allow_cidrs"]:
        mws[f"{env}-allow"] = {"ipAllowList": {"sourceRange": list(site["allow_cidrs"]), **_ip_strategy(opts)}}
    # No admin CIDR: the list holds only the broadcast address, never the source of a TCP connection,
    # so every client gets 403 (an ipAllowList cannot be empty).
    mws[f"{env}-dbmanager"] = {
        "ipAllowList": {"sourceRange": list(site["admin_cidrs"]) or [NOBODY], **_ip_strategy(opts)}
    }
    for item in site["integrations"]:
        # One bucket per integration and hostname (requestHost): its addresses share the limit.
        mws[f"{env}-api-{item['name']}-ratelimit"] = {
            "rateLimit": {
                "average": item["average"],
                "burst": item["burst"],
                "period": "1s",
                "sourceCriterion": {"requestHost": True},
            }
        }
    return mws


def _shared_middlewares(opts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    headers: dict[str, Any] = {
        "stsSeconds": opts["hsts_seconds"],
        "stsIncludeSubdomains": True,
        "stsPreload": bool(opts["hsts_preload"]),
        "forceSTSHeader": True,
        "contentTypeNosniff": True,
        # Odoo frames its own pages (website editor, report previews): SAMEORIGIN, not DENY.
        "customFrameOptionsValue": "SAMEORIGIN",
        "referrerPolicy": "strict-origin-when-cross-origin",
        "permissionsPolicy": "camera=(), microphone=(), geolocation=(self)",
        # An empty value removes the header: the backend's software stays unnamed.
        "customResponseHeaders": {"Server": "", "X-Powered-By": ""},
    }
    return {
        "security-headers": {"headers": headers},
        # Streams and already-compressed types stay as they are.
        "compress": {"compress": {"excludedContentTypes": ["text/event-stream"], "minResponseBodyBytes": 1024}},
        "login-ratelimit": {
            "rateLimit": {
                "average": opts["login_rate_average"],
                "burst": opts["login_rate_burst"],
                "period": opts["login_rate_period"],
                **({"sourceCriterion": _ip_strategy(opts)} if opts["trusted_ips"] else {}),
            }
        },
        # Paths that are never public (BLOCKED_PATHS): the allow-list holds nobody, so 403.
        "deny-all": {"ipAllowList": {"sourceRange": [NOBODY]}},
        "maintenance-headers": {
            "headers": {
                "customResponseHeaders": {
                    "Retry-After": str(opts["maintenance_retry_after"]),
                    "Cache-Control": "no-store",
                }
            }
        },
    }


def _routes(site: Mapping[str, Any], page: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The routes of one site, provider-neutral: name, match, priority, middlewares, service kind."""
    env = site["environment"]
    allow = [f"{env}-allow"] if site["allow_cidrs"] else []
    routes = []
    for host in site["hostnames"]:
        base = f"{env}--{_slug(host)}"
        rule = _host_rule(host)
        if site["maintenance"]:
            routes.append(
                {
                    "name": f"{base}-maintenance",
                    "rule": rule,
                    "priority": PRIORITY["maintenance"],
                    "middlewares": [*allow, "security-headers", "maintenance-headers", *page],
                    "service": "maintenance",
                }
            )
        if site["blocked_paths"]:
            routes.append(
                {
                    "name": f"{base}-blocked",
                    "rule": f"{rule} && ({_paths_rule(site['blocked_paths'])})",
                    "priority": PRIORITY["blocked"],
                    "middlewares": ["deny-all", "security-headers"],
                    "service": "http",
                }
            )
        api = site["pools"].get("api")
        if api:
            api_rule = f"{rule} && ({_paths_rule(api['paths'])})"
            for item in site["integrations"]:
                sources = " || ".join(f"ClientIP(`{cidr}`)" for cidr in item["source_ranges"])
                routes.append(
                    {
                        "name": f"{base}-api-{item['name']}",
                        "rule": f"{api_rule} && ({sources})",
                        "priority": PRIORITY["api_integration"],
                        "middlewares": [*allow, f"{env}-api-{item['name']}-ratelimit", "security-headers", "compress"],
                        "service": "api",
                    }
                )
            routes.append(
                {
                    "name": f"{base}-api",
                    "rule": api_rule,
                    "priority": PRIORITY["api"],
                    "middlewares": [*allow, "security-headers", "compress"],
                    "service": "api",
                }
            )
        routes.append(
            {
                "name": f"{base}-dbmanager",
                "rule": f"{rule} && PathPrefix(`/web/database`)",
                "priority": PRIORITY["dbmanager"],
                "middlewares": [*allow, f"{env}-dbmanager", "security-headers"],
                "service": "http",
            }
        )
        routes.append(
            {
                "name": f"{base}-login",
                "rule": f"{rule} && Path(`/web/login`)",
                "priority": PRIORITY["login"],
                "middlewares": [*allow, "login-ratelimit", "security-headers", "compress"],
                "service": "http",
            }
        )
        if site["evented_port"] is not None:
            routes.append(
                {
                    "name": f"{base}-evented",
                    "rule": f"{rule} && PathPrefix(`{site['evented_path']}`)",
                    "priority": PRIORITY["evented"],
                    # No compression on the websocket upgrade.
                    "middlewares": [*allow, "security-headers"],
                    "service": "evented",
                }
            )
        routes.append(
            {
                "name": f"{base}-http",
                "rule": rule,
                "priority": PRIORITY["http"],
                "middlewares": [*allow, "security-headers", "compress"],
                "service": "http",
            }
        )
    return routes


def dynamic_config(sites: Sequence[Mapping[str, Any]], options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The file provider's dynamic configuration for every site (deterministic: sorted keys)."""
    opts = normalize_options(options)
    checked = normalize_sites(sites, opts)
    routers: dict[str, Any] = {}
    services: dict[str, Any] = {
        # A load balancer without servers answers 503: the maintenance page, served by Traefik itself.
        "maintenance": {"loadBalancer": {"servers": []}},
    }
    middlewares = _shared_middlewares(opts)
    # responseHeaderTimeout 0: Odoo's own limit_time_real bounds a request (API pools set their own).
    transports: dict[str, Any] = {"odoo": _transport(opts, "0s")}
    page: list[str] = []
    if opts["maintenance_page_url"]:
        # The 503 keeps its status; its body comes from the operator's static page server.
        services["maintenance-page"] = {"loadBalancer": {"servers": [{"url": opts["maintenance_page_url"]}]}}
        middlewares["maintenance-page"] = {
            "errors": {"status": ["503"], "service": "maintenance-page", "query": "/maintenance.html"}
        }
        page = ["maintenance-page"]
    for site in checked:
        env = site["environment"]
        middlewares.update(_site_middlewares(site, opts))
        services[f"{env}-http"] = {
            "loadBalancer": {
                "servers": [{"url": f"http://{site['web_host']}:{site['http_port']}"}],
                "passHostHeader": True,
                "serversTransport": "odoo",
                "healthCheck": {"path": site["health_path"], "interval": opts["health_interval"], "timeout": "5s"},
            }
        }
        for pool_name, pool in site["pools"].items():
            transport = "odoo"
            if pool["timeout_seconds"]:
                transport = f"{env}-{pool_name}"
                transports[transport] = _transport(opts, f"{pool['timeout_seconds']}s")
            services[f"{env}-{pool_name}"] = {
                "loadBalancer": {
                    "servers": [{"url": f"http://{pool['host']}:{pool['port']}"}],
                    "passHostHeader": True,
                    "serversTransport": transport,
                    "healthCheck": {"path": site["health_path"], "interval": opts["health_interval"], "timeout": "5s"},
                }
            }
        if site["evented_port"] is not None:
            services[f"{env}-evented"] = {
                "loadBalancer": {
                    "servers": [{"url": f"http://{site['web_host']}:{site['evented_port']}"}],
                    "passHostHeader": True,
                    "serversTransport": "odoo",
                }
            }
        for route in _routes(site, page):
            service = "maintenance" if route["service"] == "maintenance" else f"{env}-{route['service']}"
            routers[route["name"]] = {
                "entryPoints": ["websecure"],
                "rule": route["rule"],
                "priority": route["priority"],
                "middlewares": route["middlewares"],
                "service": service,
                "tls": {},
            }
    tls: dict[str, Any] = {
        "options": {
            "default": {
                "minVersion": opts["tls_min_version"],
                "sniStrict": bool(opts["sni_strict"]),
                **({"cipherSuites": list(TLS12_CIPHERS)} if opts["tls_min_version"] == "VersionTLS12" else {}),
            }
        }
    }
    if opts["certificates"]:
        tls["certificates"] = sorted(opts["certificates"], key=lambda c: c["certFile"])
    if opts["default_certificate"]:
        tls["stores"] = {"default": {"defaultCertificate": dict(opts["default_certificate"])}}
    config = {
        "http": {
            "routers": routers,
            "services": services,
            "middlewares": middlewares,
            "serversTransports": transports,
        },
        "tls": tls,
    }
    return _sorted(config)


def static_config(options: Mapping[str, Any] | None = None, dynamic_file: str | None = None) -> dict[str, Any]:
    """traefik.yml: entrypoints web (redirects), websecure (TLS), traefik (API, /ping, metrics)."""
    opts = normalize_options(options)
    forwarded = {"forwardedHeaders": {"trustedIPs": list(opts["trusted_ips"])}} if opts["trusted_ips"] else {}
    redirect_to = f":{opts['https_public_port']}"
    config: dict[str, Any] = {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": {
            "web": {
                "address": f":{opts['web_port']}",
                "http": {"redirections": {"entryPoint": {"to": redirect_to, "scheme": "https", "permanent": True}}},
                **forwarded,
            },
            "websecure": {
                "address": f":{opts['websecure_port']}",
                "http": {"tls": {}},
                # A websocket (Odoo's bus) stays open for as long as the tab: the read timeout, which
                # Traefik v3 sets to 60s by default, would cut it and large uploads.
                "transport": {
                    "respondingTimeouts": {
                        "readTimeout": opts["websocket_timeout"],
                        "writeTimeout": "0s",
                        "idleTimeout": opts["idle_timeout"],
                    }
                },
                **forwarded,
            },
            "traefik": {"address": f":{opts['api_port']}"},
        },
        "api": {"dashboard": False, "insecure": True},
        "ping": {"entryPoint": "traefik"},
        "log": {"level": str(opts["log_level"]).upper(), "format": "json"},
        "providers": {
            "file": {"filename": dynamic_file or f"{CONTAINER_DIR}/dynamic/{DYNAMIC_FILE}", "watch": True},
        },
    }
    if opts["access_log"]:
        config["accessLog"] = {
            "format": "json",
            # Request headers hold session cookies: keep none of them in the log.
            "fields": {"defaultMode": "keep", "headers": {"defaultMode": "drop"}},
        }
    if opts["metrics"]:
        config["metrics"] = {
            "prometheus": {"entryPoint": "traefik", "addRoutersLabels": True, "addServicesLabels": True}
        }
    return _sorted(config)


def expected_routers(dynamic: Mapping[str, Any]) -> list[str]:
    """The router names Traefik's API must list (``<name>@file``) once the file is loaded."""
    return sorted(f"{name}@file" for name in ((dynamic.get("http") or {}).get("routers") or {}))


def router_problems(api_routers: Any, dynamic: Mapping[str, Any]) -> list[str]:
    """What Traefik's ``/api/http/routers`` answer lacks against the dynamic config; [] = all loaded.

    A router must be listed, ``enabled``, and carry the rule and priority of the file: a router
    with the same name but the previous rule means the new file is not loaded yet.
    """
    listed = {str(r.get("name")): r for r in (api_routers or []) if isinstance(r, Mapping)}
    problems = []
    for name, router in sorted(((dynamic.get("http") or {}).get("routers") or {}).items()):
        got = listed.get(f"{name}@file")
        if got is None:
            problems.append(f"{name}: not loaded")
        elif got.get("status") != "enabled":
            problems.append(f"{name}: {got.get('status')} {'; '.join(str(e) for e in got.get('error') or [])}".strip())
        elif got.get("rule") != router["rule"] or int(got.get("priority") or 0) != int(router["priority"]):
            problems.append(f"{name}: the previous version is still loaded")
    wanted = {f"{name}@file" for name in ((dynamic.get("http") or {}).get("routers") or {})}
    stale = sorted(n for n in listed if n.endswith("@file") and n not in wanted)
    problems.extend(f"{name}: still loaded, removed from the file" for name in stale)
    return problems


def config_hash(*parts: Any) -> str:
    """A short content hash (image tags, change detection)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_sorted(v) for v in value]
    return value


# -- Kubernetes ---------------------------------------------------------------------------------

K8S_DEFAULTS: dict[str, Any] = {
    "namespace": "",
    "tls_secret": "",
    "entry_point": "websecure",
}


def _k8s_meta(env: str, name: str, namespace: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {
            "app.kubernetes.io/name": "odoo",
            "app.kubernetes.io/instance": env,
            "app.kubernetes.io/component": "ingress",
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        },
    }


def k8s_objects(
    sites: Sequence[Mapping[str, Any]], options: Mapping[str, Any] | None = None, k8s: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """traefik.io/v1alpha1 objects per site, in the environment's namespace (no cross-namespace refs).

    Same routes, priorities and middlewares as ``dynamic_config``. The Odoo Service is the one
    odoo_container renders (``odoo-<environment>``, ports ``http`` and ``evented``). ``k8s``:
    ``namespace`` (default ``odoo-<environment>``), ``tls_secret`` (default ``odoo-<environment>-tls``),
    ``entry_point``. Maintenance routes go to ``odoo-<environment>-maintenance``, a Service
    without selector (no endpoints), for which Traefik answers 503 as it does in the file provider.
    """
    opts = normalize_options(options)
    kopts = dict(K8S_DEFAULTS)
    kopts.update({k: v for k, v in dict(k8s or {}).items() if v not in (None, "")})
    objects: list[dict[str, Any]] = []
    shared = _shared_middlewares(opts)
    for site in normalize_sites(sites, opts):
        env = site["environment"]
        ns = str(kopts["namespace"] or f"odoo-{env}")
        service_name = f"odoo-{env}"
        objects.append(
            {
                "apiVersion": "traefik.io/v1alpha1",
                "kind": "TLSOption",
                "metadata": _k8s_meta(env, "odoo-tls", ns),
                "spec": dynamic_config([], options)["tls"]["options"]["default"],
            }
        )
        objects.append(
            {
                "apiVersion": "traefik.io/v1alpha1",
                "kind": "ServersTransport",
                "metadata": _k8s_meta(env, "odoo", ns),
                "spec": {
                    "forwardingTimeouts": {
                        "dialTimeout": opts["dial_timeout"],
                        "responseHeaderTimeout": "0s",
                        "idleConnTimeout": opts["idle_timeout"],
                    }
                },
            }
        )
        for pool_name, pool in site["pools"].items():
            if pool["timeout_seconds"]:
                objects.append(
                    {
                        "apiVersion": "traefik.io/v1alpha1",
                        "kind": "ServersTransport",
                        "metadata": _k8s_meta(env, f"odoo-{pool_name}", ns),
                        "spec": _transport(opts, f"{pool['timeout_seconds']}s"),
                    }
                )
        middlewares = dict(shared)
        middlewares.update(_site_middlewares(site, opts))
        for name in sorted(middlewares):
            objects.append(
                {
                    "apiVersion": "traefik.io/v1alpha1",
                    "kind": "Middleware",
                    "metadata": _k8s_meta(env, name, ns),
                    "spec": middlewares[name],
                }
            )
        ports = {"http": site["http_port"], "evented": site["evented_port"]}
        routes = []
        for route in _routes(site):
            if route["service"] == "maintenance":
                target = {"name": f"odoo-{env}-maintenance", "port": 80}
            elif route["service"] in site["pools"]:
                # odoo_container renders a Service per routed pool: odoo-<environment>-<pool>, port http.
                pool = site["pools"][route["service"]]
                target = {
                    "name": f"{service_name}-{route['service']}",
                    "port": pool["port"],
                    "serversTransport": f"odoo-{route['service']}" if pool["timeout_seconds"] else "odoo",
                }
            else:
                target = {"name": service_name, "port": ports[route["service"]], "serversTransport": "odoo"}
            routes.append(
                {
                    "kind": "Rule",
                    "match": route["rule"],
                    "priority": route["priority"],
                    "middlewares": [{"name": m} for m in route["middlewares"]],
                    "services": [target],
                }
            )
        if site["maintenance"]:
            # A Service without selector or endpoints: Traefik answers 503 for it.
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": _k8s_meta(env, f"odoo-{env}-maintenance", ns),
                    "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
                }
            )
        if routes:
            objects.append(
                {
                    "apiVersion": "traefik.io/v1alpha1",
                    "kind": "IngressRoute",
                    "metadata": _k8s_meta(env, f"odoo-{env}", ns),
                    "spec": {
                        "entryPoints": [str(kopts["entry_point"])],
                        "routes": routes,
                        "tls": {
                            "secretName": str(kopts["tls_secret"] or f"odoo-{env}-tls"),
                            "options": {"name": "odoo-tls", "namespace": ns},
                        },
                    },
                }
            )
    return [_sorted(o) for o in objects]
