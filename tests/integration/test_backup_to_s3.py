# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logical backups against real services: SeaweedFS (two stores), PostgreSQL 15, a filestore.

Covers issue 10's tests for the logical core: round trip (row counts, content checksums,
filestore sha256 list, 0 missing attachments), S3 killed mid-upload, a corrupted object,
wrong credentials, an unreachable database, FIELD_CASES F05/F06/F07/F08, and a restore from the
offsite copy with the primary store down. The tests run in file order and share the stores.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import backup_run, restore, retention
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_cli import do_sweep
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.s3_stream import MIB, S3Error

from .backup_lab import Weed, new_suffix, psql, start_postgres
from .harness import ROOT, VENV_BIN, ansible_env

pytestmark = pytest.mark.integration

ODOO_ROLE = "odoo_erp"
ODOO_PASSWORD = "o:do\\o-pw%$;x"  # ':' and '\' must survive the passfile escaping
SUPERUSER_PASSWORD = "lab-superuser"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Two SeaweedFS servers: the primary store and the offsite store, with different credentials."""
    primary = Weed(tmp_path_factory.mktemp("weed-primary"), "AKPRIMARY", "primary-secret-key-1", "backups")
    offsite = Weed(tmp_path_factory.mktemp("weed-offsite"), "AKOFFSITE", "offsite-secret-key-2", "backups-offsite")
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda w: w.start(), (primary, offsite)))
        yield {"primary": primary, "offsite": offsite}
    finally:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda w: w.stop(), (primary, offsite)))


def _files() -> dict[str, bytes]:
    """Odoo-like filestore content: <sha1[:2]>/<sha1>, one file large enough for a multipart upload."""
    blobs = [os.urandom(n) for n in (0, 17, 4096, 300_000)] + [os.urandom(9 * MIB)]
    out = {}
    for blob in blobs:
        digest = hashlib.sha1(blob).hexdigest()
        out[f"{digest[:2]}/{digest}"] = blob
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """PostgreSQL with a non-superuser Odoo role owning database erp (Odoo-shaped tables) and its filestore."""
    suffix = new_suffix()
    pg, port = start_postgres(suffix)
    try:
        psql(pg, "postgres", f"CREATE ROLE {ODOO_ROLE} LOGIN NOSUPERUSER NOCREATEDB PASSWORD $${ODOO_PASSWORD}$$")
        psql(pg, "postgres", f"CREATE DATABASE erp OWNER {ODOO_ROLE}")
        # F05: an extension created by the superuser; the dump carries COMMENT ON EXTENSION pg_trgm.
        psql(pg, "erp", "CREATE EXTENSION pg_trgm")
        files = _files()
        rows = ",".join(
            f"('att{i}', '{name}', '{name.split('/')[1]}', {len(blob)})" for i, (name, blob) in enumerate(files.items())
        )
        psql(
            pg,
            "erp",
            f"""
            SET ROLE {ODOO_ROLE};
            CREATE TABLE ir_attachment (id serial PRIMARY KEY, name text, store_fname varchar, checksum varchar(40),
                                        file_size int);
            INSERT INTO ir_attachment (name, store_fname, checksum, file_size) VALUES {rows};
            INSERT INTO ir_attachment (name, store_fname) VALUES ('url attachment', NULL);
            CREATE TABLE res_partner (id serial PRIMARY KEY, name text, email text, note text);
            INSERT INTO res_partner (name, email, note)
              SELECT 'Partner ' || g, 'p' || g || '@example.test', md5(g::text) FROM generate_series(1, 5000) g;
            CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar UNIQUE NOT NULL, value text NOT NULL);
            INSERT INTO ir_config_parameter (key, value) VALUES ('database.uuid', '{uuid.uuid4()}'),
                                                                ('web.base.url', 'https://erp.example.test');
            CREATE TABLE ir_mail_server (id serial PRIMARY KEY, name text, active boolean);
            INSERT INTO ir_mail_server (name, active) VALUES ('smtp', true);
            CREATE TABLE ir_cron (id serial PRIMARY KEY, name text, active boolean);
            INSERT INTO ir_cron (name, active) VALUES ('mail queue', true), ('scheduler', true), ('off', false);
            CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar, latest_version varchar);
            INSERT INTO ir_module_module (name, latest_version) VALUES ('base', '18.0.1.3');
        """,
        )
        data_dir = tmp_path_factory.mktemp("odoo-data")
        for name, blob in files.items():
            path = data_dir / "filestore" / "erp" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(blob)
        yield {"pg": pg, "port": port, "data_dir": data_dir, "files": files, "tmp": tmp_path_factory.mktemp("cfg")}
    finally:
        pg.remove(force=True, v=True)


def _config(lab, stores, environment="erp-prod", database="erp", **overrides):
    cfg = {
        "environment": environment,
        "tenant": "finance",
        "database": {
            "name": database,
            "host": "127.0.0.1",
            "port": lab["port"],
            "user": ODOO_ROLE,
            "password": ODOO_PASSWORD,
            "sslmode": "disable",
        },
        "data_dir": str(lab["data_dir"]),
        "primary": stores["primary"].as_config(),
        "offsite": stores["offsite"].as_config(),
        "lock_dir": str(lab["tmp"] / "locks"),
        "part_size_minimum": 5 * MIB,
        "retention": {"retention_days": 14, "min_sets": 2},
        "restore": {"admin": {"user": "postgres", "password": SUPERUSER_PASSWORD}},
    }
    cfg.update(overrides)
    return cfg


def _write(lab, cfg) -> Path:
    path = lab["tmp"] / f"{cfg['environment']}-{new_suffix()}.json"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(cfg, handle)
    return path


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".ansible" / "collections"))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_cli",
            "--config",
            str(config),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _fingerprint(pg, dbname):
    """Per table: row count and an md5 of its rows in primary-key order (psql as the superuser)."""
    out = {}
    for table in (
        "ir_attachment",
        "res_partner",
        "ir_config_parameter",
        "ir_mail_server",
        "ir_cron",
        "ir_module_module",
    ):
        out[table] = psql(
            pg,
            dbname,
            f"SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM {table} t",
        )
    return out


def _tree_sha256(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_round_trip_with_offsite_copy(lab, stores):
    """CLI backup -> manifest last, offsite copy -> CLI restore into a new name: identical data, 0 missing files."""
    config = _write(lab, _config(lab, stores, metrics={"directory": str(lab["tmp"] / "metrics"), "tier": "standard"}))
    before = _fingerprint(lab["pg"], "erp")
    run = _cli(config, "backup")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    # One progress line per object, with bytes and a rate; secrets never printed.
    assert "db.dump:" in run.stderr and "MiB/s" in run.stderr
    assert run.stderr.count("odoo-backup: filestore/") == len(lab["files"])
    for secret in (ODOO_PASSWORD, "primary-secret-key-1", "offsite-secret-key-2"):
        assert secret not in run.stderr + run.stdout
    assert result["objects"] == 1 + len(lab["files"])
    assert result["offsite"]["set_prefix"] == result["set_prefix"]
    # The node_exporter textfile of docs/observability.md.
    prom = (lab["tmp"] / "metrics" / "odoo_platform_backup_erp-prod.prom").read_text()
    labels = '{environment="erp-prod",tenant="finance",tier="standard"}'
    assert f"odoo_platform_backup_last_run_success{labels} 1" in prom.splitlines()
    assert f"odoo_platform_backup_last_size_bytes{labels} {result['bytes']}" in prom.splitlines()
    # The manifest was written last and names every object with its sha256.
    client = stores["primary"].client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="backups", Prefix=result["set_prefix"])["Contents"]]
    assert result["set_prefix"] + "manifest.json" in keys
    manifest = json.loads(
        client.get_object(Bucket="backups", Key=result["set_prefix"] + "manifest.json")["Body"].read()
    )
    assert manifest["database"] == "erp" and manifest["odoo_version"] == "18.0.1.3" and manifest["verified"] is True
    sums = {o["name"]: o["sha256"] for o in manifest["objects"]}
    for name, blob in lab["files"].items():
        assert sums[f"filestore/{name}"] == hashlib.sha256(blob).hexdigest()
    # The store's multipart ETag equals the one computed while streaming (md5 of the part md5s, "-<parts>"),
    # so the dump is verified without reading it back; single PUTs by their sha256 metadata.
    how = {o["name"]: o["verified_by"] for o in manifest["objects"]}
    assert how.pop("db.dump") == "multipart-etag"
    assert set(how.values()) == {"sha256-metadata"}

    # F05/F06: the target exists empty, owned by the Odoo role, with pg_trgm installed by the superuser.
    psql(lab["pg"], "postgres", f"CREATE DATABASE erp_copy OWNER {ODOO_ROLE}")
    psql(lab["pg"], "erp_copy", "CREATE EXTENSION pg_trgm")
    back = _cli(config, "restore", "--target", "erp_copy", "--neutralize")
    assert back.returncode == 0, back.stderr
    restored = json.loads(back.stdout)
    assert restored["missing_attachments"] == 0 and restored["attachments"] == len(lab["files"])
    assert any("pg_trgm" in line for line in restored["toc_entries_dropped"])
    after = _fingerprint(lab["pg"], "erp_copy")
    for table in ("ir_attachment", "res_partner", "ir_module_module"):
        assert after[table] == before[table], table
    assert _tree_sha256(lab["data_dir"] / "filestore" / "erp_copy") == _tree_sha256(
        lab["data_dir"] / "filestore" / "erp"
    )
    # Neutralised staging copy: a new database.uuid, mail servers and crons off.
    old_uuid = psql(lab["pg"], "erp", "SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'")
    new_uuid = psql(lab["pg"], "erp_copy", "SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'")
    assert new_uuid != old_uuid and len(new_uuid) == 36
    assert psql(lab["pg"], "erp_copy", "SELECT count(*) FROM ir_cron WHERE active") == "0"
    assert psql(lab["pg"], "erp_copy", "SELECT count(*) FROM ir_mail_server WHERE active") == "0"
    # Restored as the Odoo role: it owns every table, no superuser object.
    owners = psql(lab["pg"], "erp_copy", "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert owners == ODOO_ROLE
    lab["round_trip"] = {"config": config, "run_id": result["run_id"], "before": before}


def test_restore_refuses_a_corrupted_object(lab, stores):
    """A filestore object that no longer matches the manifest is refused; nothing is created."""
    state = lab["round_trip"]
    client = stores["primary"].client()
    name = sorted(lab["files"])[2]
    key = f"odoo/erp-prod/{state['run_id']}/filestore/{name}"
    client.put_object(Bucket="backups", Key=key, Body=b"bit rot")
    cfg = backup_run.BackupConfig.from_mapping(json.loads(state["config"].read_text()))
    admin = backup_run.Database("postgres", "127.0.0.1", lab["port"], "postgres", SUPERUSER_PASSWORD, "disable")
    with pytest.raises(backup_run.BackupError, match=r"is corrupted: .* refusing to restore from it"):
        restore.run_restore(cfg, lambda _l: None, target="erp_bad", admin=admin)
    assert psql(lab["pg"], "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'erp_bad'") == "0"
    assert not (lab["data_dir"] / "filestore" / "erp_bad").exists()


@pytest.mark.parametrize(
    ("store", "pattern"),
    [
        ({"access_key": "AKUNKNOWN"}, "the access key is unknown to the store"),
        ({"secret_key": "wrong-secret"}, "the secret key is wrong"),
        ({"bucket": "no-such-bucket"}, "the bucket does not exist"),
    ],
)
def test_wrong_credentials_fail_clearly(lab, stores, store, pattern):
    """Wrong keys or bucket: a message naming the cause and the store, no secret in it."""
    cfg = backup_run.BackupConfig.from_mapping(
        _config(lab, stores, environment="erp-creds", primary=stores["primary"].as_config(**store), offsite=None)
    )
    with pytest.raises(S3Error) as caught:
        backup_run.run_backup(cfg, lambda _l: None)
    assert pattern in str(caught.value) and "primary store" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)


def test_unreachable_database_marks_nothing_complete(lab, stores):
    """A database that does not answer: a clear error, and no object at all under the environment."""
    cfg = _config(lab, stores, environment="erp-down", offsite=None)
    cfg["database"]["port"] = 1  # nothing listens there
    logs = []
    with pytest.raises(backup_run.BackupError, match=r"database odoo_erp@127.0.0.1:1/erp is unreachable"):
        backup_run.run_backup(backup_run.BackupConfig.from_mapping(cfg), logs.append)
    found = stores["primary"].client().list_objects_v2(Bucket="backups", Prefix="odoo/erp-down/")
    assert found.get("KeyCount", 0) == 0


@pytest.fixture(scope="module")
def bulk(lab):
    """A database whose dump takes several 5 MiB parts (random text compresses poorly)."""
    psql(lab["pg"], "postgres", f"CREATE DATABASE bulk OWNER {ODOO_ROLE}")
    psql(
        lab["pg"],
        "bulk",
        f"SET ROLE {ODOO_ROLE}; CREATE TABLE payload (id int PRIMARY KEY, data text); "
        "INSERT INTO payload SELECT g, md5(random()::text) || md5(random()::text) "
        "FROM generate_series(1, 700000) g",
    )
    return "bulk"


def test_s3_stopped_mid_upload(lab, stores, bulk):
    """Primary killed during the dump's multipart upload: clear failure, no set, sweep aborts, next run works."""
    weed = stores["primary"]
    cfg = backup_run.BackupConfig.from_mapping(
        _config(lab, stores, environment="bulk-prod", database=bulk, offsite=None)
    )
    client = weed.client()
    outcome = {}

    def backup():
        try:
            backup_run.run_backup(cfg, lambda _l: None)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=backup)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        uploads = client.list_multipart_uploads(Bucket="backups", Prefix="odoo/bulk-prod/").get("Uploads") or []
        with contextlib.suppress(ClientError):  # the upload may be gone between the two calls
            if uploads and client.list_parts(
                Bucket="backups", Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"]
            ).get("Parts"):
                break
        time.sleep(0.02)
    else:
        pytest.fail("the backup never started a multipart upload")
    weed.kill()
    thread.join(timeout=180)
    assert not thread.is_alive()
    error = str(outcome.get("error"))
    assert isinstance(outcome.get("error"), S3Error), error
    assert "primary store s3://backups at http://127.0.0.1" in error
    weed.start()
    client = weed.client()
    sets, _ignored = retention.find_sets(client, "backups", "odoo", "bulk-prod")
    assert not [s for s in sets if s.complete]
    # Whether the killed store kept the run's upload depends on its durability; a stale upload
    # left by another crashed run is made explicitly, so the sweep has something to prove.
    stale = client.create_multipart_upload(Bucket="backups", Key="odoo/bulk-prod/20261101T000000Z-000000/db.dump")
    client.upload_part(
        Bucket="backups",
        Key="odoo/bulk-prod/20261101T000000Z-000000/db.dump",
        UploadId=stale["UploadId"],
        PartNumber=1,
        Body=b"x" * 1024,
    )
    swept = do_sweep(cfg, older_than_hours=0)
    assert stale["UploadId"] in {entry["upload_id"] for entry in swept["primary"]}
    assert not client.list_multipart_uploads(Bucket="backups", Prefix="odoo/bulk-prod/").get("Uploads")
    result = backup_run.run_backup(cfg, lambda _l: None)
    assert result["dump_bytes"] > 2 * 5 * MIB  # several parts: the kill really hit a multipart upload
    sets, _ignored = retention.find_sets(client, "backups", "odoo", "bulk-prod")
    assert [s.run_id for s in sets if s.complete] == [result["run_id"]]


