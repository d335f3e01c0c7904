# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One logical backup run: pg_dump streamed to S3, the filestore in parallel, the manifest last.

No Ansible imports (Python 3.8+); boto3 and psycopg2 are imported when used.

A run: take the environment's lock -> check the database answers (and pg_dump is new enough)
-> stream ``pg_dump -Fc --no-owner --no-privileges`` from its pipe into a multipart upload
(sha256 while streaming; completed only when pg_dump exited 0) -> upload every filestore file
with a bounded thread pool -> verify every object (HEAD size + sha256 metadata or the multipart
ETag, else a re-read) -> write ``manifest.json`` LAST -> optionally copy the set offsite and verify
it there against the same manifest. A failure anywhere aborts the multipart uploads, removes what
the run wrote when the store still answers, and never writes a manifest: no set looks complete.

Secrets never reach argv or the log: pg_dump reads the password from a private 0600 passfile
(PGPASSFILE); the S3 keys stay in this process.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import platform
import re
import shutil
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

from . import run_lock
from .backup_set import (
    DUMP_NAME,
    MANIFEST_NAME,
    Manifest,
    ObjectEntry,
    file_for_object_name,
    format_time,
    new_run_id,
    object_name_for_file,
    posix_rel,
    set_prefix,
    validate_component,
)
from .s3_stream import (
    DEFAULT_MAX_OBJECT_SIZE,
    MIB,
    S3Error,
    Store,
    format_rate,
    make_client,
    md5_digest,
    part_schedule,
    part_size_for,
    put_bytes,
    read_exact,
    sse_arguments,
    upload_stream,
    verify_object,
)

TOOL = "sysgenpro.odoo_platform odoo_backup 1"
SINGLE_PUT_MAX = 8 * MIB
LOCK_MAX_AGE = 7 * 86400
Log = Callable[[str], None]


class BackupError(Exception):
    """A backup, copy or restore step failed; the message names the step and the cause."""


@dataclass
class Database:
    """How to reach one PostgreSQL database (the password never leaves this process but via a 0600 file)."""

    name: str
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = field(default="", repr=False)
    sslmode: str = "prefer"
    sslrootcert: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], what: str = "database") -> Database:
        """Build from the config's ``database`` mapping."""
        if not data.get("name"):
            raise ValueError(f"{what}: missing name")
        return cls(
            name=str(data["name"]),
            host=str(data.get("host") or ""),
            port=int(data.get("port") or 5432),
            user=str(data.get("user") or ""),
            password=str(data.get("password") or ""),
            sslmode=str(data.get("sslmode") or "prefer"),
            sslrootcert=str(data.get("sslrootcert") or ""),
        )

    def where(self) -> str:
        """``user@host:port/name`` for messages."""
        return f"{self.user or '<default user>'}@{self.host or '<socket>'}:{self.port}/{self.name}"

    def connect(self, dbname: str | None = None) -> Any:
        """A psycopg2 connection (autocommit)."""
        try:
            import psycopg2  # noqa: PLC0415 - optional dependency
        except ImportError as exc:
            raise BackupError(f"psycopg2 is not installed ({exc}): install python3-psycopg2") from exc
        kwargs: dict[str, Any] = {"dbname": dbname or self.name, "port": self.port, "connect_timeout": 10}
        for key, value in (("host", self.host), ("user", self.user), ("password", self.password)):
            if value:
                kwargs[key] = value
        kwargs["sslmode"] = self.sslmode
        if self.sslrootcert:
            kwargs["sslrootcert"] = self.sslrootcert
        try:
            conn = psycopg2.connect(application_name="sysgenpro-odoo-backup", **kwargs)
        except psycopg2.Error as exc:
            where = Database(dbname or self.name, self.host, self.port, self.user).where()
            raise BackupError(f"database {where} is unreachable: {str(exc).strip()}") from exc
        conn.autocommit = True
        return conn


