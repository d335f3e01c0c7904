# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""retention.select: which whole sets go, as tables (FIELD_CASES F08)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.retention import SetInfo, select

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def _run(day: int, hour: int = 2) -> str:
    return f"202611{day:02d}T{hour:02d}0000Z-{day:06x}"


TEN = [SetInfo(_run(d), True) for d in range(1, 11)]  # Nov 1..10 at 02:00: 23 to 32 days before NOW


@pytest.mark.parametrize(
    ("sets", "policy", "deleted", "deferred"),
    [
        # F08: keep last 7 -> the 3 oldest go (all are older than 7 days).
        (TEN, {"retention_days": 7, "min_sets": 7}, [_run(1), _run(2), _run(3)], []),
        # Younger than retention_days (cutoff Nov 3 12:00): kept even beyond the newest N.
        (TEN, {"retention_days": 30, "min_sets": 2}, [_run(1), _run(2), _run(3)], []),
        # Nothing old enough.
        (TEN, {"retention_days": 60, "min_sets": 1}, [], []),
        # The cap: oldest first, the rest deferred.
        (TEN, {"retention_days": 7, "min_sets": 7, "max_deletions": 2}, [_run(1), _run(2)], [_run(3)]),
        # The current run is never deleted, even when it is old and incomplete.
        (
            [*TEN, SetInfo(_run(5, 3), False)],
            {"retention_days": 7, "min_sets": 9, "current_run_id": _run(5, 3)},
            [_run(1)],
            [],
        ),
        # Incomplete sets never count towards the newest N; old ones go, recent ones wait (may be running).
        (
            [SetInfo(_run(1), True), SetInfo(_run(2), False), SetInfo("20261203T110000Z-000000", False)],
            {"retention_days": 7, "min_sets": 1},
            [_run(2)],
            [],
        ),
        # The newest verified set stays even when every set is past retention.
        ([SetInfo(_run(1), True), SetInfo(_run(2), False)], {"retention_days": 0, "min_sets": 1}, [_run(2)], []),
    ],
)
def test_select(sets, policy, deleted, deferred):
    policy = dict(policy)
    result = select(
        sets,
        now=NOW,
        retention_days=policy.pop("retention_days"),
        min_sets=policy.pop("min_sets"),
        max_deletions=policy.pop("max_deletions", 10),
        current_run_id=policy.pop("current_run_id", ""),
        incomplete_grace=timedelta(hours=48),
    )
    assert sorted(result.delete) == deleted
    assert sorted(result.deferred) == deferred
    assert not set(result.delete) & set(result.keep)
    assert set(result.delete) | set(result.keep) | set(result.deferred) == {s.run_id for s in sets}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"min_sets": 0, "retention_days": 7}, "min_sets=0 must be at least 1"),
        ({"min_sets": 1, "retention_days": -1}, "must be >= 0"),
    ],
)
def test_select_refuses(kwargs, error):
    with pytest.raises(ValueError, match=error):
        select(TEN, now=NOW, **kwargs)
