"""proxy_mode, session keys and password hashes."""

from __future__ import annotations

import pytest
from standin import web
from standin.db import check_password, hash_password

XF = {
    "Host": "odoo:8069",
    "X-Forwarded-Host": "erp.example.test",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "203.0.113.7, 10.0.0.2",
}


@pytest.mark.parametrize(
    ("headers", "proxy_mode", "expected"),
    [
        (XF, False, ("odoo:8069", "http", "10.0.0.9")),
        (XF, True, ("erp.example.test", "https", "10.0.0.2")),  # ProxyFix x_for=1: the last hop
        ({**XF, "X-Forwarded-Host": ""}, True, ("odoo:8069", "http", "10.0.0.9")),  # no X-Forwarded-Host: no fix
    ],
)
def test_proxy_mode(headers, proxy_mode, expected):
    assert web.effective_origin(headers, "10.0.0.9", proxy_mode) == expected


class _Redis:
    def __init__(self):
        self.data, self.ttl = {}, {}

    def set(self, key, value):
        self.data[key] = value

    def expire(self, key, seconds):
        self.ttl[key] = seconds

    def get(self, key):
        return self.data.get(key)


@pytest.mark.parametrize(("prefix", "key"), [(None, "session:abc"), ("acme", "session:acme:abc")])
def test_session_redis_keys_and_ttl(prefix, key):
    # camptocamp session_redis: session:<sid> or session:<prefix>:<sid>; 7 days logged in, 3 hours anonymous.
    client = _Redis()
    store = web.RedisSessionStore(client, prefix)
    store.save("abc", {"uid": None})
    assert client.ttl[key] == 3 * 3600
    store.save("abc", {"uid": 2})
    assert client.ttl[key] == 7 * 24 * 3600
    assert store.get("abc") == {"uid": 2}


def test_file_sessions_without_redis(tmp_path):
    store = web.session_store({"data_dir": str(tmp_path)}, environ={})
    store.save("abcdef", {"uid": 2})
    assert (tmp_path / "sessions" / "ab" / "abcdef").is_file()
    assert store.get("abcdef") == {"uid": 2}


def test_password_hash_is_passlib_pbkdf2_sha512():
    stored = hash_password("admin", rounds=1000)
    assert stored.startswith("$pbkdf2-sha512$1000$")
    assert check_password("admin", stored)
    assert not check_password("Admin", stored)
    assert not check_password("admin", "plain")
