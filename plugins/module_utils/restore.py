# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore a verified backup set into the same or a new database, with its filestore.

No Ansible imports (Python 3.8+).

Order: refuse early (target database and filestore state) -> download every object and verify
its size and sha256 against the manifest BEFORE using it (a corrupted object is refused and
nothing is changed) -> create the target database owned by the Odoo role (admin connection,
only when it does not exist) -> ``pg_restore`` as the Odoo role, never a superuser, from a TOC
without extension comments (FIELD_CASES F05), in one transaction, any error fails -> put the
filestore at ``<data_dir>/filestore/<target>`` (F06) -> check every ``ir_attachment.store_fname``
exists -> optionally neutralise a staging copy (new database.uuid, mail servers and crons off).
A replaced database or filestore is renamed aside, never dropped.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from .backup_run import BackupConfig, BackupError, Database, Log, libpq_args, libpq_env, read_manifest, tool_major
from .backup_set import DUMP_NAME, file_for_object_name, safe_join, set_prefix
from .retention import find_sets
from .s3_stream import MIB, S3Error, Store, format_rate, make_client

# pg_restore -l lines: "<id>; <catalog oid> <oid> COMMENT - EXTENSION <name>" (pg_restore docs, -l/-L).
_EXTENSION_COMMENT = re.compile(r"^\d+;\s+\d+\s+\d+\s+COMMENT\s+-\s+EXTENSION\s")
_DB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")
MISSING_SHOWN = 10


def filter_toc(listing: str) -> tuple[str, list[str]]:
    """Drop ``COMMENT ON EXTENSION`` entries (only the extension's owner may run them, F05); returns them too."""
    kept, dropped = [], []
    for line in listing.splitlines():
        (dropped if _EXTENSION_COMMENT.match(line) else kept).append(line)
    return "\n".join(kept) + "\n", dropped


def choose_run(sets: list[Any], run_id: str | None) -> str:
    """The wanted run id (must be a complete set) or the newest complete set."""
    complete = sorted(s.run_id for s in sets if s.complete)
    if run_id:
        if run_id not in complete:
            known = ", ".join(complete[-5:]) or "none"
            raise BackupError(f"run {run_id!r} is not a complete set in this store (newest complete: {known})")
        return run_id
    if not complete:
        raise BackupError("the store holds no complete backup set for this environment")
    return complete[-1]


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _download_verified(client: Any, store: Store, key: str, path: str, *, size: int, sha256: str) -> None:
    body = client.get_object(Bucket=store.bucket, Key=key)["Body"]
    sha = hashlib.sha256()
    got = 0
    try:
        with open(path, "wb") as handle:
            for block in iter(lambda: body.read(MIB), b""):
                sha.update(block)
                got += len(block)
                handle.write(block)
    finally:
        body.close()
    if got != size or sha.hexdigest() != sha256:
        raise BackupError(
            f"{key} on {store.describe()} is corrupted: {got} bytes with sha256 {sha.hexdigest()}, the manifest says "
            f"{size} bytes {sha256}; refusing to restore from it (try the other store or another run id)"
        )


def _database_state(admin: Database | None, odoo: Database, target: str) -> tuple[bool, str, int]:
    """``(exists, owner, tables)`` of the target, asked as admin when given, else as the Odoo role."""
    try:
        conn = (admin or odoo).connect("postgres" if admin else target)
    except BackupError as exc:
        if admin is None and "does not exist" in str(exc):
            return False, "", 0
        raise
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (target,))
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        return False, "", 0
    conn = odoo.connect(target)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
            )
            tables = int(cur.fetchone()[0])
    finally:
        conn.close()
    return True, str(row[0]), tables


