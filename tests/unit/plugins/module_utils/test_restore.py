# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""restore: the TOC filter of FIELD_CASES F05 and the choice of the set."""

from __future__ import annotations

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.backup_run import BackupError
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.restore import choose_run, filter_toc
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.retention import SetInfo

# pg_restore -l output (PostgreSQL 15 docs, pg_restore -l/-L): "<dump id>; <table oid> <oid> <type> <schema>
# <name> <owner>"; an extension's entries have no schema and no owner, so their lines end with a space.
LISTING = "\n".join(
    [
        ";",
        "; Archive created at 2026-12-03 02:00:05 UTC",
        ";     dbname: erp",
        ";",
        "3375; 0 0 COMMENT - EXTENSION pg_trgm ",
        "2; 3079 16385 EXTENSION - pg_trgm ",
        "215; 1259 16386 TABLE public ir_attachment odoo_erp",
        "3376; 0 0 COMMENT public TABLE res_partner odoo_erp",
        "3377; 0 0 COMMENT - EXTENSION plpgsql ",
    ]
)


def test_filter_toc_drops_only_extension_comments():
    kept, dropped = filter_toc(LISTING)
    assert [line.split(";")[0] for line in dropped] == ["3375", "3377"]
    assert "2; 3079 16385 EXTENSION - pg_trgm " in kept.splitlines()
    assert "3376; 0 0 COMMENT public TABLE res_partner odoo_erp" in kept.splitlines()
    assert "; Archive created at 2026-12-03 02:00:05 UTC" in kept.splitlines()


SETS = [
    SetInfo("20261101T020000Z-000001", True),
    SetInfo("20261102T020000Z-000002", True),
    SetInfo("20261103T020000Z-000003", False),
]


@pytest.mark.parametrize(
    ("run_id", "expected"),
    [(None, "20261102T020000Z-000002"), ("20261101T020000Z-000001", "20261101T020000Z-000001")],
)
def test_choose_run(run_id, expected):
    assert choose_run(SETS, run_id) == expected


@pytest.mark.parametrize(
    ("sets", "run_id", "error"),
    [
        (SETS, "20261103T020000Z-000003", "is not a complete set"),
        ([], None, "holds no complete backup set"),
    ],
)
def test_choose_run_refuses(sets, run_id, error):
    with pytest.raises(BackupError, match=error):
        choose_run(sets, run_id)
