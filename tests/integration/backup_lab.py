# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real services for the backup tests: SeaweedFS S3 servers and a lab PostgreSQL container."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.s3_stream import Store, make_client

from .harness import VENV_BIN, wait_until

LABEL = {"org.sysgenpro.lab": "true"}
POSTGRES_IMAGE = "sysgenpro-lab/postgres:15"


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A free port p whose gRPC twin p + 10000 is free too (SeaweedFS's convention)."""
    for _attempt in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < 55000 and _free(port + 10000):
            return port
    raise RuntimeError("no free port pair")


@dataclass
class Weed:
    """One SeaweedFS server with an S3 gateway and one identity."""

    directory: Path
    access_key: str
    secret_key: str
    bucket: str
    ports: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    volume_max: int = 20
    volume_size_mb: int = 64

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""
        return f"http://127.0.0.1:{self.ports['s3']}"

    def start(self) -> None:
        """Start (or restart with the same data) and wait until the bucket answers."""
        if not self.ports:
            self.ports = {name: free_port_pair() for name in ("master", "volume", "filer", "s3")}
        config = self.directory / "s3.json"
        identity = {
            "name": "backup",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        p = self.ports
        argv = [
            str(VENV_BIN / "weed"),
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master'] + 10000}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume'] + 10000}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer'] + 10000}",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=20",
            "-master.telemetry=false",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3'] + 10000}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
        ]
        log = open(self.directory / "weed.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = self.client()

        def ready() -> bool:
            try:
                client.head_bucket(Bucket=self.bucket)
                return True
            except Exception:
                with contextlib.suppress(Exception):
                    client.create_bucket(Bucket=self.bucket)
                return False

        wait_until(ready, f"SeaweedFS S3 on {self.endpoint}", timeout=60, interval=0.3)

    def kill(self) -> None:
        """Stop abruptly (a crashed or unreachable store)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop (SIGTERM, then SIGKILL after 3 s: SeaweedFS may take 30 s and the test data is thrown away anyway)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self) -> Any:
        """A boto3 client configured like the runner's."""
        return make_client(self.store())

    def store(self, **overrides: Any) -> Any:
        """The runner's Store for this server."""
        return Store.from_mapping(self.as_config(**overrides))

    def as_config(self, **overrides: Any) -> dict[str, Any]:
        """The config mapping of this store."""
        data = {
            "endpoint_url": self.endpoint,
            "bucket": self.bucket,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "prefix": "odoo",
        }
        data.update(overrides)
        return data


def start_postgres(suffix: str) -> tuple[Any, int]:
    """The lab PostgreSQL 15 on a random loopback port; returns ``(container, port)``."""
    import docker  # noqa: PLC0415

    client = docker.from_env()
    try:
        client.images.get(POSTGRES_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"lab image {POSTGRES_IMAGE} missing: run `make lab` first")
    pg = client.containers.run(
        POSTGRES_IMAGE,
        name=f"sysgenpro-test-backup-pg-{suffix}",
        detach=True,
        labels=LABEL,
        environment={"POSTGRES_PASSWORD": "lab-superuser"},
        ports={"5432/tcp": ("127.0.0.1", None)},
    )
    wait_until(lambda: pg.exec_run(["psql", "-tAc", "SELECT 1"]).exit_code == 0, "PostgreSQL", timeout=60)
    pg.reload()
    port = int(pg.ports["5432/tcp"][0]["HostPort"])
    return pg, port


def psql(pg: Any, dbname: str, sql: str) -> str:
    """Run SQL as the superuser inside the container; fail the test on error."""
    result = pg.exec_run(["psql", "-v", "ON_ERROR_STOP=1", "-tA", "-d", dbname, "-c", sql])
    assert result.exit_code == 0, result.output.decode()
    return result.output.decode().strip()


def new_suffix() -> str:
    """A short unique suffix for names."""
    return uuid.uuid4().hex[:8]


def wait_port_closed(port: int, timeout: float = 30) -> None:
    """Wait until nothing listens on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _free(port):
            return
        time.sleep(0.2)