@contextlib.contextmanager
def libpq_env(db: Database) -> Iterator[dict[str, str]]:
    """The environment for pg_dump / pg_restore: a private 0600 passfile, never PGPASSWORD on argv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE")}
    env.update({"PGCONNECT_TIMEOUT": "10", "PGSSLMODE": db.sslmode, "PGAPPNAME": "sysgenpro-odoo-backup"})
    if db.sslrootcert:
        env["PGSSLROOTCERT"] = db.sslrootcert
    tmp = tempfile.mkdtemp(prefix="odoo-backup-")
    try:
        if db.password:
            passfile = os.path.join(tmp, "pgpass")
            fd = os.open(passfile, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(":".join(_pgpass_escape(p) for p in ("*", "*", "*", db.user or "*", db.password)) + "\n")
            env["PGPASSFILE"] = passfile
        yield env
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _pgpass_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def libpq_args(db: Database, dbname: str | None = None) -> list[str]:
    """Connection arguments (no secrets): host, port, user, database."""
    args = []
    if db.host:
        args += ["-h", db.host]
    args += ["-p", str(db.port)]
    if db.user:
        args += ["-U", db.user]
    args += ["-d", dbname or db.name]
    return args


def tool_major(binary: str) -> tuple[int, str]:
    """``(major, version line)`` of pg_dump / pg_restore; :class:`BackupError` when it is missing."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BackupError(f"{binary} is not usable ({exc}): install postgresql-client") from exc
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if not match:
        raise BackupError(f"cannot read the version of {binary} from {out.strip()!r}")
    return int(match.group(1)), out.strip()


@dataclass
class BackupConfig:
    """Everything one environment's backup needs (the JSON config the role writes, mode 0600)."""

    environment: str
    database: Database
    data_dir: str
    primary: Store
    offsite: Store | None = None
    tenant: str = ""
    odoo_version: str = ""
    max_object_size: int = DEFAULT_MAX_OBJECT_SIZE
    part_size_minimum: int = 8 * MIB
    upload_concurrency: int = 4
    filestore_workers: int = 8
    lock_dir: str = "/var/lib/sysgenpro-odoo-backup/locks"
    pg_dump: str = "pg_dump"
    pg_restore: str = "pg_restore"
    retention: dict[str, Any] = field(default_factory=dict)
    restore: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BackupConfig:
        """Build from the config mapping; ``ValueError`` names the bad key."""
        if not data.get("environment"):
            raise ValueError("config: missing environment")
        validate_component("environment", data["environment"])
        if not data.get("primary"):
            raise ValueError("config: missing primary (the S3 store)")
        return cls(
            environment=str(data["environment"]),
            database=Database.from_mapping(data.get("database") or {}),
            data_dir=str(data.get("data_dir") or "/var/lib/odoo"),
            primary=Store.from_mapping(data["primary"], "primary"),
            offsite=Store.from_mapping(data["offsite"], "offsite") if data.get("offsite") else None,
            tenant=str(data.get("tenant") or ""),
            odoo_version=str(data.get("odoo_version") or ""),
            max_object_size=int(data.get("max_object_size") or DEFAULT_MAX_OBJECT_SIZE),
            part_size_minimum=int(data.get("part_size_minimum") or 8 * MIB),
            upload_concurrency=int(data.get("upload_concurrency") or 4),
            filestore_workers=int(data.get("filestore_workers") or 8),
            lock_dir=str(data.get("lock_dir") or "/var/lib/sysgenpro-odoo-backup/locks"),
            pg_dump=str(data.get("pg_dump") or "pg_dump"),
            pg_restore=str(data.get("pg_restore") or "pg_restore"),
            retention=dict(data.get("retention") or {}),
            restore=dict(data.get("restore") or {}),
        )

    @property
    def filestore(self) -> str:
        """``<data_dir>/filestore/<database>``."""
        return os.path.join(self.data_dir, "filestore", self.database.name)

    @property
    def part_size(self) -> int:
        """The stream's large part size (F07: 10,000 parts hold ``max_object_size``)."""
        return self.parts[2]

    @property
    def parts(self) -> tuple[int, int, int]:
        """``(small size, small count, large size)`` of the dump's parts (:func:`part_schedule`)."""
        return part_schedule(self.max_object_size, minimum=self.part_size_minimum)


