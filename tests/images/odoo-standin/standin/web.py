"""HTTP: the routes the platform touches, answered the way Odoo answers them."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import os
import secrets
import socket
import struct
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import psycopg2

from . import MAJOR, SERIE, db

_logger = logging.getLogger("odoo.http")
_werkzeug = logging.getLogger("werkzeug")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SESSION_LIFETIME = 60 * 60 * 24 * 7


def effective_origin(headers, peer, proxy_mode):
    """(host, scheme, remote address); X-Forwarded-* count only in proxy_mode with X-Forwarded-Host.

    Odoo wraps the app in werkzeug's ProxyFix(x_for=1, x_proto=1, x_host=1) only when proxy_mode
    is on and the request carries X-Forwarded-Host: one trusted hop, the rightmost value wins.
    """
    host, scheme, remote = headers.get("Host", ""), "http", peer

    def last(name):
        return (headers.get(name) or "").split(",")[-1].strip()

    if proxy_mode and headers.get("X-Forwarded-Host"):
        host = last("X-Forwarded-Host")
        scheme = last("X-Forwarded-Proto") or scheme
        remote = last("X-Forwarded-For") or remote
    return host, scheme, remote


def _is_true(value):
    return (value or "0").strip().lower() in ("y", "yes", "t", "true", "on", "1")


class FileSessionStore:
    """Odoo's FilesystemSessionStore layout: <data_dir>/sessions/<sid[:2]>/<sid>."""

    def __init__(self, path):
        self.path = path

    def _file(self, sid):
        return os.path.join(self.path, sid[:2], sid)

    def get(self, sid):
        try:
            with open(self._file(sid), encoding="utf-8") as fp:
                return json.load(fp)
        except (OSError, ValueError):
            return None

    def save(self, sid, data):
        os.makedirs(os.path.dirname(self._file(sid)), mode=0o700, exist_ok=True)
        with open(self._file(sid), "w", encoding="utf-8") as fp:
            json.dump(data, fp)


class RedisSessionStore:
    """camptocamp session_redis: key ``session:<sid>`` or ``session:<prefix>:<sid>``, TTL by login state."""

    def __init__(self, client, prefix=None, expiration=None, anon_expiration=None):
        self.client = client
        self.prefix = f"session:{prefix}:" if prefix else "session:"
        self.expiration = int(expiration or SESSION_LIFETIME)
        self.anon_expiration = int(anon_expiration or 60 * 60 * 3)

    def get(self, sid):
        raw = self.client.get(self.prefix + sid)
        return json.loads(raw) if raw else None

    def save(self, sid, data):
        key = self.prefix + sid
        self.client.set(key, json.dumps(data))
        self.client.expire(key, self.expiration if data.get("uid") else self.anon_expiration)


def session_store(cfg, environ=None):
    """Redis when ODOO_SESSION_REDIS is true (session_redis variables), else files under data_dir."""
    env = os.environ if environ is None else environ
    if not _is_true(env.get("ODOO_SESSION_REDIS")):
        return FileSessionStore(os.path.join(cfg["data_dir"], "sessions"))
    import redis  # noqa: PLC0415 - only when sessions go to Redis

    if env.get("ODOO_SESSION_REDIS_URL"):
        client = redis.from_url(env["ODOO_SESSION_REDIS_URL"])
    else:
        client = redis.Redis(
            host=env.get("ODOO_SESSION_REDIS_HOST", "localhost"),
            port=int(env.get("ODOO_SESSION_REDIS_PORT", "6379")),
            password=env.get("ODOO_SESSION_REDIS_PASSWORD"),
            ssl=_is_true(env.get("ODOO_SESSION_REDIS_SSL")),
        )
    return RedisSessionStore(
        client,
        env.get("ODOO_SESSION_REDIS_PREFIX"),
        env.get("ODOO_SESSION_REDIS_EXPIRATION"),
        env.get("ODOO_SESSION_REDIS_EXPIRATION_ANONYMOUS"),
    )


LOGIN_FORM = """<!DOCTYPE html><html><head><title>Odoo stand-in</title></head><body>
<p>sysgenpro lab Odoo stand-in {serie} (not Odoo)</p>{error}
<form method="post" action="/web/login"><input type="hidden" name="csrf_token" value="{csrf}"/>
<input type="hidden" name="db" value="{db}"/><input name="login"/><input type="password" name="password"/>
<button type="submit">Log in</button></form></body></html>"""


