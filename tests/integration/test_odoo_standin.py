"""The Odoo stand-in image against a real PostgreSQL container (both lab images).

Everything created here carries the label org.sysgenpro.lab=true, lives on its own network,
publishes ports on 127.0.0.1 only (ephemeral) and is removed at the end. The PostgreSQL role the
stand-in uses is NOT a superuser: it owns its databases, as in production.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import uuid

import docker
import pytest
import requests

from .harness import wait_until

pytestmark = pytest.mark.integration

LABEL = {"org.sysgenpro.lab": "true"}
VERSION = "18.0"
STANDIN = f"sysgenpro-lab/odoo-standin:{VERSION}"
POSTGRES = "sysgenpro-lab/postgres:15"
ODOO_PASSWORD = "p%w$rd;x"  # raw config values: '%' and '$' must reach PostgreSQL verbatim
# Official image's odoo user (see tests/images/odoo-standin/README.md for the sources).
UID_GID = {"16.0": "101:101", "17.0": "101:101", "18.0": "100:101", "19.0": "100:101"}
WS_HEADERS = (
    "GET /websocket HTTP/1.1\r\nHost: erp.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Network + PostgreSQL with a non-superuser role owning erp and shop (and one db it does not own)."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"Docker Engine is not reachable ({exc}): run `make lab` (scripts/lab.sh up) first")
    missing = [
        name for name in [POSTGRES, *(f"sysgenpro-lab/odoo-standin:{v}" for v in UID_GID)] if not _has(client, name)
    ]
    if missing:
        pytest.fail(f"lab images missing: {', '.join(missing)}: run `make lab` (scripts/lab.sh images) first")
    suffix = uuid.uuid4().hex[:8]
    created = []
    network = client.networks.create(f"sysgenpro-standin-{suffix}", labels=LABEL)
    try:
        pg = client.containers.run(
            POSTGRES,
            name=f"standin-pg-{suffix}",
            detach=True,
            labels=LABEL,
            network=network.name,
            environment={"POSTGRES_PASSWORD": "lab-superuser"},
        )
        created.append(pg)
        wait_until(lambda: pg.exec_run(["psql", "-tAc", "SELECT 1"]).exit_code == 0, "PostgreSQL")
        _psql(pg, "postgres", f"CREATE ROLE odoo LOGIN NOSUPERUSER NOCREATEDB PASSWORD '{ODOO_PASSWORD}'")
        for name, owner in (("erp", "odoo"), ("shop", "odoo"), ("notmine", "postgres")):
            _psql(pg, "postgres", f"CREATE DATABASE {name} OWNER {owner}")
        yield {
            "client": client,
            "network": network,
            "pg": pg,
            "suffix": suffix,
            "created": created,
            "tmp": tmp_path_factory.mktemp("standin"),
        }
    finally:
        for container in created:
            container.remove(force=True, v=True)
        network.remove()


def _has(client, name):
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def _psql(pg, dbname, sql):
    result = pg.exec_run(["psql", "-v", "ON_ERROR_STOP=1", "-tA", "-d", dbname, "-c", sql])
    assert result.exit_code == 0, result.output.decode()
    return result.output.decode().strip()


def _config(lab, name, **options):
    """Write an odoo.conf readable by the image's odoo user and a data_dir it owns."""
    base = {
        "db_host": lab["pg"].name,
        "db_port": 5432,
        "db_user": "odoo",
        "db_password": ODOO_PASSWORD,
        "data_dir": "/var/lib/odoo",
        "addons_path": "/mnt/extra-addons,",
    }
    base.update(options)
    conf = lab["tmp"] / f"{name}.conf"
    conf.write_text("[options]\n" + "".join(f"{k} = {v}\n" for k, v in base.items()))
    conf.chmod(0o644)
    data = lab["tmp"] / f"{name}-data"
    data.mkdir(exist_ok=True)
    uid, gid = (int(x) for x in UID_GID[VERSION].split(":"))
    os.chown(data, uid, gid)
    return conf, data


def _odoo(lab, name, conf, data, *, command=None, detach=True, entrypoint=None, environment=None):
    container = lab["client"].containers.create(
        STANDIN,
        command=command,
        entrypoint=entrypoint,
        environment=environment,
        name=f"standin-{name}-{lab['suffix']}",
        labels=LABEL,
        network=lab["network"].name,
        volumes={
            str(conf): {"bind": "/etc/odoo/odoo.conf", "mode": "ro"},
            str(data): {"bind": "/var/lib/odoo", "mode": "rw"},
        },
        ports={"8069/tcp": ("127.0.0.1", None), "8072/tcp": ("127.0.0.1", None)},
    )
    lab["created"].append(container)
    container.start()
    if not detach:
        code = container.wait(timeout=60)["StatusCode"]
        return code, container.logs().decode()
    container.reload()
    ports = {p: int(container.ports[f"{p}/tcp"][0]["HostPort"]) for p in (8069, 8072)}
    wait_until(lambda: requests.get(f"http://127.0.0.1:{ports[8069]}/web/health", timeout=2).ok, f"stand-in {name}")
    return container, ports