@contextlib.contextmanager
def environment_lock(cfg: BackupConfig, run_id: str, log: Log) -> Iterator[None]:
    """Hold ``<lock_dir>/backup-<environment>.lock`` for the run; a dead holder's lock is broken and logged."""
    estate = f"backup-{cfg.environment}"
    ctx = run_lock.Context(max_age=LOCK_MAX_AGE)
    holder = {"user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid()}
    try:
        outcome = run_lock.acquire(cfg.lock_dir, estate, run_id, holder, ctx, break_stale=True)
    except (run_lock.LockError, ValueError) as exc:
        raise BackupError(f"another backup of {cfg.environment} is running: {exc}") from exc
    if outcome.broken:
        log(f"lock: {outcome.msg}")
    try:
        yield
    finally:
        with contextlib.suppress(run_lock.LockError):
            run_lock.release(cfg.lock_dir, estate, run_id, ctx)


def probe_database(cfg: BackupConfig) -> dict[str, Any]:
    """Connect once: server version, Odoo's base module version, database size."""
    conn = cfg.database.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting('server_version_num')::int, pg_database_size(current_database())")
            version_num, size = cur.fetchone()
            cur.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
            odoo = ""
            if cur.fetchone()[0]:
                cur.execute("SELECT latest_version FROM ir_module_module WHERE name = 'base'")
                row = cur.fetchone()
                odoo = str(row[0] or "") if row else ""
    finally:
        conn.close()
    return {
        "server_major": int(version_num) // 10000,
        "server_version_num": int(version_num),
        "size": int(size),
        "odoo": odoo,
    }


def list_filestore(root: str) -> list[tuple[str, str, int]]:
    """``(relative path, absolute path, size)`` of every regular file, sorted; refuses symlinks."""
    if not os.path.isdir(root):
        return []
    files = []
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(directory, name)
            if os.path.islink(path):
                raise BackupError(f"filestore {root}: {path} is a symbolic link; Odoo writes regular files only")
            files.append((posix_rel(root, path), path, os.path.getsize(path)))
    return files


def _sha256_file(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            sha.update(block)
    return sha.hexdigest()


def upload_file(client: Any, store: Store, key: str, path: str, extra: Mapping[str, Any]) -> tuple[int, str, str, int]:
    """Upload one local file with its sha256 as metadata: ``(size, sha256, expected_etag, parts)``."""
    size = os.path.getsize(path)
    if size <= SINGLE_PUT_MAX:
        with open(path, "rb") as handle:
            data = handle.read()
        sha = hashlib.sha256(data).hexdigest()
        etag = put_bytes(client, store.bucket, key, data, sha256=sha, extra_args=extra)
        return len(data), sha, md5_digest(data).hex() if etag else "", 0
    sha = _sha256_file(path)  # metadata is set when the upload starts: hash first, check again while streaming
    with open(path, "rb") as handle:
        result = upload_stream(
            client,
            store.bucket,
            key,
            handle,
            part_size=part_size_for(size),
            concurrency=1,
            extra_args={**extra, "Metadata": {"sha256": sha}},
            expected_sha256=sha,
        )
    return result.size, result.sha256, result.expected_etag, result.parts


def _widen_pipe(pipe: Any) -> None:
    """Give pg_dump a 1 MiB pipe (Linux F_SETPIPE_SZ) so it keeps writing while a part is handed over."""
    with contextlib.suppress(AttributeError, ImportError, OSError, ValueError):
        import fcntl  # noqa: PLC0415 - POSIX only

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1024 * 1024)


def _stream_dump(cfg: BackupConfig, client: Any, key: str, extra: Mapping[str, Any], log: Log) -> ObjectEntry:
    """pg_dump's stdout straight into a multipart upload; completed only when pg_dump exits 0."""
    with libpq_env(cfg.database) as env, tempfile.TemporaryFile() as errors:
        argv = [cfg.pg_dump, "-Fc", "--no-owner", "--no-privileges", *libpq_args(cfg.database)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, env=env)
        _widen_pipe(proc.stdout)

        def _check_exit(_result: Any) -> None:
            code = proc.wait()
            if code != 0:
                errors.seek(0)
                tail = errors.read().decode("utf-8", "replace").strip()[-800:]
                raise BackupError(f"pg_dump of {cfg.database.where()} failed (exit {code}): {tail}")

        try:
            if proc.stdout is None:
                raise BackupError("pg_dump started without a stdout pipe")
            result = upload_stream(
                client,
                cfg.primary.bucket,
                key,
                proc.stdout,
                part_size=cfg.parts[2],
                first_parts=cfg.parts[1],
                first_part_size=cfg.parts[0],
                concurrency=cfg.upload_concurrency,
                extra_args=extra,
                before_complete=_check_exit,
            )
        except BaseException as exc:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if isinstance(exc, BackupError):
                raise
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip()[-400:]
            if proc.returncode not in (0, -9) and tail:
                raise BackupError(f"pg_dump of {cfg.database.where()} failed: {tail}") from exc
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
    small, count, large = cfg.parts
    sizes = (
        f"{small // MIB} MiB" if small == large or result.parts <= count else f"{small // MIB}, then {large // MIB} MiB"
    )
    log(f"{DUMP_NAME}: {format_rate(result.size, result.seconds)}, {result.parts} parts of {sizes}")
    return ObjectEntry(DUMP_NAME, "database", result.size, result.sha256, result.expected_etag, result.parts)


def _upload_filestore(
    cfg: BackupConfig, client: Any, base: str, extra: Mapping[str, Any], log: Log
) -> list[ObjectEntry]:
    files = list_filestore(cfg.filestore)

    def one(item: tuple[str, str, int]) -> ObjectEntry:
        rel, path, _size = item
        name = object_name_for_file(rel)
        started = time.monotonic()
        size, sha, etag, parts = upload_file(client, cfg.primary, base + name, path, extra)
        log(f"{name}: {format_rate(size, time.monotonic() - started)}")
        return ObjectEntry(name, "filestore", size, sha, etag, parts)

    with ThreadPoolExecutor(max_workers=max(1, cfg.filestore_workers), thread_name_prefix="filestore") as pool:
        return list(pool.map(one, files))


def verify_set(
    client: Any, store: Store, base: str, entries: list[ObjectEntry], *, workers: int, reread: bool = False
) -> None:
    """Verify every object of a set in parallel; records how on each entry; raises on the first mismatch."""

    def one(entry: ObjectEntry) -> None:
        entry.verified_by = verify_object(
            client,
            store.bucket,
            base + entry.name,
            size=entry.size,
            sha256=entry.sha256,
            expected_etag=entry.etag,
            reread=reread,
        )

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="verify") as pool:
        list(pool.map(one, entries))


