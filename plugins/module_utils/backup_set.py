# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup sets: run ids, the object key layout and the manifest.

Pure Python, no Ansible imports (Python 3.8+).

One backup set is one run for one environment, stored under one prefix::

    <prefix>/<environment>/<run_id>/db.dump                 pg_dump -Fc --no-owner --no-privileges
    <prefix>/<environment>/<run_id>/filestore/<path>        one object per filestore file
    <prefix>/<environment>/<run_id>/manifest.json           written last, after every object verified

A set counts only when its ``manifest.json`` exists. Keys are parsed strictly (FIELD_CASES F08):
every component must be non-empty, prefixes end with ``/`` so ``acme`` never matches ``acme2``,
and a name that is not exactly a run id is not a set, whatever it contains.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

MANIFEST_FORMAT = 1
DUMP_NAME = "db.dump"
MANIFEST_NAME = "manifest.json"
FILESTORE_DIR = "filestore"
# YYYYMMDDTHHMMSSZ-<6 hex>: sorts by time; the random tail keeps two runs in one second apart.
_RUN_ID = re.compile(r"^(?P<stamp>[0-9]{8}T[0-9]{6}Z)-(?P<tail>[0-9a-f]{6})$")
_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_STAMP = "%Y%m%dT%H%M%SZ"


class LayoutError(ValueError):
    """A key, prefix or path that does not follow the set layout."""


def new_run_id(now: datetime | None = None, tail: str | None = None) -> str:
    """A fresh run id: UTC time to the second plus six random hex digits."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment.strftime(_STAMP)}-{tail if tail is not None else secrets.token_hex(3)}"


def parse_run_id(name: Any) -> datetime | None:
    """The UTC start time encoded in a run id, ``None`` when ``name`` is not exactly a run id."""
    if not isinstance(name, str):
        return None
    match = _RUN_ID.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def validate_component(what: str, value: Any) -> str:
    """Return ``value`` when it is one safe, non-empty key component; raise :class:`LayoutError`."""
    if not isinstance(value, str) or not _COMPONENT.match(value) or value in (".", ".."):
        raise LayoutError(
            f"{what}={value!r} is not a valid key component: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, no '/'"
        )
    return value


def validate_prefix(prefix: Any) -> str:
    """The base prefix without slashes at either end; every component must be valid (never empty)."""
    if not isinstance(prefix, str) or not prefix.strip("/"):
        raise LayoutError(f"prefix={prefix!r} is empty: give a base prefix such as 'odoo'")
    parts = prefix.strip("/").split("/")
    for part in parts:
        validate_component("prefix component", part)
    return "/".join(parts)


def environment_prefix(prefix: str, environment: str) -> str:
    """``<prefix>/<environment>/`` with its trailing slash: ``acme/`` never matches ``acme2``."""
    return f"{validate_prefix(prefix)}/{validate_component('environment', environment)}/"


def set_prefix(prefix: str, environment: str, run_id: str) -> str:
    """``<prefix>/<environment>/<run_id>/``; raises when ``run_id`` is not a run id."""
    if parse_run_id(run_id) is None:
        raise LayoutError(f"run_id={run_id!r} is not a run id (YYYYMMDDTHHMMSSZ-xxxxxx, e.g. 20261203T020000Z-1a2b3c)")
    return f"{environment_prefix(prefix, environment)}{run_id}/"


def run_id_from_common_prefix(env_prefix: str, common_prefix: str) -> str | None:
    """The run id of a listing's CommonPrefix ``<env_prefix><run_id>/``; ``None`` for anything else."""
    if not env_prefix.endswith("/") or not common_prefix.startswith(env_prefix) or not common_prefix.endswith("/"):
        return None
    name = common_prefix[len(env_prefix) : -1]
    return name if parse_run_id(name) is not None else None


def validate_relative_path(rel: Any) -> str:
    """A filestore path relative to the database's directory: posix, no empty, '.' or '..' parts."""
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel or "\0" in rel:
        raise LayoutError(f"filestore path {rel!r} is not a relative posix path")
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise LayoutError(f"filestore path {rel!r} has an empty, '.' or '..' component")
    return rel


def object_name_for_file(rel: str) -> str:
    """The set-relative object name of a filestore file: ``filestore/<rel>``."""
    return f"{FILESTORE_DIR}/{validate_relative_path(rel)}"


def file_for_object_name(name: str) -> str | None:
    """The filestore-relative path of a ``filestore/<rel>`` object name; ``None`` for other names."""
    if not name.startswith(FILESTORE_DIR + "/"):
        return None
    return validate_relative_path(name[len(FILESTORE_DIR) + 1 :])


