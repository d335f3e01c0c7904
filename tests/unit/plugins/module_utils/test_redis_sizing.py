# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""redis_sizing: sessions never evict (FIELD_CASES F09), sizes worked by hand, bad input."""

from __future__ import annotations

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.redis_sizing import redis_sizing

MIB = 1024**2


@pytest.mark.parametrize(
    ("inputs", "maxmemory", "conf"),
    [
        # 100 tenants * 200 users * 2 sessions = 40000; * 65536 bytes * 1.5 = 3932160000 = 3750 MiB exactly.
        ({"tenants": 100, "users_per_tenant": 200, "session_size": "64KiB"}, 3750 * MIB, "3750mb"),
        # 12 * 40 * 2 = 960 sessions * 16384 * 1.5 = 23592960 bytes (22.5 MiB) -> 23 MiB -> 64 MiB floor.
        ({"tenants": 12, "users_per_tenant": 40}, 64 * MIB, "64mb"),
        # 1 * 3000 * 3 = 9000 * 100000 * 1.25 = 1125000000 bytes = 1072.9 MiB -> 1073 MiB.
        (
            {"users_per_tenant": 3000, "sessions_per_user": 3, "session_size": "100k", "headroom_percent": 25},
            1073 * MIB,
            "1073mb",
        ),
    ],
)
def test_sessions_instance(inputs, maxmemory, conf):
    sessions = redis_sizing(inputs).settings["sessions"]
    assert sessions["maxmemory"] == maxmemory
    assert sessions["maxmemory_policy"] == "noeviction"
    assert sessions["conf"]["maxmemory"] == conf
    assert (
        sessions["conf_text"]
        == f"maxmemory {conf}\nmaxmemory-policy noeviction\nappendonly yes\nappendfsync everysec\n"
    )


def test_cache_instance_may_evict():
    cache = redis_sizing({"users_per_tenant": 10, "cache_maxmemory": "1Gi"}).settings["cache"]
    assert cache["maxmemory"] == 1024 * MIB
    assert cache["conf"] == {"maxmemory": "1gb", "maxmemory-policy": "allkeys-lru", "appendonly": "no", "save": '""'}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"users_per_tenant": 10, "policy": "allkeys-lru"},
            "policy='allkeys-lru': unknown key for redis_sizing; accepted: tenants, users_per_tenant, "
            "sessions_per_user, session_size, headroom_percent, sessions_persistence, cache_maxmemory",
        ),
        (
            {"users_per_tenant": 10, "session_size": "-1KiB"},
            "session_size='-1KiB': is negative; accepted: integer bytes, PostgreSQL units (kB, MB, GB, TB = powers "
            "of 1024), IEC units (KiB, MiB, GiB, TiB), Kubernetes quantities (Ki, Mi, Gi, Ti; decimal k, M, G, T = "
            "powers of 1000), e.g. 4GiB, 4096Mi, 4294967296",
        ),
        (
            {"tenants": 3},
            "users_per_tenant=None: is required by redis_sizing; accepted: a value for users_per_tenant (keys: "
            "tenants, users_per_tenant, sessions_per_user, session_size, headroom_percent, sessions_persistence, "
            "cache_maxmemory)",
        ),
    ],
)
def test_bad_input(inputs, message):
    with pytest.raises(InputError) as err:
        redis_sizing(inputs)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("persistence", "conf"),
    [
        # Redis persistence docs: AOF with fsync every second loses at most about one second of writes.
        ("aof", {"appendonly": "yes", "appendfsync": "everysec"}),
        (True, {"appendonly": "yes", "appendfsync": "everysec"}),
        # Redis 7.0 redis.conf: "save 3600 1 300 100 60 10000" are the default snapshot points.
        ("rdb", {"appendonly": "no", "save": "3600 1 300 100 60 10000"}),
        ("none", {"appendonly": "no", "save": '""'}),
        ("false", {"appendonly": "no", "save": '""'}),
    ],
)
def test_sessions_persistence_modes(persistence, conf):
    sessions = redis_sizing({"users_per_tenant": 10, "sessions_persistence": persistence}).settings["sessions"]
    assert {k: v for k, v in sessions["conf"].items() if not k.startswith("maxmemory")} == conf
    assert sessions["persistence"] is (conf["appendonly"] == "yes" or conf.get("save") != '""')


def test_sessions_persistence_unknown_mode():
    with pytest.raises(InputError) as err:
        redis_sizing({"users_per_tenant": 10, "sessions_persistence": "wal"})
    assert str(err.value) == "sessions_persistence='wal': unknown value; accepted: aof, rdb, none"