def write_manifest(client: Any, store: Store, base: str, manifest: Manifest) -> str:
    """Put ``manifest.json`` (with its sha256 as metadata) and verify it; returns its sha256."""
    data = manifest.to_json()
    sha = hashlib.sha256(data).hexdigest()
    put_bytes(
        client,
        store.bucket,
        base + MANIFEST_NAME,
        data,
        sha256=sha,
        extra_args=sse_arguments(store.sse, store.sse_kms_key_id),
    )
    verify_object(client, store.bucket, base + MANIFEST_NAME, size=len(data), sha256=sha)
    return sha


def remove_partial(client: Any, store: Store, base: str) -> int:
    """Best effort: delete what a failed run wrote under its own set prefix (never a manifest exists there)."""
    from .s3_stream import delete_keys, list_keys  # noqa: PLC0415

    try:
        keys = [k for k, _s in list_keys(client, store.bucket, base)]
        delete_keys(client, store.bucket, keys)
    except Exception:
        return -1
    return len(keys)


def tool_versions(pg_dump_line: str, server_version_num: int) -> dict[str, str]:
    """The versions recorded in the manifest."""
    versions = {
        "tool": TOOL,
        "pg_dump": pg_dump_line,
        "server_version_num": str(server_version_num),
        "python": platform.python_version(),
    }
    with contextlib.suppress(ImportError):
        import boto3  # noqa: PLC0415
        import botocore  # noqa: PLC0415

        versions["boto3"] = boto3.__version__
        versions["botocore"] = botocore.__version__
    return versions