def safe_join(root: str, rel: str) -> str:
    """``root/rel`` that provably stays inside ``root`` (a manifest is never trusted with paths)."""
    path = os.path.normpath(os.path.join(root, *validate_relative_path(rel).split("/")))
    if os.path.commonpath([os.path.abspath(root), os.path.abspath(path)]) != os.path.abspath(root):
        raise LayoutError(f"filestore path {rel!r} leaves {root}")
    return path


@dataclass
class ObjectEntry:
    """One object of a set: set-relative name, size, sha256 and how its upload was verified."""

    name: str
    kind: str
    size: int
    sha256: str
    etag: str = ""
    parts: int = 0
    verified_by: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The manifest form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "size": self.size,
            "sha256": self.sha256,
            "etag": self.etag,
            "parts": self.parts,
            "verified_by": self.verified_by,
        }


@dataclass
class Manifest:
    """What a set holds; written last, so its presence means every object was verified."""

    run_id: str
    environment: str
    database: str
    tenant: str = ""
    odoo_version: str = ""
    started: str = ""
    finished: str = ""
    tool_versions: dict[str, str] = field(default_factory=dict)
    objects: list[ObjectEntry] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        """Sum of the object sizes."""
        return sum(entry.size for entry in self.objects)

    def by_name(self) -> dict[str, ObjectEntry]:
        """Objects keyed by set-relative name."""
        return {entry.name: entry for entry in self.objects}

    def as_dict(self) -> dict[str, Any]:
        """The JSON document stored as ``manifest.json``."""
        return {
            "format": MANIFEST_FORMAT,
            "run_id": self.run_id,
            "environment": self.environment,
            "tenant": self.tenant,
            "database": self.database,
            "odoo_version": self.odoo_version,
            "started": self.started,
            "finished": self.finished,
            "verified": True,
            "tool_versions": dict(sorted(self.tool_versions.items())),
            "source": self.source,
            "totals": {"objects": len(self.objects), "bytes": self.total_bytes},
            "objects": [entry.as_dict() for entry in sorted(self.objects, key=lambda e: e.name)],
        }

    def to_json(self) -> bytes:
        """Stable, sorted JSON bytes (the same manifest always hashes the same)."""
        return (json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n").encode("utf-8")


def manifest_from_json(data: bytes, expected_run_id: str | None = None) -> Manifest:
    """Parse and check a stored manifest; raise ``ValueError`` naming what is wrong."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(doc, Mapping) or doc.get("format") != MANIFEST_FORMAT:
        raise ValueError(
            f"manifest format {doc.get('format') if isinstance(doc, Mapping) else None!r} is not {MANIFEST_FORMAT}"
        )
    if expected_run_id is not None and doc.get("run_id") != expected_run_id:
        raise ValueError(f"manifest names run {doc.get('run_id')!r}, expected {expected_run_id!r}")
    objects = []
    for raw in doc.get("objects") or []:
        name = str(raw.get("name", ""))
        if name != DUMP_NAME:
            file_for_object_name(name) or _bad_name(name)
        sha = str(raw.get("sha256", ""))
        if not re.match(r"^[0-9a-f]{64}$", sha):
            raise ValueError(f"manifest object {name!r} has no valid sha256")
        objects.append(
            ObjectEntry(
                name=name,
                kind=str(raw.get("kind", "")),
                size=int(raw.get("size", -1)),
                sha256=sha,
                etag=str(raw.get("etag", "")),
                parts=int(raw.get("parts", 0)),
                verified_by=str(raw.get("verified_by", "")),
            )
        )
    if DUMP_NAME not in {o.name for o in objects}:
        raise ValueError(f"manifest lists no {DUMP_NAME}")
    return Manifest(
        run_id=str(doc["run_id"]),
        environment=str(doc.get("environment", "")),
        database=str(doc.get("database", "")),
        tenant=str(doc.get("tenant", "")),
        odoo_version=str(doc.get("odoo_version", "")),
        started=str(doc.get("started", "")),
        finished=str(doc.get("finished", "")),
        tool_versions=dict(doc.get("tool_versions") or {}),
        objects=objects,
        source=dict(doc.get("source") or {}),
    )


def _bad_name(name: str) -> None:
    raise ValueError(f"manifest object name {name!r} is neither {DUMP_NAME} nor filestore/<path>")


def keys_of_set(prefix: str, environment: str, run_id: str, names: Iterable[str]) -> list[str]:
    """Full keys for set-relative ``names``; never builds a key from an empty component."""
    base = set_prefix(prefix, environment, run_id)
    keys = []
    for name in names:
        if not name or name.startswith("/") or "//" in name:
            raise LayoutError(f"object name {name!r} would build a key with an empty component")
        keys.append(base + name)
    return keys


def format_time(moment: datetime) -> str:
    """UTC ISO 8601 to the second with ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def posix_rel(root: str, path: str) -> str:
    """``path`` relative to ``root`` with '/' separators."""
    return posixpath.join(*os.path.relpath(path, root).split(os.sep))
