# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retention of backup sets that can never delete what it must keep (FIELD_CASES F08).

:func:`select` is pure (no I/O): given the sets found, the clock and the policy it says which
whole sets go. :func:`find_sets` and :func:`apply` do the listing and the deleting with boto3.

Rules: only names that are exactly a run id under ``<prefix>/<environment>/`` (trailing slash,
listed with Delimiter '/') are sets; a set is complete (verified) when its manifest exists; the
newest ``min_sets`` complete sets and the current run are always kept; complete sets younger
than ``retention_days`` are kept; incomplete sets (failed runs) go only after a grace period;
whole sets only, oldest first, at most ``max_deletions`` per run; the manifest of a set is
deleted first so a half-deleted set never looks complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from .backup_set import MANIFEST_NAME, environment_prefix, parse_run_id, run_id_from_common_prefix, set_prefix


@dataclass(frozen=True)
class SetInfo:
    """A set found in the store: its run id and whether its manifest exists."""

    run_id: str
    complete: bool

    @property
    def started(self) -> datetime:
        """The start time encoded in the run id."""
        moment = parse_run_id(self.run_id)
        if moment is None:  # pragma: no cover - SetInfo is only built from parsed names
            raise ValueError(f"{self.run_id!r} is not a run id")
        return moment


@dataclass
class Selection:
    """What retention keeps and deletes, each with the reason, plus deletions deferred by the cap."""

    keep: dict[str, str] = field(default_factory=dict)
    delete: dict[str, str] = field(default_factory=dict)
    deferred: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Sorted, JSON-friendly."""
        return {
            "keep": dict(sorted(self.keep.items())),
            "delete": dict(sorted(self.delete.items())),
            "deferred": dict(sorted(self.deferred.items())),
        }


def select(
    sets: Iterable[SetInfo],
    *,
    now: datetime,
    retention_days: int,
    min_sets: int,
    current_run_id: str = "",
    max_deletions: int = 10,
    incomplete_grace: timedelta = timedelta(hours=48),
) -> Selection:
    """Which whole sets to delete. Never the newest ``min_sets`` complete sets, never ``current_run_id``."""
    if min_sets < 1:
        raise ValueError(f"min_sets={min_sets} must be at least 1: retention never deletes the newest verified set")
    if retention_days < 0 or max_deletions < 0:
        raise ValueError("retention_days and max_deletions must be >= 0")
    found = sorted(set(sets), key=lambda s: s.run_id, reverse=True)  # run ids sort by time
    complete = [s for s in found if s.complete]
    newest = {s.run_id for s in complete[:min_sets]}
    cutoff = now - timedelta(days=retention_days)
    result = Selection()
    candidates: list[tuple[str, str]] = []
    for info in found:
        if info.run_id == current_run_id:
            result.keep[info.run_id] = "the current run"
        elif info.run_id in newest:
            result.keep[info.run_id] = f"one of the newest {min_sets} verified sets"
        elif info.complete and info.started >= cutoff:
            result.keep[info.run_id] = f"younger than retention_days {retention_days}"
        elif not info.complete and now - info.started < incomplete_grace:
            result.keep[info.run_id] = "incomplete but within the grace period (may still be running)"
        elif info.complete:
            candidates.append(
                (info.run_id, f"older than retention_days {retention_days} and not among the newest {min_sets}")
            )
        else:
            candidates.append((info.run_id, "incomplete (no manifest) and older than the grace period"))
    for index, (run_id, why) in enumerate(sorted(candidates)):  # oldest first
        if index < max_deletions:
            result.delete[run_id] = why
        else:
            result.deferred[run_id] = f"{why}; over max_deletions {max_deletions} for one run"
    return result


def find_sets(client: Any, bucket: str, prefix: str, environment: str) -> tuple[list[SetInfo], list[str]]:
    """The sets under ``<prefix>/<environment>/`` and the names ignored (not run ids, stray objects)."""
    from .s3_stream import list_common_prefixes  # noqa: PLC0415

    env_prefix = environment_prefix(prefix, environment)
    prefixes, direct = list_common_prefixes(client, bucket, env_prefix)
    ignored = list(direct)  # e.g. the zero-byte "folder" object <prefix>/<environment>/
    sets = []
    for common in prefixes:
        run_id = run_id_from_common_prefix(env_prefix, common)
        if run_id is None:
            ignored.append(common)
            continue
        sets.append(SetInfo(run_id, _exists(client, bucket, common + MANIFEST_NAME)))
    return sorted(sets, key=lambda s: s.run_id), ignored


def _exists(client: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def keys_to_delete(client: Any, bucket: str, prefix: str, environment: str, run_id: str) -> list[str]:
    """Every key of one set, manifest first; each provably under the set's own prefix."""
    from .s3_stream import list_keys  # noqa: PLC0415

    base = set_prefix(prefix, environment, run_id)  # validated, ends with '/', no empty component
    keys = [key for key, _size in list_keys(client, bucket, base)]
    for key in keys:
        if not key.startswith(base) or key == base or "//" in key[len(base) - 1 :]:
            raise ValueError(f"refusing to delete {key!r}: not a key of set {base}")
    manifest = base + MANIFEST_NAME
    return ([manifest] if manifest in keys else []) + sorted(k for k in keys if k != manifest)


def apply(
    client: Any,
    bucket: str,
    prefix: str,
    environment: str,
    selection: Selection,
    *,
    dry_run: bool,
) -> dict[str, list[str]]:
    """Delete the selected sets (or, in a dry run, only list them); returns the exact keys per set."""
    from .s3_stream import delete_keys  # noqa: PLC0415

    deleted: dict[str, list[str]] = {}
    for run_id in sorted(selection.delete):
        keys = keys_to_delete(client, bucket, prefix, environment, run_id)
        if not dry_run and keys:
            delete_keys(client, bucket, keys[:1])  # the manifest first: the set stops looking complete
            delete_keys(client, bucket, keys[1:])
        deleted[run_id] = keys
    return deleted


def run_retention(
    client: Any,
    bucket: str,
    prefix: str,
    environment: str,
    policy: dict[str, Any],
    *,
    current_run_id: str = "",
    dry_run: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """List, select and delete (or dry-run) in one call; returns selection, exact keys, ignored names."""
    sets, ignored = find_sets(client, bucket, prefix, environment)
    selection = select(
        sets,
        now=now or datetime.now(timezone.utc),
        retention_days=int(policy.get("retention_days", 14)),
        min_sets=int(policy.get("min_sets", 7)),
        current_run_id=current_run_id,
        max_deletions=int(policy.get("max_deletions", 10)),
        incomplete_grace=timedelta(hours=float(policy.get("incomplete_grace_hours", 48))),
    )
    keys = apply(client, bucket, prefix, environment, selection, dry_run=dry_run)
    return {
        "dry_run": dry_run,
        "sets": [s.run_id for s in sets],
        "complete_sets": [s.run_id for s in sets if s.complete],
        "ignored": ignored,
        **selection.as_dict(),
        "keys": keys,
        "deleted_keys": 0 if dry_run else sum(len(v) for v in keys.values()),
    }
