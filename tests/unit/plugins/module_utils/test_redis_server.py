# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""redis_server: ACL file lines, tenant checks with exact errors, live-config drift, session endpoints."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.redis_server import (
    RedisInputError,
    check_tenants,
    config_drift,
    parse_memory,
    render_aclfile,
    session_endpoints,
    session_redis_prefix,
)

# Test secrets, NOT SECRET.
TENANTS = [
    {
        "environment": "wh-south",
        "user": "odoo-wh-south",
        "password": "south-TEST-ONLY-pw-1",
        "key_prefix": "session:wh-south:",
    },
    {
        "environment": "wh-north",
        "user": "odoo-wh-north",
        "password": "north-TEST-ONLY-pw-1",
        "key_prefix": "session:wh-north:",
    },
]
PREFIXES = {t["environment"]: t["key_prefix"] for t in TENANTS}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_aclfile_sessions():
    text = render_aclfile("platform-admin", "admin-TEST-ONLY-pw-1", TENANTS, "sessions")
    assert text.splitlines() == [
        "user default off resetkeys resetchannels -@all",
        f"user platform-admin on #{_sha('admin-TEST-ONLY-pw-1')} resetchannels ~* &* +@all",
        # Sorted by user: the file is stable whatever the inventory order.
        f"user odoo-wh-north on #{_sha('north-TEST-ONLY-pw-1')} resetchannels ~session:wh-north:* -@all "
        "+get +set +setex +expire +del +exists +ttl +ping +auth +hello",
        f"user odoo-wh-south on #{_sha('south-TEST-ONLY-pw-1')} resetchannels ~session:wh-south:* -@all "
        "+get +set +setex +expire +del +exists +ttl +ping +auth +hello",
    ]
    assert "TEST-ONLY" not in text  # only hashes reach the file


def test_aclfile_cache_uses_cache_prefix():
    text = render_aclfile(
        "platform-admin", "admin-TEST-ONLY-pw-1", [dict(TENANTS[0], cache_key_prefix="c:s:")], "cache"
    )
    assert "~c:s:* -@all +get +set +setex +expire +del +exists +ttl +ping +auth +hello +mget +mset" in text
    text = render_aclfile("platform-admin", "admin-TEST-ONLY-pw-1", TENANTS[:1], "cache")
    assert "~cache:wh-south:* -@all" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"environment": ""}, "redis_tenants[1].environment=''"),
        ({"user": "default"}, "redis_tenants[1].user='default': is not a usable ACL user name"),
        ({"user": "odoo-wh-south"}, "redis_tenants[1].user='odoo-wh-south': is already used by wh-south"),
        ({"user": "platform-admin"}, "redis_tenants[1].user='platform-admin': is already used by the admin user"),
        ({"password": "short"}, "redis_tenants[1].password='<hidden>': is missing, shorter than 16 characters"),
        ({"password": "has a space in it 123"}, "redis_tenants[1].password='<hidden>'"),
        ({"key_prefix": "session:wh-north"}, "redis_tenants[1].key_prefix='session:wh-north': is not a key prefix"),
        ({"key_prefix": "session:*:"}, "is not a key prefix"),
        (
            {"key_prefix": "session:wh-n:"},
            "redis_tenants[1].key_prefix='session:wh-n:': differs from the plan's key_prefixes['wh-north']; "
            "accepted: session:wh-north:",
        ),
        (
            {"environment": "wh-east"},
            "redis_tenants[1].environment='wh-east': is not placed on this server by the plan",
        ),
    ],
)
def test_check_tenants_errors(change, message):
    tenants = [TENANTS[0], dict(TENANTS[1], **change)]
    with pytest.raises(RedisInputError) as err:
        check_tenants(tenants, "platform-admin", PREFIXES)
    assert message in str(err.value)
    assert "TEST-ONLY" not in str(err.value)


def test_check_tenants_overlap():
    tenants = [dict(TENANTS[0], key_prefix="session:wh:"), dict(TENANTS[1], key_prefix="session:wh:north:")]
    with pytest.raises(RedisInputError, match="overlaps 'session:wh:' of wh-south"):
        check_tenants(tenants, "platform-admin", {})


def test_check_tenants_ok():
    check_tenants(TENANTS, "platform-admin", PREFIXES)


@pytest.mark.parametrize(
    ("value", "expected"),
    # redis.conf units: k/m/g are powers of 1000, kb/mb/gb powers of 1024 (redis.conf header).
    [("67108864", 64 * 1024**2), ("64mb", 64 * 1024**2), ("64MB", 64 * 1024**2), ("1k", 1000), ("1gb", 1024**3)],
)
def test_parse_memory(value, expected):
    assert parse_memory(value) == expected


def test_config_drift():
    wanted = {"maxmemory": "64mb", "maxmemory-policy": "noeviction", "appendonly": "yes", "save": '""'}
    live = {"maxmemory": "67108864", "maxmemory-policy": "noeviction", "appendonly": "yes", "save": ""}
    assert config_drift(live, wanted) == {}
    live.update({"maxmemory": "0", "maxmemory-policy": "allkeys-lru", "save": "3600 1 300 100 60 10000"})
    assert config_drift(live, wanted) == {"maxmemory": "64mb", "maxmemory-policy": "noeviction", "save": ""}
    assert config_drift({}, {"save": '"900 1"'}) == {"save": "900 1"}


def test_session_endpoints_have_no_password():
    endpoints = session_endpoints(TENANTS, "10.0.0.5", 6379, False)
    assert endpoints["wh-north"] == {
        "host": "10.0.0.5",
        "port": 6379,
        "user": "odoo-wh-north",
        # session_redis writes session:<prefix>:<sid> (camptocamp session.py build_key).
        "prefix": "wh-north",
        "key_prefix": "session:wh-north:",
        "tls": False,
    }
    assert "TEST-ONLY" not in repr(endpoints)


@pytest.mark.parametrize("prefix", ["cache:x:", "session::", "session:x"])
def test_session_redis_prefix_refused(prefix):
    with pytest.raises(RedisInputError, match="cannot be produced by session_redis"):
        session_redis_prefix(prefix)