def _rpc(port, path, host="localhost", **params):
    reply = requests.post(
        f"http://127.0.0.1:{port}{path}",
        json={"jsonrpc": "2.0", "method": "call", "params": params, "id": 1},
        headers={"Host": host},
        timeout=5,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def _websocket_status(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(WS_HEADERS.encode())
        return int(sock.recv(200).split(b" ", 2)[1])


def test_every_version_reports_itself_with_the_official_uid(lab):
    for version, ids in UID_GID.items():
        container = lab["client"].containers.run(
            f"sysgenpro-lab/odoo-standin:{version}",
            entrypoint=["sh", "-c", 'odoo --version; echo "$(id -u):$(id -g)"'],
            labels=LABEL,
            network_mode="none",
            detach=True,
        )
        lab["created"].append(container)  # removed with its anonymous volumes at the end
        assert container.wait(timeout=30)["StatusCode"] == 0
        assert container.logs().decode().split() == ["Odoo", "Server", version, ids]


def test_init_as_non_superuser_owner(lab):
    conf, data = _config(lab, "init")
    for dbname in ("erp", "shop"):
        code, logs = _odoo(
            lab,
            f"init-{dbname}",
            conf,
            data,
            command=["odoo", "-d", dbname, "-i", "base", "--stop-after-init"],
            detach=False,
        )
        assert code == 0, logs
    assert "addons_path has an empty entry" in logs  # the trailing comma is reported
    assert _psql(lab["pg"], "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = 'odoo'") == "f"
    uuid_erp = _psql(lab["pg"], "erp", "SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'")
    assert uuid.UUID(uuid_erp)
    assert uuid_erp != _psql(lab["pg"], "shop", "SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'")
    assert _psql(lab["pg"], "erp", "SELECT tableowner FROM pg_tables WHERE tablename = 'ir_attachment'") == "odoo"
    assert _psql(lab["pg"], "erp", "SELECT login FROM res_users WHERE active") == "admin"
    columns = _psql(
        lab["pg"],
        "erp",
        "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns"
        " WHERE table_name = 'ir_attachment' AND column_name IN ('store_fname', 'checksum', 'db_datas')",
    )
    assert columns == "checksum,db_datas,store_fname"
    # A second -i base keeps the database identity.
    code, _logs = _odoo(
        lab, "init-again", conf, data, command=["odoo", "-d", "erp", "-i", "base", "--stop-after-init"], detach=False
    )
    assert code == 0
    assert _psql(lab["pg"], "erp", "SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'") == uuid_erp


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"db_password": "wrong"}, 'password authentication failed for user "odoo"'),
        ({"db_sslmode": "require"}, "server does not support SSL, but SSL was required"),
        ({"limit_memory_hard": "2GB"}, "option limit_memory_hard: invalid integer value: '2GB'"),
    ],
)
def test_refuses_bad_credentials_tls_and_values(lab, options, message):
    conf, data = _config(lab, "bad", **options)
    # Straight to `odoo`: the entrypoint's wait-for-psql would spend its 30 s on the wrong password.
    code, logs = _odoo(
        lab,
        f"bad-{uuid.uuid4().hex[:4]}",
        conf,
        data,
        command=["-d", "erp", "--stop-after-init"],
        entrypoint=["odoo"],
        detach=False,
    )
    assert code != 0
    assert message in logs


@pytest.fixture(scope="module")
def workers(lab):
    conf, data = _config(lab, "workers", workers=2, max_cron_threads=1, dbfilter="^%d$", proxy_mode=True)
    code, logs = _odoo(
        lab, "workers-init", conf, data, command=["odoo", "-d", "erp", "-i", "base", "--stop-after-init"], detach=False
    )
    assert code == 0, logs
    container, ports = _odoo(lab, "workers", conf, data)
    return {"container": container, "ports": ports, "data": data}


def test_health_and_version(workers):
    reply = requests.get(f"http://127.0.0.1:{workers['ports'][8069]}/web/health", timeout=5)
    assert (reply.status_code, reply.json(), "session_id" in reply.cookies) == (200, {"status": "pass"}, False)
    reply = requests.get(f"http://127.0.0.1:{workers['ports'][8069]}/web/health?db_server_status=1", timeout=5)
    assert (reply.status_code, reply.json()) == (200, {"status": "pass", "db_server_status": True})
    result = _rpc(workers["ports"][8069], "/web/webclient/version_info")["result"]
    assert (result["server_serie"], result["server_version_info"][:2]) == (VERSION, [int(VERSION[:2]), 0])


