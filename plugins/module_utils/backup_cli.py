# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line of the backup runner (systemd timers, Kubernetes CronJobs, operators).

    python3 -m sysgenpro_backup.backup_cli --config /etc/sysgenpro-odoo-backup/<env>.json backup
    ... restore [--run-id ID] [--target DB] [--store primary|offsite] [--replace] [--neutralize]
    ... retention [--dry-run] | sweep [--older-than-hours H] | offsite-copy --run-id ID | list

Secrets come only from the config file (mode 0600), never from argv. One progress line per
object goes to stderr; the result is one JSON document on stdout. Exit 0 on success, 1 on a
failure (the message names the cause), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from .backup_run import BackupConfig, BackupError, Database, copy_set, run_backup
from .backup_set import LayoutError, environment_prefix
from .observability import BACKUP_METRICS, textfile_metrics
from .s3_stream import S3Error, make_client, sweep_multipart_uploads


def load_config(path: str) -> dict[str, Any]:
    """Read the JSON config; refuse one that others can read (it holds secrets)."""
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read the config {path}: {exc}") from exc
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise BackupError(
            f"config {path} is readable by others (mode {oct(mode & 0o777)}): chmod 0600 it, it holds secrets"
        )
    if not isinstance(data, dict):
        raise BackupError(f"config {path} is not a JSON object")
    return data


def retention_policy(cfg: BackupConfig) -> dict[str, Any]:
    """The retention settings from the config, with the standard tier's defaults."""
    policy = {"retention_days": 14, "min_sets": 7, "max_deletions": 10, "incomplete_grace_hours": 48}
    policy.update(cfg.retention)
    return policy


def do_retention(cfg: BackupConfig, *, dry_run: bool, current_run_id: str = "", log: Any = None) -> dict[str, Any]:
    """Retention on the primary store and, when configured, on the offsite store."""
    from .retention import run_retention  # noqa: PLC0415

    out = {}
    for store in [s for s in (cfg.primary, cfg.offsite) if s is not None]:
        client = make_client(store)
        result = run_retention(
            client,
            store.bucket,
            store.prefix,
            cfg.environment,
            retention_policy(cfg),
            current_run_id=current_run_id,
            dry_run=dry_run,
        )
        if log is not None:
            verb = "would delete" if dry_run else "deleted"
            for run_id, keys in result["keys"].items():
                for key in keys:
                    log(f"retention {store.name}: {verb} {key} (set {run_id}: {result['delete'][run_id]})")
        out[store.name] = result
    return out


def do_sweep(
    cfg: BackupConfig, *, older_than_hours: float, dry_run: bool = False, keep_run: str = ""
) -> dict[str, Any]:
    """Abort stale multipart uploads under the environment's prefix on every store."""
    out = {}
    for store in [s for s in (cfg.primary, cfg.offsite) if s is not None]:
        prefix = environment_prefix(store.prefix, cfg.environment)
        keep = f"{prefix}{keep_run}/" if keep_run else ""
        out[store.name] = sweep_multipart_uploads(
            make_client(store),
            store.bucket,
            prefix,
            older_than=timedelta(hours=older_than_hours),
            now=datetime.now(timezone.utc),
            keep_keys_under=keep,
            dry_run=dry_run,
        )
    return out


def do_list(cfg: BackupConfig) -> dict[str, Any]:
    """The sets per store, complete or not."""
    from .retention import find_sets  # noqa: PLC0415

    out = {}
    for store in [s for s in (cfg.primary, cfg.offsite) if s is not None]:
        sets, ignored = find_sets(make_client(store), store.bucket, store.prefix, cfg.environment)
        out[store.name] = {"sets": [{"run_id": s.run_id, "complete": s.complete} for s in sets], "ignored": ignored}
    return out


def write_metrics(data: Mapping[str, Any], result: Mapping[str, Any] | None, now: float) -> str:
    """Update ``<metrics.directory>/odoo_platform_backup_<env>.prom`` (node_exporter textfile, the
    contract of docs/observability.md) atomically; the last success's samples survive a failed run."""
    metrics = data.get("metrics") or {}
    directory = metrics.get("directory")
    if not directory:
        return ""
    environment = str(data["environment"])
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"odoo_platform_backup_{environment}.prom")
    values: dict[str, Any] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                name, _sep, rest = line.partition("{")
                if name in BACKUP_METRICS and name.startswith("odoo_platform_backup_last_") and "}" in rest:
                    values[name] = float(rest.rsplit("}", 1)[1].strip())
    except (OSError, ValueError):
        values = {}
    values["odoo_platform_backup_last_run_timestamp_seconds"] = int(now)
    values["odoo_platform_backup_last_run_success"] = 1 if result is not None else 0
    if result is not None:
        values["odoo_platform_backup_last_success_timestamp_seconds"] = int(now)
        values["odoo_platform_backup_last_size_bytes"] = int(result["bytes"])
        values["odoo_platform_backup_last_duration_seconds"] = float(result["seconds"])
    values = {k: int(v) if float(v).is_integer() else v for k, v in values.items()}
    text = textfile_metrics(environment, str(data.get("tenant") or ""), str(metrics.get("tier") or ""), values)
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temp, 0o644)
    os.replace(temp, path)
    return path