def test_retention_f08_deletes_exactly_the_expected_keys(stores):
    """FIELD_CASES F08: acme keeps its newest 7 sets; no acme2 key and not the 'folder' object is touched."""
    client = stores["primary"].client()
    bucket = "backups"

    def put(key):
        client.put_object(Bucket=bucket, Key=key, Body=b"" if key.endswith("/") else b"x")

    acme = [f"202611{day:02d}T020000Z-{day:06x}" for day in range(1, 11)]
    acme2 = [f"202611{day:02d}T030000Z-{day:06x}" for day in range(1, 4)]
    names = ("db.dump", "filestore.tar.zst", "manifest.json")
    for tenant, runs in (("acme", acme), ("acme2", acme2)):
        for run in runs:
            for name in names:
                put(f"odoo/{tenant}/{run}/{name}")
    for stray in ("odoo/acme/", "odoo/acme/notes.txt", "odoo/acme/garbage/db.dump"):
        put(stray)
    everything = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="odoo/acme")["Contents"]}
    policy = {"retention_days": 7, "min_sets": 7, "max_deletions": 10}
    now = datetime(2026, 12, 3, tzinfo=timezone.utc)
    expected = sorted(f"odoo/acme/{run}/{name}" for run in acme[:3] for name in names)
    dry = retention.run_retention(client, bucket, "odoo", "acme", policy, dry_run=True, now=now)
    assert sorted(k for keys in dry["keys"].values() for k in keys) == expected
    assert {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="odoo/acme")["Contents"]} == everything
    assert set(dry["ignored"]) == {"odoo/acme/", "odoo/acme/notes.txt", "odoo/acme/garbage/"}
    done = retention.run_retention(client, bucket, "odoo", "acme", policy, dry_run=False, now=now)
    assert done["deleted_keys"] == 9
    left = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="odoo/acme")["Contents"]}
    assert left == everything - set(expected)