def _refuse_early(admin: Database | None, odoo: Database, replace: bool) -> tuple[bool, int]:
    """Refuse a target that cannot be restored into, before anything is downloaded or changed."""
    target, role = odoo.name, odoo.user
    exists, owner, tables = _database_state(admin, odoo, target)
    if exists and tables and not replace:
        raise BackupError(
            f"database {target!r} exists and holds {tables} tables: restore into a new name, or set replace "
            "(the current database is renamed aside, never dropped)"
        )
    if exists and tables and admin is None:
        raise BackupError(f"replacing database {target!r} needs the admin connection (restore.admin)")
    if exists and not tables and owner != role:
        raise BackupError(
            f"database {target!r} is owned by {owner!r}, not by the Odoo role {role!r}: "
            f"ALTER DATABASE {target} OWNER TO {role}, or restore into a new name"
        )
    if not exists and admin is None:
        raise BackupError(
            f"database {target!r} does not exist and no admin connection is configured (restore.admin) "
            f"to create it: create it owned by {role!r} first"
        )
    return exists, tables


def _fetch_all(  # noqa: PLR0917 - one private step of run_restore
    client: Any, store: Store, base: str, manifest: Any, work: str, staging: str, workers: int, log: Log
) -> str:
    """Download and verify every object (dump into ``work``, files into ``staging``); returns the dump's path."""
    dump = manifest.by_name()[DUMP_NAME]
    dump_path = os.path.join(work, DUMP_NAME)
    started = time.monotonic()
    _download_verified(client, store, base + DUMP_NAME, dump_path, size=dump.size, sha256=dump.sha256)
    log(f"{DUMP_NAME}: verified, {format_rate(dump.size, time.monotonic() - started)}")

    def fetch(entry: Any) -> None:
        rel = file_for_object_name(entry.name)
        if rel is None:  # pragma: no cover - manifest_from_json refuses other names
            raise BackupError(f"unexpected object {entry.name!r} in the manifest")
        path = safe_join(staging, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        t0 = time.monotonic()
        _download_verified(client, store, base + entry.name, path, size=entry.size, sha256=entry.sha256)
        log(f"{entry.name}: verified, {format_rate(entry.size, time.monotonic() - t0)}")

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="restore") as pool:
        list(pool.map(fetch, [e for e in manifest.objects if e.name != DUMP_NAME]))
    return dump_path


def _place_filestore(staging: str, final_dir: str, stamp: str, owner: tuple[int, int] | None) -> str:
    """Move the verified staging directory to ``final_dir``; a non-empty old one is renamed aside."""
    aside = ""
    if os.path.exists(final_dir):
        if os.listdir(final_dir):
            aside = f"{final_dir}.before-{stamp}"
            os.rename(final_dir, aside)
        else:
            os.rmdir(final_dir)
    os.rename(staging, final_dir)
    if owner is not None:
        _chown_tree(final_dir, *owner)
    return aside


def _target_db(cfg: BackupConfig, target: str) -> Database:
    """The restore target, reached as the Odoo role (the owner of the restored database)."""
    if not _DB_NAME.match(target):
        raise BackupError(f"target database name {target!r} is not valid: letters, digits, '_', '.', '-'")
    if not cfg.database.user:
        raise BackupError("database.user (the Odoo role that owns the restored database) is not set")
    db = cfg.database
    return Database(target, db.host, db.port, db.user, db.password, db.sslmode, db.sslrootcert)