def admin_from(cfg: BackupConfig) -> Database | None:
    """The optional admin connection that creates (or renames aside) restore targets."""
    data = cfg.restore.get("admin")
    if not data:
        return None
    merged = {
        "name": "postgres",
        "host": cfg.database.host,
        "port": cfg.database.port,
        "sslmode": cfg.database.sslmode,
        "sslrootcert": cfg.database.sslrootcert,
    }
    merged.update(data)
    return Database.from_mapping(merged, "restore.admin")


def parser() -> argparse.ArgumentParser:
    """The argument parser (no secret ever is an argument)."""
    top = argparse.ArgumentParser(prog="odoo-backup", description="Logical backups of one Odoo environment to S3.")
    top.add_argument("--config", required=True, help="JSON config written by the backup_to_s3 role (mode 0600)")
    sub = top.add_subparsers(dest="command", required=True)
    backup = sub.add_parser("backup", help="take a verified set, copy it offsite, then apply retention")
    backup.add_argument("--no-retention", action="store_true")
    restore = sub.add_parser("restore", help="restore the latest set or --run-id")
    restore.add_argument("--run-id")
    restore.add_argument("--target", help="database name to restore into (default: the backed-up name)")
    restore.add_argument("--store", choices=["primary", "offsite"], default="primary")
    restore.add_argument("--replace", action="store_true", help="rename an existing database/filestore aside")
    restore.add_argument("--neutralize", action="store_true", help="staging: new database.uuid, mail and crons off")
    restore.add_argument("--work-dir")
    retention = sub.add_parser("retention", help="delete whole sets past the policy")
    retention.add_argument("--dry-run", action="store_true")
    sweep = sub.add_parser("sweep", help="abort stale multipart uploads")
    sweep.add_argument("--older-than-hours", type=float, default=24.0)
    sweep.add_argument("--dry-run", action="store_true")
    copy = sub.add_parser("offsite-copy", help="copy a verified set to the offsite store")
    copy.add_argument("--run-id", required=True)
    sub.add_parser("list", help="list the sets")
    return top


def _log(line: str) -> None:
    sys.stderr.write(f"odoo-backup: {line}\n")
    sys.stderr.flush()


def run(args: argparse.Namespace, data: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one command; returns the JSON result."""
    cfg = BackupConfig.from_mapping(data)
    if args.command == "backup":
        try:
            result = run_backup(cfg, _log)
        except Exception:
            write_metrics(data, None, time.time())
            raise
        write_metrics(data, result, time.time())
        if not args.no_retention:
            result["retention"] = do_retention(cfg, dry_run=False, current_run_id=result["run_id"], log=_log)
            result["sweep"] = do_sweep(cfg, older_than_hours=24.0, keep_run=result["run_id"])
        return result
    if args.command == "restore":
        from .restore import run_restore  # noqa: PLC0415

        owner = cfg.restore.get("filestore_owner")
        return run_restore(
            cfg,
            _log,
            run_id=args.run_id,
            target=args.target,
            store=args.store,
            admin=admin_from(cfg),
            replace=args.replace,
            neutralize=args.neutralize or bool(cfg.restore.get("neutralize")),
            filestore_owner=(int(owner[0]), int(owner[1])) if owner else None,
            work_dir=args.work_dir,
        )
    if args.command == "retention":
        return do_retention(cfg, dry_run=args.dry_run, log=_log)
    if args.command == "sweep":
        return do_sweep(cfg, older_than_hours=args.older_than_hours, dry_run=args.dry_run)
    if args.command == "offsite-copy":
        return copy_set(cfg, args.run_id, _log)
    return do_list(cfg)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 success, 1 failure (one line naming the cause), 2 usage error."""
    args = parser().parse_args(argv)
    try:
        result = run(args, load_config(args.config))
    except (BackupError, S3Error, LayoutError, ValueError) as exc:
        _log(f"error: {exc}")
        return 1
    except Exception as exc:
        _log(f"error: {type(exc).__name__}: {exc}")
        return 1
    sys.stdout.write(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