class Handler(BaseHTTPRequestHandler):
    """One request; ``self.server`` carries cfg, store and ``evented`` (gevent/threaded process)."""

    server_version = f"odoo-standin/{SERIE}"
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):
        pass  # one line per request is written by _dispatch, in Odoo's format

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self):
        start = time.monotonic()
        self.status = 500
        cfg = self.server.cfg
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.host, self.scheme, self.remote = effective_origin(
            self.headers, self.client_address[0], cfg.bool("proxy_mode")
        )
        self.session = self.sid = None
        self.dbname = None
        self.queries = 0
        routes = {
            "/web/health": self.health,
            "/web/webclient/version_info": self.version_info,
            "/web/database/list": self.database_list,
            "/web/login": self.login,
            "/websocket": self.websocket,
            "/longpolling/poll": self.longpolling,
            "/standin/attachment": self.attachment,
            "/jsonrpc": self.external_jsonrpc,
        }
        route = routes.get(url.path)
        try:
            if route is None:
                self.respond(404, b"<h1>Not Found</h1>", "text/html")
            else:
                if route != self.health:
                    self.load_session()
                route()
        except Exception as exc:
            _logger.exception("Exception during request handling.")
            self.respond(500, f"<h1>Internal Server Error</h1><p>{html.escape(str(exc))}</p>".encode(), "text/html")
        finally:
            elapsed = time.monotonic() - start
            logging.LoggerAdapter(_werkzeug, {"dbname": self.dbname or "?"}).info(
                '%s - - [%s] "%s" %s - %d %.3f %.3f',
                self.remote,
                self.log_date_time_string(),
                self.requestline,
                self.status,
                self.queries,
                elapsed,
                0.0,
            )

    # -- plumbing -------------------------------------------------------------------------
    def respond(self, status, body, ctype="application/json", headers=()):
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        # Stand-in only (NOT Odoo): which worker pool of the environment answered (odoo_container sets it).
        if os.environ.get("ODOO_PLATFORM_POOL"):
            self.send_header("X-Standin-Pool", os.environ["ODOO_PLATFORM_POOL"])
        if self.session is not None and self.session.pop("_dirty", False):
            self.server.store.save(self.sid, self.session)
            self.send_header(
                "Set-Cookie",
                f"session_id={self.sid}; Expires={SESSION_LIFETIME}; Max-Age={SESSION_LIFETIME}; HttpOnly; Path=/",
            )
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def load_session(self):
        """Odoo's session + database choice: the session's db if dbfilter still allows it, else monodb."""
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        sid = cookie["session_id"].value if "session_id" in cookie else None
        data = self.server.store.get(sid) if sid else None
        if data is None:
            sid = base64.urlsafe_b64encode(os.urandom(63)).decode()
            data = {"db": None, "uid": None, "login": None, "context": {}, "_dirty": True}
        self.sid, self.session = sid, data
        cfg = self.server.cfg
        if data.get("db") and db.db_filter([data["db"]], self.host, cfg["dbfilter"], cfg["db_name"]):
            self.dbname = data["db"]
        else:
            dbs = db.db_list(cfg, self.host, force=True)
            self.dbname = dbs[0] if len(dbs) == 1 else None
            if data.get("db") != self.dbname:
                data.update(db=self.dbname, uid=None, login=None, _dirty=True)

    def jsonrpc(self, call):
        """type='json' routes: JSON body in, ``result`` or Odoo's ``error`` envelope out (HTTP 200)."""
        if self.headers.get_content_type() not in ("application/json", "application/json-rpc"):
            self.respond(
                400,
                b"<h1>Bad Request</h1><p>Request inferred type is compatible with http but json was expected</p>",
                "text/html",
            )
            return
        try:
            request = json.loads(self.body() or b"{}")
        except ValueError:
            self.respond(400, b"<h1>Bad Request</h1><p>Invalid JSON data</p>", "text/html")
            return
        reply = {"jsonrpc": "2.0", "id": request.get("id")}
        try:
            reply["result"] = call(request.get("params") or {})
        except db.AccessDenied as exc:
            reply["error"] = self.rpc_error("odoo.exceptions.AccessDenied", str(exc))
        except Exception as exc:
            _logger.exception("JSON-RPC call failed")
            reply["error"] = self.rpc_error(f"builtins.{type(exc).__name__}", str(exc))
        self.respond(200, json.dumps(reply).encode())

    @staticmethod
    def rpc_error(name, message):
        return {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {"name": name, "debug": "", "message": message, "arguments": [message], "context": {}},
        }

    # -- routes ---------------------------------------------------------------------------
    def health(self):
        info, status = {"status": "pass"}, 200
        if self.query.get("db_server_status"):
            try:
                with db.cursor(self.server.cfg, "postgres"):
                    pass
                info["db_server_status"] = True
            except (psycopg2.Error, db.PoolError):
                info.update(db_server_status=False, status="fail")
                status = 500
        self.respond(status, json.dumps(info).encode(), headers=[("Cache-Control", "no-store")])

    def external_jsonrpc(self):
        """The external JSON-RPC endpoint: only ``common.version`` (what API monitors call)."""

        def call(params):
            if (params.get("service"), params.get("method")) != ("common", "version"):
                raise NotImplementedError("stand-in: only common.version is served on /jsonrpc")
            return db.version_info()

        self.jsonrpc(call)

    def version_info(self):
        self.jsonrpc(lambda _params: db.version_info())

    def database_list(self):
        self.jsonrpc(lambda _params: db.db_list(self.server.cfg, self.host))

    def login(self):
        cfg = self.server.cfg
        form = {k: v[-1] for k, v in parse_qs(self.body().decode(), keep_blank_values=True).items()}
        wanted = form.get("db") or self.query.get("db")
        if wanted and db.db_filter([wanted], self.host, cfg["dbfilter"], cfg["db_name"]):
            self.dbname = wanted
            self.session.update(db=wanted, _dirty=True)
        if not self.dbname:
            self.status = 303
            self.send_response(303)
            self.send_header("Location", "/web/database/selector")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        csrf = self.session.setdefault("csrf", secrets.token_hex(20))
        self.session["_dirty"] = True
        error = ""
        if self.command == "POST":
            if form.get("csrf_token") != csrf:
                self.respond(400, b"<h1>Bad Request</h1><p>Session expired (invalid CSRF token)</p>", "text/html")
                return
            with db.cursor(cfg, self.dbname) as cr:
                if not db.is_initialized(cr):
                    raise RuntimeError(f"Database {self.dbname} not initialized, you can force it with `-i base`")
                cr.execute("SELECT id, password FROM res_users WHERE login = %s AND active", (form.get("login"),))
                row = cr.fetchone()
                self.queries += 1
                if row and db.check_password(form.get("password", ""), row[1] or ""):
                    self.session.update(uid=row[0], login=form.get("login"), _dirty=True)
                    # Odoo refreshes web.base.url on an admin login: proxy_mode decides http or https.
                    cr.execute(
                        "UPDATE ir_config_parameter SET value = %s WHERE key = 'web.base.url' AND NOT EXISTS"
                        " (SELECT 1 FROM ir_config_parameter WHERE key = 'web.base.url.freeze' AND value = 'True')",
                        (f"{self.scheme}://{self.host}",),
                    )
                    self.respond(303, b"", "text/html", [("Location", "/odoo" if MAJOR >= 18 else "/web")])
                    return
            error = "<p class='alert'>Wrong login/password</p>"
        page = LOGIN_FORM.format(serie=SERIE, error=error, csrf=csrf, db=html.escape(self.dbname))
        self.respond(200, page.encode(), "text/html")

    def attachment(self):
        """Stand-in only (not an Odoo route): create an ir.attachment in the request's database."""

        def create(params):
            dbname = params.get("db") or self.dbname
            if not dbname:
                raise ValueError("no database: pass params.db or set dbfilter/db_name")
            data = base64.b64decode(params["datas"])
            return db.create_attachment(
                self.server.cfg,
                dbname,
                params["name"],
                data,
                mimetype=params.get("mimetype", "application/octet-stream"),
                res_model=params.get("res_model"),
                res_id=params.get("res_id"),
            )

        self.jsonrpc(create)

    def longpolling(self):
        """Odoo <= 15: the bus answers on the longpolling port only."""
        if MAJOR >= 16:
            self.respond(404, b"<h1>Not Found</h1>", "text/html")
        elif not self.server.evented:
            self.jsonrpc(_bus_unavailable)
        else:
            self.jsonrpc(lambda _params: [])

    def websocket(self):
        """Odoo >= 16: a valid handshake is upgraded on the evented port and fails with 500 elsewhere."""
        if MAJOR <= 15:
            self.respond(404, b"<h1>Not Found</h1>", "text/html")
            return
        h = self.headers
        key = h.get("Sec-WebSocket-Key", "")
        try:
            key_ok = len(base64.b64decode(key, validate=True)) == 16
        except ValueError:
            key_ok = False
        if (
            (h.get("Upgrade") or "").lower() != "websocket"
            or "upgrade" not in (h.get("Connection") or "").lower()
            or not key_ok
        ):
            self.respond(400, b"<h1>Bad Request</h1><p>Invalid handshake</p>", "text/html")
            return
        if h.get("Sec-WebSocket-Version") != "13":
            self.respond(426, b"<h1>Upgrade Required</h1>", "text/html", [("Sec-WebSocket-Version", "13")])
            return
        if not self.server.evented:
            port = self.server.cfg.evented_port
            raise RuntimeError(f"Couldn't bind the websocket. Is the connection opened on the evented port ({port})?")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.protocol_version = "HTTP/1.1"  # Odoo does the same for the upgrade
        self.status = 101
        self.send_response(101)
        for name, value in (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)):
            self.send_header(name, value)
        if self.session.pop("_dirty", False):
            self.server.store.save(self.sid, self.session)
            self.send_header("Set-Cookie", f"session_id={self.sid}; Max-Age={SESSION_LIFETIME}; HttpOnly; Path=/")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        _serve_websocket(self.connection)


def _bus_unavailable(_params):
    raise RuntimeError("bus.Bus unavailable")


def _serve_websocket(conn, keep_alive=3600):
    """Minimal RFC 6455 loop: answer pings, echo the close frame, ignore data frames."""
    conn.settimeout(keep_alive)
    reader = conn.makefile("rb")
    try:
        while True:
            head = reader.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", reader.read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", reader.read(8))[0]
            mask = reader.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(reader.read(length)))
            if opcode == 0x8:
                conn.sendall(bytes([0x88, len(payload[:125])]) + payload[:125])
                return
            if opcode == 0x9:
                conn.sendall(bytes([0x8A, len(payload[:125])]) + payload[:125])
    except (OSError, socket.timeout, struct.error):
        return