def run_backup(cfg: BackupConfig, log: Log, *, run_id: str | None = None, client: Any = None) -> dict[str, Any]:
    """Take one verified backup set; returns the manifest's summary. Raises :class:`BackupError` / :class:`S3Error`."""
    run_id = run_id or new_run_id()
    base = set_prefix(cfg.primary.prefix, cfg.environment, run_id)
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    with environment_lock(cfg, run_id, log):
        major, dump_line = tool_major(cfg.pg_dump)
        probe = probe_database(cfg)
        if major < probe["server_major"]:
            raise BackupError(
                f"{cfg.pg_dump} is version {major}, older than the server's {probe['server_major']}: "
                f"install postgresql-client-{probe['server_major']} on the runner"
            )
        client = client or make_client(
            cfg.primary, max_pool_connections=max(cfg.filestore_workers, cfg.upload_concurrency) + 4
        )
        check_bucket(client, cfg.primary)
        extra = sse_arguments(cfg.primary.sse, cfg.primary.sse_kms_key_id)
        log(f"run {run_id}: backing up {cfg.database.where()} and {cfg.filestore} to s3://{cfg.primary.bucket}/{base}")
        try:
            entries = [_stream_dump(cfg, client, base + DUMP_NAME, extra, log)]
            entries += _upload_filestore(cfg, client, base, extra, log)
            verify_set(client, cfg.primary, base, entries, workers=cfg.filestore_workers)
            manifest = Manifest(
                run_id=run_id,
                environment=cfg.environment,
                database=cfg.database.name,
                tenant=cfg.tenant,
                odoo_version=cfg.odoo_version or probe["odoo"],
                started=format_time(started),
                finished=format_time(datetime.now(timezone.utc)),
                tool_versions=tool_versions(dump_line, probe["server_version_num"]),
                objects=entries,
                source={"database_size": probe["size"], "filestore": cfg.filestore, "host": socket.gethostname()},
            )
            manifest_sha = write_manifest(client, cfg.primary, base, manifest)
        except BaseException as exc:
            removed = remove_partial(client, cfg.primary, base)
            note = (
                f"removed {removed} partial objects"
                if removed >= 0
                else "partial objects stay until retention removes the incomplete set"
            )
            log(f"run {run_id} FAILED, no manifest written ({note}): {exc}")
            if isinstance(exc, (BackupError, S3Error)):
                raise
            if isinstance(exc, Exception):
                from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

                if isinstance(exc, (BotoCoreError, ClientError)):
                    from .s3_stream import explain  # noqa: PLC0415

                    raise explain(exc, cfg.primary, f"backup run {run_id}") from exc
            raise
        seconds = time.monotonic() - clock
        log(f"run {run_id}: set complete, {len(entries)} objects, {format_rate(manifest.total_bytes, seconds)}")
        summary = {
            "run_id": run_id,
            "environment": cfg.environment,
            "database": cfg.database.name,
            "set_prefix": base,
            "objects": len(entries),
            "bytes": manifest.total_bytes,
            "dump_bytes": entries[0].size,
            "seconds": round(seconds, 2),
            "manifest_sha256": manifest_sha,
            "verified_by": sorted({e.verified_by for e in entries}),
            "offsite": None,
        }
        if cfg.offsite is not None:
            summary["offsite"] = copy_set(cfg, run_id, log, src_client=client)
    return summary


