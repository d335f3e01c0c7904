"""Processes like odoo.service.server: threaded (workers = 0) or prefork (workers > 0).

Prefork: the master forks ``workers`` HTTP workers sharing the HTTP socket, one evented process
on gevent_port (longpolling_port for Odoo <= 15) and ``max_cron_threads`` cron processes, and
respawns any that exits. Threaded: one process serves HTTP (websocket included) on http_port
and runs the cron threads. Each process has its own connection pool of at most db_maxconn.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from http.server import HTTPServer, ThreadingHTTPServer

from . import MAJOR, db, web

try:
    from setproctitle import setproctitle
except ImportError:  # the image installs python3-setproctitle; tests may not

    def setproctitle(_title):
        return None


_logger = logging.getLogger("odoo.service.server")
CRON_SLEEP = 60


def process_plan(workers, max_cron_threads):
    """The processes Odoo runs: {'master'|'threaded': 1, 'http': n, 'evented': 1, 'cron': m}."""
    if workers <= 0:
        return {"threaded": 1}
    return {"master": 1, "http": workers, "evented": 1, "cron": max_cron_threads}


def _attach(server, cfg, evented):
    server.cfg, server.evented, server.store = cfg, evented, web.session_store(cfg)
    server.daemon_threads = True
    return server


def cron_loop(cfg, stop, parent=None):
    """Every CRON_SLEEP seconds, one pass over the cron databases (db_name, else every listed db)."""
    while True:
        try:
            names = [n.strip() for n in str(cfg["db_name"]).split(",")] if cfg["db_name"] else db.list_dbs(cfg, True)
            for name in names:
                done = db.run_due_crons(cfg, name)
                if done:
                    logging.LoggerAdapter(_logger, {"dbname": name}).info("cron: %d job(s) processed", done)
        except Exception as exc:
            _logger.warning("cron pass failed: %s", exc)
        for _second in range(CRON_SLEEP):
            if stop.wait(1) or (parent is not None and os.getppid() != parent):
                return


class _WorkerServer(HTTPServer):
    timed_out = False

    def handle_timeout(self):
        self.timed_out = True


def _stop(*_args):
    raise SystemExit(0)


def run_threaded(cfg):
    """workers = 0: one process, HTTP and websocket on http_port, cron threads inside."""
    server = _attach(
        ThreadingHTTPServer((cfg["http_interface"] or "0.0.0.0", cfg["http_port"]), web.Handler), cfg, True
    )
    _logger.info("HTTP service (werkzeug) running on %s:%s", socket.gethostname(), cfg["http_port"])
    stop = threading.Event()
    for _cron in range(cfg["max_cron_threads"]):
        threading.Thread(target=cron_loop, args=(cfg, stop), daemon=True).start()
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except (SystemExit, KeyboardInterrupt):
        _logger.info("Initiating shutdown")
    finally:
        stop.set()
        server.server_close()
    return 0


def _child(role, cfg, http_socket, parent):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if role == "http":
        setproctitle(f"odoo: WorkerHTTP {os.getpid()}")
        server = _attach(_WorkerServer(http_socket.getsockname(), web.Handler, bind_and_activate=False), cfg, False)
        server.socket, server.timeout = http_socket, 1
        served = 0
        while os.getppid() == parent and served < cfg["limit_request"]:
            server.timed_out = False
            server.handle_request()
            served += 0 if server.timed_out else 1
        if served >= cfg["limit_request"]:
            _logger.info("Worker (%s) max request (%s) reached.", os.getpid(), served)
        return
    http_socket.close()
    if role == "cron":
        setproctitle(f"odoo: WorkerCron {os.getpid()}")
        cron_loop(cfg, threading.Event(), parent)
        return
    setproctitle(f"odoo: gevent {os.getpid()}")
    port = cfg.evented_port
    server = _attach(ThreadingHTTPServer((cfg["http_interface"] or "0.0.0.0", port), web.Handler), cfg, True)
    _logger.info(
        "Evented Service (%s) running on %s:%s",
        "longpolling" if MAJOR <= 15 else "websocket",
        socket.gethostname(),
        port,
    )
    watcher = threading.Thread(target=lambda: (_sleep_until_orphan(parent), server.shutdown()), daemon=True)
    watcher.start()
    server.serve_forever()


def _sleep_until_orphan(parent):
    while os.getppid() == parent:
        time.sleep(1)


def run_prefork(cfg):
    """workers > 0: master + HTTP workers + one evented process + cron processes."""
    setproctitle("odoo: master")
    http_socket = socket.create_server((cfg["http_interface"] or "0.0.0.0", cfg["http_port"]), backlog=128)
    _logger.info("HTTP service (werkzeug) running on %s:%s", socket.gethostname(), cfg["http_port"])
    children, master = {}, os.getpid()

    def spawn(role):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(role, cfg, http_socket, master)
            except BaseException:
                _logger.exception("%s process crashed", role)
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = role
        _logger.info("Worker %s (%s) alive", role, pid)

    plan = process_plan(cfg["workers"], cfg["max_cron_threads"])
    for role in ("http", "evented", "cron"):
        for _index in range(plan[role]):
            spawn(role)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while True:
            pid, _status = os.wait()
            role = children.pop(pid, None)
            if role:
                _logger.info("Worker %s (%s) exited, respawning", role, pid)
                time.sleep(0.5)
                spawn(role)
    except (SystemExit, KeyboardInterrupt):
        _logger.info("Stopping gracefully")
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    for pid in list(children):
        os.waitpid(pid, 0)
    return 0


def run(cfg):
    """Start the configured process model."""
    sys.stdout.flush()
    return run_prefork(cfg) if cfg["workers"] > 0 else run_threaded(cfg)