def test_external_jsonrpc_and_the_pool_header(lab, workers):
    """/jsonrpc common.version as Odoo's external API; X-Standin-Pool names the pool that answered."""
    port = workers["ports"][8069]
    result = _rpc(port, "/jsonrpc", service="common", method="version", args=[])["result"]
    assert result["server_serie"] == VERSION
    assert "X-Standin-Pool" not in requests.get(f"http://127.0.0.1:{port}/web/health", timeout=5).headers
    conf, data = _config(lab, "api-pool", workers=1, max_cron_threads=0)
    _container, ports = _odoo(lab, "api-pool", conf, data, environment={"ODOO_PLATFORM_POOL": "api"})
    reply = requests.get(f"http://127.0.0.1:{ports[8069]}/web/health", timeout=5)
    assert reply.headers["X-Standin-Pool"] == "api"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("erp.example.test", ["erp"]),
        ("www.shop.example.test:8069", ["shop"]),
        ("notmine.example.test", []),
        ("other.example.test", []),
    ],
)
def test_database_list_filtered_by_dbfilter(workers, host, expected):
    assert _rpc(workers["ports"][8069], "/web/database/list", host=host)["result"] == expected


def test_attachments_land_in_the_filestore(lab, workers):
    payloads = [b"invoice 1", b"photo bytes \x00\x01", b"invoice 1"]
    for index, payload in enumerate(payloads):
        result = _rpc(
            workers["ports"][8069],
            "/standin/attachment",
            host="erp.example.test",
            name=f"a{index}",
            datas=base64.b64encode(payload).decode(),
        )["result"]
        sha = hashlib.sha1(payload).hexdigest()
        assert result["store_fname"] == f"{sha[:2]}/{sha}"
        assert (workers["data"] / "filestore" / "erp" / sha[:2] / sha).read_bytes() == payload
    rows = _psql(lab["pg"], "erp", "SELECT count(*), count(DISTINCT store_fname) FROM ir_attachment")
    assert rows == "3|2"  # same content, same file


def test_websocket_only_on_the_evented_port(workers):
    assert _websocket_status(workers["ports"][8072]) == 101
    assert _websocket_status(workers["ports"][8069]) == 500
    logs = workers["container"].logs().decode()
    assert "Couldn't bind the websocket. Is the connection opened on the evented port (8072)?" in logs


def test_login_session_and_request_log(lab, workers):
    base, host = (
        f"http://127.0.0.1:{workers['ports'][8069]}",
        {"Host": "erp.example.test", "X-Forwarded-Host": "erp.example.test", "X-Forwarded-Proto": "https"},
    )
    session = requests.Session()
    page = session.get(f"{base}/web/login", headers=host, timeout=5)
    assert page.status_code == 200 and "session_id" in session.cookies
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    bad = session.post(
        f"{base}/web/login",
        data={"login": "admin", "password": "nope", "csrf_token": csrf},
        headers=host,
        allow_redirects=False,
        timeout=5,
    )
    assert bad.status_code == 200 and "Wrong login/password" in bad.text
    good = session.post(
        f"{base}/web/login",
        data={"login": "admin", "password": "admin", "csrf_token": csrf},
        headers=host,
        allow_redirects=False,
        timeout=5,
    )
    assert (good.status_code, good.headers["Location"]) == (303, "/odoo")
    sid = session.cookies["session_id"]
    stored = json.loads((workers["data"] / "sessions" / sid[:2] / sid).read_text())
    assert (stored["db"], stored["uid"]) == ("erp", 2)
    # proxy_mode with X-Forwarded-Host: the admin login records the public https URL.
    assert _psql(lab["pg"], "erp", "SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'") == (
        "https://erp.example.test"
    )
    assert " INFO erp werkzeug: " in workers["container"].logs().decode()


def test_worker_processes(workers):
    titles = [row[-1] for row in workers["container"].top(ps_args="-eo pid,args")["Processes"]]
    roles = sorted(t.split()[1] for t in titles if t.startswith("odoo: "))
    assert roles == ["WorkerCron", "WorkerHTTP", "WorkerHTTP", "gevent", "master"], titles


def test_threaded_server_without_database_list(lab):
    conf, data = _config(lab, "threaded", workers=0, list_db=False)
    container, ports = _odoo(lab, "threaded", conf, data)
    error = _rpc(ports[8069], "/web/database/list")["error"]
    assert error["data"]["name"] == "odoo.exceptions.AccessDenied"
    assert _websocket_status(ports[8069]) == 101  # workers = 0: no split, the HTTP port upgrades
    titles = [row[-1] for row in container.top(ps_args="-eo pid,args")["Processes"]]
    assert len(titles) == 1, titles


def test_db_server_status_when_postgresql_stops(lab, workers):
    lab["pg"].stop(timeout=10)
    base = f"http://127.0.0.1:{workers['ports'][8069]}"
    assert requests.get(f"{base}/web/health", timeout=5).status_code == 200  # no database involved
    reply = requests.get(f"{base}/web/health?db_server_status=1", timeout=10)
    assert (reply.status_code, reply.json()) == (500, {"status": "fail", "db_server_status": False})