def run_restore(
    cfg: BackupConfig,
    log: Log,
    *,
    run_id: str | None = None,
    target: str | None = None,
    store: str = "primary",
    admin: Database | None = None,
    replace: bool = False,
    neutralize: bool = False,
    filestore_owner: tuple[int, int] | None = None,
    work_dir: str | None = None,
) -> dict[str, Any]:
    """Restore one set; returns what was restored and checked. Raises :class:`BackupError` / :class:`S3Error`."""
    chosen = cfg.offsite if store == "offsite" else cfg.primary
    if chosen is None:
        raise BackupError("store=offsite but no offsite store is configured (config key offsite)")
    clock = time.monotonic()
    client = make_client(chosen, max_pool_connections=cfg.filestore_workers + 4)
    try:
        sets, _ignored = find_sets(client, chosen.bucket, chosen.prefix, cfg.environment)
    except Exception as exc:
        raise _s3_error(exc, chosen, "listing the backup sets") from exc
    run = choose_run(sets, run_id)
    base = set_prefix(chosen.prefix, cfg.environment, run)
    manifest = read_manifest(client, chosen, base, run)
    target = target or manifest.database
    odoo = _target_db(cfg, target)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    exists, tables = _refuse_early(admin, odoo, replace)
    filestore_root = os.path.join(cfg.data_dir, "filestore")
    final_dir = os.path.join(filestore_root, target)
    if os.path.exists(final_dir) and os.listdir(final_dir) and not replace:
        raise BackupError(
            f"{final_dir} exists and is not empty: restore into a new name, or set replace "
            "(the directory is renamed aside)"
        )
    os.makedirs(filestore_root, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".restore-{target}-", dir=filestore_root)
    work = tempfile.mkdtemp(prefix="odoo-restore-", dir=work_dir)
    try:
        dump_path = _fetch_all(client, chosen, base, manifest, work, staging, cfg.filestore_workers, log)
        # Every object is verified: now change things.
        renamed = _prepare_database(
            admin,
            odoo,
            replace_existing=exists and bool(tables),
            create=not (exists and not tables),
            stamp=stamp,
            log=log,
        )
        dropped = _pg_restore(cfg, odoo, dump_path, log)
        aside = _place_filestore(staging, final_dir, stamp, filestore_owner)
        staging = ""
        check = verify_attachments(odoo, final_dir)
        if check["missing"]:
            raise BackupError(
                f"{check['missing']} attachments of {target} have no file under {final_dir}, e.g. "
                f"{', '.join(check['missing_examples'])}"
            )
        neutralised = neutralise(odoo) if neutralize else {}
        counts = table_counts(odoo)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"restore of run {run} into {target!r} failed: {exc}") from exc
    except BackupError:
        raise
    except Exception as exc:
        raise _s3_error(exc, chosen, f"restore of run {run}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if staging:
            shutil.rmtree(staging, ignore_errors=True)
    seconds = time.monotonic() - clock
    log(
        f"restored run {run} from {chosen.describe()} into {target!r} in {seconds:.1f} s; "
        f"{check['attachments']} attachments, 0 missing"
    )
    return {
        "run_id": run,
        "store": store,
        "target": target,
        "filestore": final_dir,
        "seconds": round(seconds, 2),
        "bytes": manifest.total_bytes,
        "attachments": check["attachments"],
        "missing_attachments": 0,
        "renamed_database": renamed,
        "renamed_filestore": aside,
        "toc_entries_dropped": dropped,
        "neutralised": neutralised,
        "tables": counts,
    }


def _s3_error(exc: Exception, store: Store, what: str) -> Exception:
    if isinstance(exc, (BackupError, S3Error)):
        return exc
    from .s3_stream import explain  # noqa: PLC0415

    return explain(exc, store, what)


def _prepare_database(
    admin: Database | None, odoo: Database, *, replace_existing: bool, create: bool, stamp: str, log: Log
) -> str:
    """Create the target owned by the Odoo role; rename a non-empty one aside first (replace)."""
    renamed = ""
    if admin is None or not (replace_existing or create):
        return renamed
    target = odoo.name
    conn = admin.connect("postgres")
    try:
        with conn.cursor() as cur:
            if replace_existing:
                renamed = f"{target[:40]}_before_{stamp}"
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (target,))
                cur.execute(f"ALTER DATABASE {_quote_ident(target)} RENAME TO {_quote_ident(renamed)}")
                log(f"database {target!r} renamed aside to {renamed!r}")
            cur.execute(
                f"CREATE DATABASE {_quote_ident(target)} OWNER {_quote_ident(odoo.user)} "
                "TEMPLATE template0 ENCODING 'UTF8'"
            )
    finally:
        conn.close()
    return renamed


