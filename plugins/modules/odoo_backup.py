#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: odoo_backup
short_description: Verified logical backups of an Odoo environment to S3, restores, retention and sweeps
version_added: 0.1.0
description:
  - O(operation=backup) streams C(pg_dump -Fc --no-owner --no-privileges) straight into a multipart upload (part size
    chosen so 10,000 parts hold O(config) C(max_object_size), FIELD_CASES F07), uploads the filestore in parallel,
    verifies every object (size and sha256 metadata, or the multipart ETag, else a re-read), writes C(manifest.json)
    last, copies the set to the offsite store when one is configured, then applies retention and sweeps stale
    multipart uploads. A lock prevents overlapping runs; a failed run leaves no set that looks complete.
  - O(operation=restore) restores the newest complete set or O(run_id), from the primary or the offsite store, into the
    same or a new database as the Odoo role (never a superuser), refusing any object whose sha256 differs from the
    manifest; the filestore goes to C(<data_dir>/filestore/<target>) and every attachment's file is checked.
  - O(operation=retention) deletes whole sets past the policy (FIELD_CASES F08), O(operation=sweep) aborts stale
    multipart uploads, O(operation=list) lists the sets.
  - The same code runs as the C(odoo-backup) command line that the backup_to_s3 role schedules.
author:
  - SysGenPro platform engineering (@sysgenpro)
requirements:
  - boto3 and psycopg2 on the host the module runs on (Debian packages C(python3-boto3), C(python3-psycopg2)).
  - pg_dump and pg_restore at least as new as the server (Debian package C(postgresql-client-<major>)).
attributes:
  check_mode:
    support: full
    description:
      - backup - checks that the database and the bucket answer and reports the run it would take.
      - restore - reports the set it would restore. retention and sweep - a dry run listing the exact keys.
  diff_mode:
    support: full
    description: The run ids of the complete sets before and after.
  idempotent:
    support: none
    description: Every O(operation=backup) takes a new set, by design; retention and sweep converge.
options:
  operation:
    description: What to do.
    type: str
    choices: [backup, restore, retention, sweep, list]
    default: backup
  config_file:
    description:
      - Path of the runner's JSON config on the target (written by the backup_to_s3 role, mode C(0600)).
      - Exactly one of O(config_file) and O(config) is required.
    type: path
  config:
    description:
      - The config itself (see C(docs/backup.md)); it holds the S3 keys and the database password.
    type: dict
  run_id:
    description: The set to restore (O(operation=restore)); default the newest complete set.
    type: str
  target:
    description: The database to restore into (O(operation=restore)); default the backed-up database's name.
    type: str
  store:
    description: The store to restore from.
    type: str
    choices: [primary, offsite]
    default: primary
  replace:
    description:
      - Restore over an existing non-empty database and filestore, which are renamed aside (never dropped).
    type: bool
    default: false
  neutralize:
    description: Neutralise the restored copy (staging) - a new C(database.uuid), mail servers and crons off.
    type: bool
    default: false
  retention:
    description: Apply retention and the multipart sweep after a successful O(operation=backup).
    type: bool
    default: true
  older_than_hours:
    description: O(operation=sweep) aborts multipart uploads started more than this many hours ago.
    type: float
    default: 24
"""

EXAMPLES = r"""
- name: Take a backup now
  sysgenpro.odoo_platform.odoo_backup:
    operation: backup
    config_file: /etc/sysgenpro-odoo-backup/wh-north.json

- name: Restore the newest set into a staging copy
  sysgenpro.odoo_platform.odoo_backup:
    operation: restore
    config_file: /etc/sysgenpro-odoo-backup/wh-north.json
    target: wh_north_staging
    neutralize: true

- name: Show what retention would delete
  sysgenpro.odoo_platform.odoo_backup:
    operation: retention
    config_file: /etc/sysgenpro-odoo-backup/wh-north.json
  check_mode: true
"""

RETURN = r"""
result:
  description:
    - backup - C(run_id), C(set_prefix), C(objects), C(bytes), C(dump_bytes), C(seconds), C(manifest_sha256),
      C(verified_by), C(offsite), C(retention), C(sweep).
    - restore - C(run_id), C(store), C(target), C(filestore), C(seconds), C(attachments), C(missing_attachments),
      C(renamed_database), C(renamed_filestore), C(neutralised), C(tables) (row counts).
    - retention - per store C(keep), C(delete), C(deferred) (run id to reason) and C(keys) (the exact keys).
  returned: success
  type: dict
log:
  description: The progress lines, one per object with bytes and rate (never a secret).
  returned: always
  type: list
  elements: str
