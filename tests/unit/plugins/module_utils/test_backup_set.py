# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_set: strict run ids, prefixes and paths (FIELD_CASES F08), manifest round trip."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_set import (
    LayoutError,
    Manifest,
    ObjectEntry,
    environment_prefix,
    file_for_object_name,
    keys_of_set,
    manifest_from_json,
    new_run_id,
    parse_run_id,
    run_id_from_common_prefix,
    safe_join,
    set_prefix,
    validate_prefix,
    validate_relative_path,
)

SHA = "a" * 64


def test_new_run_id_round_trips():
    moment = datetime(2026, 12, 3, 2, 0, 5, tzinfo=timezone.utc)
    run_id = new_run_id(moment, tail="1a2b3c")
    assert run_id == "20261203T020005Z-1a2b3c"
    assert parse_run_id(run_id) == moment


@pytest.mark.parametrize(
    "name",
    [
        "",
        "20261203T020005Z",  # no random tail
        "20261203T020005Z-1A2B3C",  # upper-case hex
        "20261203T020005Z-1a2b3c/",
        " 20261203T020005Z-1a2b3c",
        "20261303T020005Z-1a2b3c",  # month 13
        "20261203T020005Z-1a2b3c-x",
        "latest",
        None,
    ],
)
def test_parse_run_id_is_strict(name):
    assert parse_run_id(name) is None


@pytest.mark.parametrize(
    ("env_prefix", "common", "expected"),
    [
        ("odoo/acme/", "odoo/acme/20261101T020000Z-abcdef/", "20261101T020000Z-abcdef"),
        # F08: a literal prefix without '/' would also match acme2; ours never does.
        ("odoo/acme/", "odoo/acme2/20261101T020000Z-abcdef/", None),
        ("odoo/acme/", "odoo/acme/", None),  # the zero-byte "folder" object
        ("odoo/acme/", "odoo/acme//", None),  # empty component
        ("odoo/acme/", "odoo/acme/garbage/", None),
        ("odoo/acme/", "odoo/acme/20261101T020000Z-abcdef", None),  # not a common prefix
        ("odoo/acme", "odoo/acme/20261101T020000Z-abcdef/", None),  # caller's prefix lacks '/'
    ],
)
def test_run_id_from_common_prefix(env_prefix, common, expected):
    assert run_id_from_common_prefix(env_prefix, common) == expected


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("odoo", "odoo"), ("/odoo/", "odoo"), ("backups/odoo", "backups/odoo")],
)
def test_validate_prefix(prefix, expected):
    assert validate_prefix(prefix) == expected


@pytest.mark.parametrize("prefix", ["", "/", "//", "a//b", "a/../b", "a/.hidden", None])
def test_validate_prefix_refuses(prefix):
    with pytest.raises(LayoutError):
        validate_prefix(prefix)


def test_prefixes_end_with_a_slash():
    assert environment_prefix("odoo", "acme") == "odoo/acme/"
    assert set_prefix("odoo", "acme", "20261101T020000Z-abcdef") == "odoo/acme/20261101T020000Z-abcdef/"
    with pytest.raises(LayoutError, match="is not a run id"):
        set_prefix("odoo", "acme", "")
    with pytest.raises(LayoutError, match="environment=''"):
        environment_prefix("odoo", "")


@pytest.mark.parametrize("rel", ["", "/etc/passwd", "a//b", "../x", "a/../../x", "a/./b", "a\\b", "a/"])
def test_relative_paths_are_strict(rel):
    with pytest.raises(LayoutError):
        validate_relative_path(rel)


def test_file_names_and_safe_join(tmp_path):
    assert file_for_object_name("filestore/ab/abcdef") == "ab/abcdef"
    assert file_for_object_name("db.dump") is None
    assert safe_join(str(tmp_path), "ab/abcdef") == str(tmp_path / "ab" / "abcdef")
    with pytest.raises(LayoutError):
        file_for_object_name("filestore/../../etc/passwd")


def test_keys_of_set_never_build_an_empty_component():
    assert keys_of_set("odoo", "acme", "20261101T020000Z-abcdef", ["db.dump"]) == [
        "odoo/acme/20261101T020000Z-abcdef/db.dump"
    ]
    for bad in ("", "/db.dump", "filestore//x"):
        with pytest.raises(LayoutError):
            keys_of_set("odoo", "acme", "20261101T020000Z-abcdef", [bad])


def test_manifest_round_trip():
    manifest = Manifest(
        run_id="20261101T020000Z-abcdef",
        environment="acme",
        database="acme",
        objects=[
            ObjectEntry("db.dump", "database", 10, SHA, "e-2", 2),
            ObjectEntry("filestore/ab/c", "filestore", 3, SHA),
        ],
    )
    again = manifest_from_json(manifest.to_json(), "20261101T020000Z-abcdef")
    assert again.as_dict() == manifest.as_dict()
    assert again.total_bytes == 13


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"{", "not valid JSON"),
        (b'{"format": 2}', "format 2 is not 1"),
        (b'{"format": 1, "run_id": "other", "objects": []}', "names run 'other'"),
        (b'{"format": 1, "run_id": "r", "objects": []}', "lists no db.dump"),
        (b'{"format": 1, "run_id": "r", "objects": [{"name": "db.dump", "sha256": "x"}]}', "no valid sha256"),
        (b'{"format": 1, "run_id": "r", "objects": [{"name": "../x", "sha256": "' + b"a" * 64 + b'"}]}', "neither"),
    ],
)
def test_manifest_refuses(data, error):
    with pytest.raises(ValueError, match=error):
        manifest_from_json(data, "r" if b'"r"' in data else None if b"other" not in data else "r")
