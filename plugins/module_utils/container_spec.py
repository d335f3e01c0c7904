# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One container spec per environment, and what the Docker runtime must do to reach it.

Pure Python, no Ansible imports (Python 3.8+). ``container_spec`` turns one environment of the
estate plan into a runtime-neutral spec (odoo.conf files, instances, resources, probes,
labels, a content hash). ``docker_actions`` compares that spec with the containers a Docker
Engine reports and returns the few steps a run needs; ``k8s_objects`` (its own module) renders
the same spec as Kubernetes objects, so the two runtimes never diverge.

Docker rollout (blue/green per replica, surge 1 as the plan's connection budget assumes):
for each web replica, start the new container and wait until it is healthy, then stop one old
container; cron (single instance) stops its old container first. Old containers are only
*stopped* until every new one is healthy, so a rollback is "remove the new, start the old":
the previous image and configuration come back exactly as they were.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any, Mapping, Sequence

from .odoo_conf import HTTP_PORT, major_of, render_odoo_conf
from .plan_result import InputError
from .units import parse_cpu, parse_size

LABEL_PREFIX = "org.sysgenpro.odoo"
LABEL_ENV = f"{LABEL_PREFIX}.environment"
LABEL_COMPONENT = f"{LABEL_PREFIX}.component"
LABEL_SPEC = f"{LABEL_PREFIX}.spec"
LABEL_CONFIG_DIR = f"{LABEL_PREFIX}.config-dir"
CONF_PATH = "/etc/odoo/odoo.conf"
CA_PATH = "/etc/odoo/db-ca.crt"
# The Redis ACL user's password, read by the derived image's entrypoint (never in the environment or argv).
REDIS_PASSWORD_PATH = "/etc/odoo/redis-password"
# uid:gid of the odoo user in the official image (odoo .deb's adduser --system on the image's base):
# tests/images/odoo-standin/README.md gives the sources (odoo/docker Dockerfiles, odoo/odoo#183106).
OFFICIAL_UID_GID = {16: (101, 101), 17: (101, 101), 18: (100, 101), 19: (100, 101)}
DEFAULT_HEALTHCHECK = {"interval": "10s", "timeout": "5s", "retries": 3, "start_period": "60s"}
_SECRET_KEYS = ("db_password", "admin_password")
# Every instance kind a container of an environment can be (web, cron apart, workload pools).
_COMPONENTS = ("web", "cron", "api", "jobs")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# Run by the init container with the image's own python3 and psycopg2 (both in Odoo's image):
# initialise only a database that is missing or has no base schema, so a re-run never turns
# into Odoo's "-i base on an installed database" (which upgrades base).
INIT_DB_SCRIPT = """\
import configparser, os, sys, time
import psycopg2
rc = os.environ.get("ODOO_RC", "/etc/odoo/odoo.conf")
parser = configparser.RawConfigParser()
parser.read(rc)
opts = dict(parser.items("options"))
kw = {k: opts["db_" + k] for k in ("host", "port", "user", "password", "sslmode") if opts.get("db_" + k)}
db = opts["db_name"]
deadline = time.time() + float(os.environ.get("ODOO_INIT_WAIT", "60"))
while True:
    try:
        conn = psycopg2.connect(dbname=db, **kw)
    except psycopg2.OperationalError as exc:
        if "does not exist" in str(exc):
            conn = None
            break
        if time.time() > deadline:
            sys.exit("odoo-init: database server unreachable: %s" % str(exc).strip())
        time.sleep(2)
        continue
    break
if conn is not None:
    cur = conn.cursor()
    cur.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
    ready = cur.fetchone()[0]
    conn.close()
    if ready:
        print("odoo-init: database %s is already initialised, nothing to do" % db)
        sys.exit(0)
print("odoo-init: initialising database %s (-i base)" % db, flush=True)
os.execvp("odoo", ["odoo", "-c", rc, "-d", db, "-i", "base", "--stop-after-init"])
"""


def _redis_session_env(env: str, redis: Mapping[str, Any], options: Mapping[str, Any], env_vars: dict) -> str:
    """Add camptocamp session_redis's variables for the tenant's ACL user; return its password (a file)."""
    if not options.get("redis_host"):
        raise InputError(
            "redis_host",
            "",
            f"is empty, yet the plan keeps {env}'s sessions in Redis ({redis.get('reason')})",
            "the Redis server's host name as the containers reach it",
        )
    if not options.get("redis_password"):
        raise InputError(
            "redis_password",
            "<value not shown>",
            f"is empty, yet {env} authenticates to Redis as ACL user {redis.get('user')}",
            "the tenant's Redis password from the vault (odoo_platform_redis_password)",
        )
    env_vars.update(
        {
            "ODOO_SESSION_REDIS": "1",
            "ODOO_SESSION_REDIS_HOST": str(options["redis_host"]),
            "ODOO_SESSION_REDIS_PORT": str(options.get("redis_port") or 6379),
            "ODOO_SESSION_REDIS_PREFIX": str(redis.get("key_prefix") or "").rstrip(":").split(":", 1)[-1],
            "ODOO_SESSION_REDIS_USER": str(redis.get("user") or ""),
            # The derived image's entrypoint turns user, password file, host and port into ODOO_SESSION_REDIS_URL.
            "ODOO_SESSION_REDIS_PASSWORD_FILE": REDIS_PASSWORD_PATH,
        }
    )
    if options.get("redis_tls"):
        env_vars["ODOO_SESSION_REDIS_SSL"] = "1"
    return str(options["redis_password"])


def _instance(plan: Mapping[str, Any], role: str, conf: Any, conf_file: str) -> dict[str, Any]:
    """One instance (web, cron, or a workload pool) with its replicas and container resources."""
    pool = (plan.get("pools") or {}).get(role) or {}
    where = f"pools.{role}" if pool else "web"
    resources = ((pool or plan["web"]).get("settings") or {}).get("resources") or {}
    if role == "web":
        replicas = int(plan.get("replicas") or 1)
        most = int(plan.get("max_replicas") or replicas)
    else:
        replicas = int(pool.get("replicas") or 1)
        most = int(pool.get("max_replicas") or replicas)
    return {
        "component": role,
        "replicas": replicas,
        "max_replicas": most,
        "conf_file": conf_file,
        "http_port": HTTP_PORT,
        "evented_port": conf.evented_port,
        # Routed by Traefik: the interactive web pool, and the api pool of a transport_api_heavy profile.
        "exposed": role in ("web", "api"),
        # One process at a time: cron (no duplicate scheduled actions), jobs (one queue_job runner).
        "exclusive": role in ("cron", "jobs"),
        "env": {"ODOO_PLATFORM_POOL": role},
        "workers": int(conf.options["workers"]),
        "max_cron_threads": int(conf.options["max_cron_threads"]),
        "memory_limit": _bytes(f"{where}.settings.resources.limits.memory", resources.get("limits", {}).get("memory")),
        "memory_request": _bytes(
            f"{where}.settings.resources.requests.memory", resources.get("requests", {}).get("memory")
        ),
        "cpu_request": str(resources.get("requests", {}).get("cpu") or "1"),
    }


def _require_name(key: str, value: Any) -> str:
    text = str(value or "")
    if not _NAME.match(text) or len(text) > 40:
        raise InputError(key, value, "is not a DNS-1123 label of at most 40 characters", "e.g. wh-north")
    return text


def _bytes(key: str, value: Any) -> int:
    return parse_size(key, value).bytes


def container_spec(plan: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The runtime-neutral spec of one environment.

    ``plan`` is one entry of ``estate_plan().environments``; ``options`` carries what the plan
    does not: ``image`` and ``db_host`` (required), ``db_password`` and ``admin_password``
    (secrets, required), ``db_port``, ``db_sslmode``, ``db_ca_cert`` (PEM), ``proxy_mode``,
    ``data_dir``, ``addons_path``, ``server_wide_modules``, ``dbfilter``, ``extra_options``,
    ``env`` (non-secret environment), ``uid``/``gid``, ``labels``, ``healthcheck``; when the plan
    keeps sessions in Redis: ``redis_host`` and ``redis_password`` (the ACL user's, secret; the
    user itself comes from the plan), ``redis_port``, ``redis_tls``.
    """
    env_name = _require_name("environment", plan.get("environment"))
    for key in ("image", "db_host", *_SECRET_KEYS):
        if not options.get(key):
            shown = "<value not shown>" if key in _SECRET_KEYS else options.get(key)
            raise InputError(key, shown, "is required", "a non-empty string")
    major = major_of(plan.get("odoo_version"))
    sslmode = str(options.get("db_sslmode") or "verify-full")
    ca_cert = str(options.get("db_ca_cert") or "")
    if sslmode in ("verify-ca", "verify-full") and not ca_cert.strip():
        raise InputError(
            "db_ca_cert", "", f"is empty, yet db_sslmode {sslmode} must verify the server", "the CA certificate (PEM)"
        )
    uid, gid = OFFICIAL_UID_GID.get(major, (101, 101))
    uid = int(options.get("uid") or uid)
    gid = int(options.get("gid") or gid)
    data_dir = str(options.get("data_dir") or "/var/lib/odoo")
    conf_args = {
        "db_host": str(options["db_host"]),
        "db_port": int(options.get("db_port") or 5432),
        "db_sslmode": sslmode,
        "db_password": str(options["db_password"]),
        "admin_passwd": str(options["admin_password"]),
        "proxy_mode": bool(options.get("proxy_mode")),
        "data_dir": data_dir,
        "addons_path": list(options.get("addons_path") or ["/mnt/extra-addons"]),
        "server_wide_modules": list(options.get("server_wide_modules") or ["base", "web"]),
        "dbfilter": options.get("dbfilter") or None,
        "extra_options": dict(options.get("extra_options") or {}),
    }
    policy = (plan.get("policy") or {}).get("settings") or {}
    env_vars = {"ODOO_RC": CONF_PATH}
    redis = plan.get("redis") or {}
    secret_files: dict[str, str] = {}
    if redis.get("enabled"):
        secret_files["redis-password"] = _redis_session_env(env_name, redis, options, env_vars)
        if "session_redis" not in conf_args["server_wide_modules"]:
            conf_args["server_wide_modules"].append("session_redis")
    env_vars.update({str(k): str(v) for k, v in dict(options.get("env") or {}).items()})
    files: dict[str, str] = {}
    redacted: dict[str, str] = {}
    if ca_cert.strip():
        files["db-ca.crt"] = ca_cert if ca_cert.endswith("\n") else ca_cert + "\n"
        redacted["db-ca.crt"] = files["db-ca.crt"]  # a CA certificate is public
        env_vars["PGSSLROOTCERT"] = CA_PATH  # odoo.conf has no root-certificate option; libpq reads this
    for name, secret in secret_files.items():
        files[name] = secret + "\n"
        redacted[name] = "<redacted>\n"

    instances: list[dict[str, Any]] = []
    pools = dict(plan.get("pools") or {})
    roles = (["web", "cron"] if plan.get("cron_apart") else ["web"]) + sorted(pools)
    for role in roles:
        conf = render_odoo_conf(plan, role=role, **conf_args)
        conf_file = f"odoo-{role}.conf"
        files[conf_file] = conf.text
        redacted[conf_file] = conf.redacted()
        instances.append(_instance(plan, role, conf, conf_file))
    healthcheck = dict(DEFAULT_HEALTHCHECK)
    healthcheck.update(dict(options.get("healthcheck") or {}))
    spec = {
        "environment": env_name,
        "tenant": plan.get("tenant"),
        "tier": plan.get("tier"),
        "tenancy": plan.get("tenancy"),
        "odoo_version": f"{major}.0",
        "database": plan.get("database"),
        "image": str(options["image"]),
        "uid": uid,
        "gid": gid,
        "data_dir": data_dir,
        "env": env_vars,
        "instances": instances,
        "healthcheck": healthcheck,
        "health_path": "/web/health",
        "labels": {str(k): str(v) for k, v in dict(options.get("labels") or {}).items()},
        "redacted_files": redacted,
        "cron_apart": bool(plan.get("cron_apart")),
        "pod_disruption_budget": dict(policy.get("pod_disruption_budget") or {}),
        "autoscaling_allowed": bool(policy.get("autoscaling_allowed")),
        # Handed to the traefik and observability roles: /websocket (>= 16) or /longpolling goes to
        # the evented port with a higher priority than the catch-all route (FIELD_CASES F01).
        "endpoints": {
            "hostnames": [str(h) for h in plan.get("hostnames") or []],
            "web_host": f"{env_name}-web",
            "http_port": HTTP_PORT,
            "evented_port": instances[0]["evented_port"],
            "evented_path": "/websocket" if major >= 16 else "/longpolling",
            "health_path": "/web/health",
            # Side pools of the workload profile: the traefik role routes these paths to their own service.
            "pools": {
                i["component"]: {
                    "host": f"{env_name}-{i['component']}",
                    "port": HTTP_PORT,
                    "paths": list(pools[i["component"]].get("paths") or []),
                    "timeout_seconds": int(pools[i["component"]].get("timeout_seconds") or 0),
                }
                for i in instances
                if i["component"] in pools and i["exposed"]
            },
            "api_integrations": [dict(item) for item in plan.get("api_integrations") or []],
            # Never public: queue_job's runjob controller (auth="none").
            "blocked_paths": ["/queue_job/"],
        },
    }
    # The hash names what runs: any change of image, configuration or limits gives a new one.
    # Keyed with the secrets, so a label never lets anyone test guesses of a password offline.
    key = (str(options["admin_password"]) + "\0" + str(options["db_password"])).encode()
    body = json.dumps({"spec": spec, "files": files}, sort_keys=True).encode()
    spec["hash"] = hmac.new(key, body, hashlib.sha256).hexdigest()[:12]
    spec["files"] = files
    return spec


def health_command(port: int = HTTP_PORT, path: str = "/web/health") -> list[str]:
    """A probe that needs only the image's python3 (no curl): non-2xx or no answer exits 1."""
    code = (
        "import http.client, sys; c = http.client.HTTPConnection('127.0.0.1', "
        f"{port}, timeout=4); c.request('GET', '{path}'); sys.exit(0 if c.getresponse().status // 100 == 2 else 1)"
    )
    return ["python3", "-c", code]


def _container_name(env: str, component: str, spec_hash: str, index: int | None = None) -> str:
    suffix = f"-{index}" if index is not None else ""
    return f"{env}-{component}-{spec_hash[:8]}{suffix}"


def docker_container_params(
    spec: Mapping[str, Any], instance: Mapping[str, Any], *, name: str, network: str, volume: str, config_dir: str
) -> dict[str, Any]:
    """community.docker.docker_container options for one container of an instance (no secrets)."""
    component = instance["component"]
    mounts = [
        {"type": "volume", "source": volume, "target": spec["data_dir"]},
        {"type": "bind", "source": f"{config_dir}/{instance['conf_file']}", "target": CONF_PATH, "read_only": True},
        {"type": "tmpfs", "target": "/tmp"},
    ]
    if "PGSSLROOTCERT" in spec["env"]:
        mounts.append({"type": "bind", "source": f"{config_dir}/db-ca.crt", "target": CA_PATH, "read_only": True})
    if "ODOO_SESSION_REDIS_PASSWORD_FILE" in spec["env"]:
        mounts.append(
            {"type": "bind", "source": f"{config_dir}/redis-password", "target": REDIS_PASSWORD_PATH, "read_only": True}
        )
    labels = dict(spec["labels"])
    labels.update(
        {
            LABEL_ENV: spec["environment"],
            LABEL_COMPONENT: component,
            LABEL_SPEC: spec["hash"],
            LABEL_CONFIG_DIR: config_dir,
        }
    )
    network_entry: dict[str, Any] = {"name": network}
    if instance["exposed"]:
        # Traefik and monitoring reach every healthy replica by one stable name on this network.
        network_entry["aliases"] = [f"{spec['environment']}-{component}"]
    check = spec["healthcheck"]
    return {
        "name": name,
        "image": spec["image"],
        "user": f"{spec['uid']}:{spec['gid']}",
        "env": {**spec["env"], **instance.get("env", {})},
        "labels": labels,
        "mounts": mounts,
        "networks": [network_entry],
        "memory": f"{instance['memory_limit']}B",
        "memory_reservation": f"{instance['memory_request']}B",
        # No CPU limit (CFS throttling stalls requests); the request becomes a relative weight.
        "cpu_shares": max(2, int(parse_cpu("cpu_request", instance["cpu_request"]) * 1024)),
        "healthcheck": {
            "test": ["CMD", *health_command(int(instance["http_port"]), spec["health_path"])],
            "interval": check["interval"],
            "timeout": check["timeout"],
            "retries": int(check["retries"]),
            "start_period": check["start_period"],
        },
        "restart_policy": "unless-stopped",
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opts": ["no-new-privileges:true"],
    }


def _current(containers: Sequence[Mapping[str, Any]], env: str) -> list[dict[str, Any]]:
    """Normalise docker_host_info's verbose container list to {name, component, spec, running, image, config_dir}."""
    found = []
    for item in containers:
        labels = item.get("Labels") or {}
        if labels.get(LABEL_ENV) != env:
            continue
        names = item.get("Names") or [item.get("Name", "")]
        found.append(
            {
                "name": str(names[0]).lstrip("/"),
                "component": labels.get(LABEL_COMPONENT, ""),
                "spec": labels.get(LABEL_SPEC, ""),
                "config_dir": labels.get(LABEL_CONFIG_DIR, ""),
                "image": item.get("Image", ""),
                "running": str(item.get("State", "")).lower() == "running",
            }
        )
    return sorted(found, key=lambda c: c["name"])


def docker_actions(
    spec: Mapping[str, Any],
    current_containers: Sequence[Mapping[str, Any]],
    *,
    config_root: str,
    network: str,
    volume: str,
    update_modules: Sequence[str] = (),
) -> dict[str, Any]:
    """What one run must do on a Docker Engine to reach ``spec`` from what the engine reports.

    Returns ``up_to_date`` (nothing to do), ``config_dir``, ``init`` (no container of this
    environment exists: initialise the database first), ``update`` (the image changes and
    ``update_modules`` is set: run ``-u`` before the rollout), ``steps`` (ordered
    ``{start: params, stop: name|None, stop_first: bool}``), ``old`` (containers to remove after
    success or restart on rollback), ``new_names``, ``stale_dirs`` and the one-off ``init_params``.
    """
    env = spec["environment"]
    spec_hash = spec["hash"]
    config_dir = f"{config_root.rstrip('/')}/{env}/{spec_hash}"
    current = _current(current_containers, env)
    old = [c for c in current if c["spec"] != spec_hash and c["component"] in _COMPONENTS]
    same = {c["name"]: c for c in current if c["spec"] == spec_hash}
    steps: list[dict[str, Any]] = []
    new_names: list[str] = []
    for instance in spec["instances"]:
        component = instance["component"]
        olds = [c["name"] for c in old if c["component"] == component]
        count = instance["replicas"]
        for index in range(count):
            name = _container_name(env, component, spec_hash, None if instance.get("exclusive") else index)
            new_names.append(name)
            params = docker_container_params(
                spec, instance, name=name, network=network, volume=volume, config_dir=config_dir
            )
            stop = olds[index] if index < len(olds) else None
            if name in same and same[name]["running"] and stop is None:
                continue
            steps.append({"start": params, "stop": stop, "stop_first": bool(instance.get("exclusive"))})
        # Old replicas beyond the new count (scale-in) stop after the last new one is healthy.
        for extra in olds[count:]:
            steps.append({"start": None, "stop": extra, "stop_first": False})
    stray = [c["name"] for c in current if c["spec"] == spec_hash and c["name"] not in new_names]
    up_to_date = not steps and not old and not stray
    first_instance = spec["instances"][0]
    init_params = docker_container_params(
        spec, first_instance, name=f"{env}-init-{spec_hash[:8]}", network=network, volume=volume, config_dir=config_dir
    )
    for key in ("healthcheck", "restart_policy", "memory_reservation"):
        init_params.pop(key, None)
    init_params["networks"] = [{"name": network}]
    init_params["labels"][LABEL_COMPONENT] = "init"
    images = {c["image"] for c in old}
    return {
        "up_to_date": up_to_date,
        "config_dir": config_dir,
        "network": network,
        "volume": volume,
        "init": not current,
        "update": bool(old) and bool(update_modules) and images != {spec["image"]},
        "update_command": ["odoo", "-d", str(spec["database"]), "-u", ",".join(update_modules), "--stop-after-init"],
        "init_params": init_params,
        "init_script": INIT_DB_SCRIPT,
        "steps": steps,
        "old": [c["name"] for c in old] + stray,
        "new_names": new_names,
        # A failed rollout removes its own directory unless a running container already uses it.
        "rollback_dirs": [] if any(c["config_dir"] == config_dir for c in current) else [config_dir],
        "stale_dirs": sorted({c["config_dir"] for c in old if c["config_dir"] and c["config_dir"] != config_dir}),
        "current": current,
    }