"""

import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402

# Presence checks only: module_utils import these lazily.
try:
    import boto3  # noqa: F401 # pylint: disable=unused-import
except ImportError:
    BOTO3_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    BOTO3_IMPORT_ERROR = None

try:
    import psycopg2  # noqa: F401 # pylint: disable=unused-import
except ImportError:
    PSYCOPG2_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    PSYCOPG2_IMPORT_ERROR = None

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_cli import (  # noqa: E402
    admin_from,
    do_list,
    do_retention,
    do_sweep,
    load_config,
    write_metrics,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_run import (  # noqa: E402
    BackupConfig,
    BackupError,
    check_bucket,
    probe_database,
    run_backup,
)
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.s3_stream import (  # noqa: E402
    S3Error,
    make_client,
)


def _complete(listing: dict[str, Any], store: str = "primary") -> list[str]:
    return [s["run_id"] for s in listing.get(store, {}).get("sets", []) if s["complete"]]


def _backup(module: AnsibleModule, cfg: BackupConfig, log: list[str]) -> dict[str, Any]:
    before = _complete(do_list(cfg))
    if module.check_mode:
        probe = probe_database(cfg)
        check_bucket(make_client(cfg.primary), cfg.primary)
        return {
            "changed": True,
            "msg": f"would back up {cfg.database.name} ({probe['size']} bytes) and {cfg.filestore}",
            "result": {"database_size": probe["size"], "sets": before},
            "diff": {"before": {"sets": before}, "after": {"sets": [*before, "<new run>"]}},
        }
    try:
        result = run_backup(cfg, log.append)
    except Exception:
        write_metrics(module.params["config"] or load_config(module.params["config_file"]), None, time.time())
        raise
    write_metrics(module.params["config"] or load_config(module.params["config_file"]), result, time.time())
    if module.params["retention"]:
        result["retention"] = do_retention(cfg, dry_run=False, current_run_id=result["run_id"], log=log.append)
        result["sweep"] = do_sweep(cfg, older_than_hours=24.0, keep_run=result["run_id"])
    after = _complete(do_list(cfg))
    return {
        "changed": True,
        "msg": f"set {result['run_id']} complete: {result['objects']} objects, {result['bytes']} bytes",
        "result": result,
        "diff": {"before": {"sets": before}, "after": {"sets": after}},
    }


def _restore(module: AnsibleModule, cfg: BackupConfig, log: list[str]) -> dict[str, Any]:
    from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.restore import (  # noqa: PLC0415
        choose_run,
        run_restore,
    )
    from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.retention import find_sets  # noqa: PLC0415

    p = module.params
    if module.check_mode:
        store = cfg.offsite if p["store"] == "offsite" else cfg.primary
        if store is None:
            raise BackupError("store=offsite but no offsite store is configured (config key offsite)")
        sets, _ignored = find_sets(make_client(store), store.bucket, store.prefix, cfg.environment)
        run = choose_run(sets, p["run_id"])
        target = p["target"] or cfg.database.name
        return {"changed": True, "msg": f"would restore run {run} into {target!r}", "result": {"run_id": run}}
    owner = cfg.restore.get("filestore_owner")
    result = run_restore(
        cfg,
        log.append,
        run_id=p["run_id"],
        target=p["target"],
        store=p["store"],
        admin=admin_from(cfg),
        replace=p["replace"],
        neutralize=p["neutralize"],
        filestore_owner=(int(owner[0]), int(owner[1])) if owner else None,
    )
    return {"changed": True, "msg": f"restored run {result['run_id']} into {result['target']!r}", "result": result}


def _retention(module: AnsibleModule, cfg: BackupConfig, log: list[str]) -> dict[str, Any]:
    result = do_retention(cfg, dry_run=module.check_mode, log=log.append)
    keys = sum(len(keys) for store in result.values() for keys in store["keys"].values())
    before = {name: store["complete_sets"] for name, store in result.items()}
    after = {name: [r for r in sets if r not in result[name]["delete"]] for name, sets in before.items()}
    verb = "would delete" if module.check_mode else "deleted"
    return {
        "changed": keys > 0,
        "msg": f"retention {verb} {keys} keys",
        "result": result,
        "diff": {"before": {"sets": before}, "after": {"sets": after}},
    }


def _sweep(module: AnsibleModule, cfg: BackupConfig, _log: list[str]) -> dict[str, Any]:
    result = do_sweep(cfg, older_than_hours=module.params["older_than_hours"], dry_run=module.check_mode)
    count = sum(len(v) for v in result.values())
    verb = "would abort" if module.check_mode else "aborted"
    return {"changed": count > 0, "msg": f"{verb} {count} stale multipart uploads", "result": result}


def _list(_module: AnsibleModule, cfg: BackupConfig, _log: list[str]) -> dict[str, Any]:
    return {"changed": False, "msg": "listed the sets", "result": do_list(cfg)}


ACTIONS = {"backup": _backup, "restore": _restore, "retention": _retention, "sweep": _sweep, "list": _list}


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec={
            "operation": {"type": "str", "choices": list(ACTIONS), "default": "backup"},
            "config_file": {"type": "path"},
            "config": {"type": "dict", "no_log": True},
            "run_id": {"type": "str"},
            "target": {"type": "str"},
            "store": {"type": "str", "choices": ["primary", "offsite"], "default": "primary"},
            "replace": {"type": "bool", "default": False},
            "neutralize": {"type": "bool", "default": False},
            "retention": {"type": "bool", "default": True},
            "older_than_hours": {"type": "float", "default": 24.0},
        },
        required_one_of=[("config_file", "config")],
        mutually_exclusive=[("config_file", "config")],
        supports_check_mode=True,
    )
    if BOTO3_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
    if PSYCOPG2_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    state = module.params["operation"]
    log: list[str] = []
    try:
        data = module.params["config"] or load_config(module.params["config_file"])
        cfg = BackupConfig.from_mapping(data)
        outcome = ACTIONS[state](module, cfg, log)
    except (BackupError, S3Error, ValueError) as exc:
        module.fail_json(msg=f"odoo_backup operation={state} failed: {exc}", log=log)
    except Exception as exc:
        module.fail_json(msg=f"odoo_backup operation={state} failed: {type(exc).__name__}: {exc}", log=log)
    if not module._diff:
        outcome.pop("diff", None)
    module.exit_json(log=log, **outcome)


if __name__ == "__main__":
    main()