def test_restore_from_offsite_with_the_primary_down(lab, stores):
    """The primary store is gone: the offsite copy restores and verifies against the same manifest."""
    state = lab["round_trip"]
    stores["primary"].kill()
    cfg = backup_run.BackupConfig.from_mapping(json.loads(state["config"].read_text()))
    admin = backup_run.Database("postgres", "127.0.0.1", lab["port"], "postgres", SUPERUSER_PASSWORD, "disable")
    result = restore.run_restore(cfg, lambda _l: None, store="offsite", target="erp_offsite", admin=admin)
    assert result["run_id"] == state["run_id"] and result["missing_attachments"] == 0
    after = _fingerprint(lab["pg"], "erp_offsite")
    assert after == state["before"]
    assert _tree_sha256(lab["data_dir"] / "filestore" / "erp_offsite") == _tree_sha256(
        lab["data_dir"] / "filestore" / "erp"
    )


def test_module_check_mode_then_backup(lab, stores):
    """The odoo_backup module: check mode writes nothing, a real run adds one complete set (diff shows it)."""
    if stores["primary"].proc is None or stores["primary"].proc.poll() is not None:
        stores["primary"].start()
    config = _write(lab, _config(lab, stores, environment="erp-module", offsite=None))

    def module(*extra):
        env = dict(ansible_env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
        proc = subprocess.run(
            [str(VENV_BIN / "ansible"), "localhost", "-m", "sysgenpro.odoo_platform.odoo_backup", "-a",
             f"operation=backup config_file={config}", "--diff", *extra],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]

    dry = module("--check")
    assert dry["changed"] is True and dry["msg"].startswith("would back up erp")
    assert retention.find_sets(stores["primary"].client(), "backups", "odoo", "erp-module")[0] == []
    real = module()
    assert real["changed"] is True and len(real["log"]) == 1 + 1 + len(lab["files"]) + 1
    assert ODOO_PASSWORD not in json.dumps(real)
    sets = retention.find_sets(stores["primary"].client(), "backups", "odoo", "erp-module")[0]
    assert [s.run_id for s in sets if s.complete] == [real["result"]["run_id"]]
