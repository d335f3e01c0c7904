"""Process model and per-process connection limit (odoo/service/server.py, odoo/sql_db.py)."""

from __future__ import annotations

import psycopg2
import pytest
from standin.db import ConnectionPool, PoolError
from standin.server import process_plan


@pytest.mark.parametrize(
    ("workers", "crons", "expected", "total"),
    [
        (0, 2, {"threaded": 1}, 1),
        (2, 2, {"master": 1, "http": 2, "evented": 1, "cron": 2}, 6),
        (4, 2, {"master": 1, "http": 4, "evented": 1, "cron": 2}, 8),
        (4, 0, {"master": 1, "http": 4, "evented": 1, "cron": 0}, 6),
    ],
)
def test_process_plan(workers, crons, expected, total):
    plan = process_plan(workers, crons)
    assert plan == expected
    assert sum(plan.values()) == total


class _Conn:
    closed = False
    dead = False

    def reset(self):
        if self.dead:
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

    def close(self):
        self.closed = True


def test_pool_never_exceeds_maxconn():
    opened = []

    def connect(**info):
        opened.append(_Conn())
        return opened[-1]

    pool = ConnectionPool(2, connect=connect)
    info = {"dbname": "erp", "host": "pg"}
    first, second = pool.borrow(info), pool.borrow(info)
    with pytest.raises(PoolError, match="The Connection Pool Is Full"):
        pool.borrow(info)
    pool.give_back(first)
    assert pool.borrow(info) is first  # an idle connection is reused
    pool.give_back(second)
    other = pool.borrow({"dbname": "postgres", "host": "pg"})  # room is made by closing an idle one
    assert second.closed and other is opened[-1]
    assert len(pool) == 2 and len(opened) == 3


def test_pool_drops_dead_idle_connections():
    pool = ConnectionPool(1, connect=lambda **_info: _Conn())
    info = {"dbname": "postgres"}
    first = pool.borrow(info)
    pool.give_back(first)
    first.dead = True  # PostgreSQL went away while the connection sat idle
    fresh = pool.borrow(info)
    assert fresh is not first and first.closed and len(pool) == 1