def _pg_restore(cfg: BackupConfig, odoo: Database, dump_path: str, log: Log) -> list[str]:
    major, _line = tool_major(cfg.pg_restore)
    listing = subprocess.run([cfg.pg_restore, "-l", dump_path], capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore -l cannot read the dump: {listing.stderr.strip()[-400:]}")
    toc, dropped = filter_toc(listing.stdout)
    toc_path = dump_path + ".list"
    with open(toc_path, "w", encoding="utf-8") as handle:
        handle.write(toc)
    argv = [
        cfg.pg_restore,
        "--no-owner",
        "--no-privileges",
        f"--role={odoo.user}",
        "--exit-on-error",
        "--single-transaction",
        "-L",
        toc_path,
        *libpq_args(odoo),
        dump_path,
    ]
    with libpq_env(odoo) as env:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise BackupError(
            f"pg_restore (version {major}) into {odoo.where()} as {odoo.user} failed "
            f"(exit {proc.returncode}), nothing kept (one transaction): {proc.stderr.strip()[-800:]}"
        )
    if dropped:
        log(
            f"pg_restore: skipped {len(dropped)} extension comments (F05): "
            + "; ".join(d.split(" - ", 1)[-1] for d in dropped)
        )
    return dropped


def _chown_tree(root: str, uid: int, gid: int) -> None:
    for directory, _dirs, names in os.walk(root):
        os.chown(directory, uid, gid)
        for name in names:
            os.chown(os.path.join(directory, name), uid, gid)


def verify_attachments(odoo: Database, filestore: str) -> dict[str, Any]:
    """Every ``ir_attachment.store_fname`` must exist under ``filestore``."""
    conn = odoo.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('ir_attachment') IS NOT NULL")
            if not cur.fetchone()[0]:
                return {"attachments": 0, "missing": 0, "missing_examples": [], "table": False}
            cur.execute("SELECT DISTINCT store_fname FROM ir_attachment WHERE coalesce(store_fname, '') <> ''")
            names = [str(r[0]) for r in cur.fetchall()]
    finally:
        conn.close()
    missing = []
    for name in names:
        try:
            path = safe_join(filestore, name)
        except ValueError:
            missing.append(name)
            continue
        if not os.path.isfile(path):
            missing.append(name)
    return {
        "attachments": len(names),
        "missing": len(missing),
        "missing_examples": sorted(missing)[:MISSING_SHOWN],
        "table": True,
    }


def neutralise(odoo: Database) -> dict[str, Any]:
    """Staging copy: a new database.uuid, outgoing mail servers, fetchmail and crons off (one transaction)."""
    conn = odoo.connect()
    conn.autocommit = False
    done: dict[str, Any] = {}
    try:
        with conn.cursor() as cur:
            if _has_table(cur, "ir_config_parameter"):
                new = str(uuid.uuid4())
                cur.execute("UPDATE ir_config_parameter SET value = %s WHERE key = 'database.uuid'", (new,))
                done["database_uuid"] = new if cur.rowcount else "no database.uuid parameter"
                cur.execute("UPDATE ir_config_parameter SET value = 'True' WHERE key = 'database.is_neutralized'")
                if not cur.rowcount:
                    cur.execute(
                        "INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', 'True')"
                    )
            for table in ("ir_mail_server", "fetchmail_server", "ir_cron"):
                if _has_table(cur, table):
                    cur.execute(f"UPDATE {table} SET active = false WHERE active")
                    done[f"{table}_deactivated"] = cur.rowcount
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.close()
    return done


def _has_table(cur: Any, name: str) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
    return bool(cur.fetchone()[0])


def table_counts(odoo: Database) -> dict[str, int]:
    """Row count of every table in schema public (for reports and round-trip checks)."""
    conn = odoo.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"
            )
            names = [r[0] for r in cur.fetchall()]
            counts = {}
            for name in names:
                cur.execute(f"SELECT count(*) FROM public.{_quote_ident(name)}")
                counts[name] = int(cur.fetchone()[0])
    finally:
        conn.close()
    return counts