def check_bucket(client: Any, store: Store) -> None:
    """Raise :class:`S3Error` naming the cause when the bucket cannot be used with these credentials."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from .s3_stream import explain  # noqa: PLC0415

    try:
        client.head_bucket(Bucket=store.bucket)
    except (BotoCoreError, ClientError) as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise S3Error(
                f"checking the bucket on {store.describe()} failed: "
                "the bucket does not exist: create it or fix the bucket name"
            ) from exc
        if code in ("403", "Forbidden"):
            # HEAD has no body: ask again with a request whose error names the cause.
            try:
                client.list_objects_v2(Bucket=store.bucket, Prefix=f"{store.prefix}/", MaxKeys=1)
            except (BotoCoreError, ClientError) as again:
                raise explain(again, store, "checking the bucket") from again
        raise explain(exc, store, "checking the bucket") from exc


def read_manifest(client: Any, store: Store, base: str, run_id: str) -> Manifest:
    """Fetch and check a set's manifest (its bytes against its sha256 metadata)."""
    from .backup_set import manifest_from_json  # noqa: PLC0415

    response = client.get_object(Bucket=store.bucket, Key=base + MANIFEST_NAME)
    data = response["Body"].read()
    meta = {str(k).lower(): str(v) for k, v in (response.get("Metadata") or {}).items()}
    sha = hashlib.sha256(data).hexdigest()
    if meta.get("sha256") and meta["sha256"] != sha:
        raise BackupError(
            f"{base}{MANIFEST_NAME} on {store.describe()} is corrupted: sha256 {sha}, stored {meta['sha256']}"
        )
    try:
        return manifest_from_json(data, run_id)
    except ValueError as exc:
        raise BackupError(f"{base}{MANIFEST_NAME} on {store.describe()}: {exc}") from exc


def copy_set(
    cfg: BackupConfig, run_id: str, log: Log, *, src_client: Any = None, dst_client: Any = None
) -> dict[str, Any]:
    """Copy a verified set to the offsite store (its own endpoint and credentials), verify, manifest last."""
    if cfg.offsite is None:
        raise BackupError("no offsite store is configured (config key offsite)")
    src, dst = cfg.primary, cfg.offsite
    src_client = src_client or make_client(src)
    dst_client = dst_client or make_client(dst, max_pool_connections=cfg.filestore_workers + 4)
    src_base = set_prefix(src.prefix, cfg.environment, run_id)
    dst_base = set_prefix(dst.prefix, cfg.environment, run_id)
    clock = time.monotonic()
    manifest = read_manifest(src_client, src, src_base, run_id)
    extra = sse_arguments(dst.sse, dst.sse_kms_key_id)
    check_bucket(dst_client, dst)

    def one(entry: ObjectEntry) -> None:
        started = time.monotonic()
        body = src_client.get_object(Bucket=src.bucket, Key=src_base + entry.name)["Body"]
        try:
            if entry.size <= SINGLE_PUT_MAX:
                data = read_exact(body, entry.size + 1)
                if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
                    raise BackupError(f"{src_base}{entry.name} on {src.describe()} does not match the manifest")
                put_bytes(dst_client, dst.bucket, dst_base + entry.name, data, sha256=entry.sha256, extra_args=extra)
            else:
                upload_stream(
                    dst_client,
                    dst.bucket,
                    dst_base + entry.name,
                    body,
                    part_size=part_size_for(max(entry.size, 1)),
                    concurrency=cfg.upload_concurrency,
                    extra_args={**extra, "Metadata": {"sha256": entry.sha256}},
                    expected_sha256=entry.sha256,
                )
        finally:
            body.close()
        verify_object(dst_client, dst.bucket, dst_base + entry.name, size=entry.size, sha256=entry.sha256)
        log(f"offsite {entry.name}: {format_rate(entry.size, time.monotonic() - started)}")

    try:
        with ThreadPoolExecutor(max_workers=max(1, cfg.filestore_workers), thread_name_prefix="offsite") as pool:
            list(pool.map(one, manifest.objects))
        sha = write_manifest(dst_client, dst, dst_base, manifest)
    except BaseException as exc:
        remove_partial(dst_client, dst, dst_base)
        log(f"offsite copy of {run_id} FAILED, no manifest written there: {exc}")
        raise
    seconds = time.monotonic() - clock
    log(f"offsite copy of {run_id} to {dst.describe()}: {format_rate(manifest.total_bytes, seconds)}")
    return {"store": dst.describe(), "set_prefix": dst_base, "seconds": round(seconds, 2), "manifest_sha256": sha}


__all__ = [
    "BackupConfig",
    "BackupError",
    "Database",
    "copy_set",
    "file_for_object_name",
    "read_manifest",
    "run_backup",
]
