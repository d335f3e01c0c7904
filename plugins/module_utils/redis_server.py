# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis server state for Odoo sessions: per-tenant ACL users, live-config drift, session endpoints.

Pure Python, no Ansible imports (Python 3.8+).

Sources: Redis ACL file format (``user <name> on #<sha256 hex> ~<pattern> -@all +<cmd>``, one user
a line, ``ACL LOAD`` reloads it); redis.conf memory units (``1k`` = 1000, ``1kb`` = 1024, ``1m`` =
1000000, ``1mb`` = 1024*1024); camptocamp odoo-cloud-platform ``session_redis`` (session.py: the
store calls SET, EXPIRE, GET, DEL, and TTL/SET EX|XX|KEEPTTL in its absolute-expiration variant;
keys are ``session:<prefix>:<sid>``; ``list()`` calls KEYS, which tenants are refused on purpose).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable, Mapping, Sequence

# What one Odoo web process needs on the sessions instance (session_redis + redis-py's handshake).
# Not granted on purpose: KEYS/SCAN (the store's list(), never used by Odoo's request path: a
# tenant could enumerate keys), FLUSH*, CONFIG, ACL, DEBUG, MONITOR, CLIENT, SELECT.
SESSION_COMMANDS = ("get", "set", "setex", "expire", "del", "exists", "ttl", "ping", "auth", "hello")
# The cache instance: the same plus the usual cache reads/writes, still within the tenant's keys.
CACHE_COMMANDS = (*SESSION_COMMANDS, "mget", "mset", "unlink", "incr", "decr", "pexpire", "pttl")

ADMIN_RULES = "~* &* +@all"
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# The key prefix a tenant owns: it must end with ':' so that 'session:a:' never matches 'session:ab:...'.
KEY_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]+:$")
RESERVED_USERS = ("default",)

_REDIS_UNITS = {"": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_MEMORY = re.compile(r"^\s*(\d+)\s*([kmgKMG][bB]?)?\s*$")


class RedisInputError(ValueError):
    """A bad input, with the value and what would be accepted."""

    def __init__(self, key: str, value: Any, problem: str, accepted: str) -> None:
        super().__init__(f"{key}={value!r}: {problem}; accepted: {accepted}")
        self.key = key
        self.value = value


def password_hash(password: str) -> str:
    """The ACL-file form of a password: '#' + sha256 hex (Redis compares hashes, never stores text)."""
    return "#" + hashlib.sha256(password.encode("utf-8")).hexdigest()


def acl_user_line(user: str, password: str, rules: str) -> str:
    """One ACL-file line for an enabled user with one password."""
    return f"user {user} on {password_hash(password)} resetchannels {rules}"


def tenant_rules(key_prefix: str, commands: Sequence[str]) -> str:
    """Rules of a tenant user: its own key prefix, no channels, nothing but the given commands."""
    return f"~{key_prefix}* -@all " + " ".join(f"+{c}" for c in commands)


def check_tenants(tenants: Sequence[Mapping[str, Any]], admin_user: str, key_prefixes: Mapping[str, str]) -> None:
    """Raise RedisInputError for the first tenant entry that is incomplete, clashing or off-plan."""
    seen_users: dict[str, str] = {admin_user: "the admin user"}
    seen_prefixes: dict[str, str] = {}
    for index, tenant in enumerate(tenants):
        where = f"redis_tenants[{index}]"
        env = tenant.get("environment")
        if not env:
            raise RedisInputError(f"{where}.environment", env, "is missing", "the environment's inventory name")
        user = tenant.get("user")
        if not isinstance(user, str) or not USERNAME.match(user) or user in RESERVED_USERS:
            raise RedisInputError(
                f"{where}.user", user, "is not a usable ACL user name", "letters, digits, '_', '.', '-'; not 'default'"
            )
        if user in seen_users:
            raise RedisInputError(f"{where}.user", user, f"is already used by {seen_users[user]}", "one user a tenant")
        seen_users[user] = env
        password = tenant.get("password")
        if not isinstance(password, str) or len(password) < 16 or any(c.isspace() for c in password):
            # The value itself is never echoed: it is a secret.
            raise RedisInputError(
                f"{where}.password",
                "<hidden>",
                "is missing, shorter than 16 characters or has spaces",
                "a vault secret",
            )
        if key_prefixes and env not in key_prefixes:
            raise RedisInputError(
                f"{where}.environment", env, "is not placed on this server by the plan", ", ".join(sorted(key_prefixes))
            )
        prefix = tenant.get("key_prefix")
        if not isinstance(prefix, str) or not KEY_PREFIX.match(prefix):
            raise RedisInputError(f"{where}.key_prefix", prefix, "is not a key prefix", "e.g. 'session:wh-north:'")
        if env in key_prefixes and key_prefixes[env] != prefix:
            raise RedisInputError(
                f"{where}.key_prefix", prefix, f"differs from the plan's key_prefixes[{env!r}]", key_prefixes[env]
            )
        for other, other_env in seen_prefixes.items():
            if prefix.startswith(other) or other.startswith(prefix):
                raise RedisInputError(f"{where}.key_prefix", prefix, f"overlaps {other!r} of {other_env}", "disjoint")
        seen_prefixes[prefix] = env


def cache_key_prefix(tenant: Mapping[str, Any]) -> str:
    """The tenant's key prefix on the cache instance: its own, or 'cache:<environment>:'."""
    return str(tenant.get("cache_key_prefix") or f"cache:{tenant['environment']}:")


def render_aclfile(admin_user: str, admin_password: str, tenants: Sequence[Mapping[str, Any]], instance: str) -> str:
    """The whole ACL file of one instance ('sessions' or 'cache'): default off, admin, one user a tenant."""
    lines = [
        # No password, no keys, no commands: a client that does not AUTH as a named user gets nothing.
        "user default off resetkeys resetchannels -@all",
        acl_user_line(admin_user, admin_password, ADMIN_RULES),
    ]
    for tenant in sorted(tenants, key=lambda t: str(t["user"])):
        if instance == "sessions":
            rules = tenant_rules(str(tenant["key_prefix"]), SESSION_COMMANDS)
        else:
            rules = tenant_rules(cache_key_prefix(tenant), CACHE_COMMANDS)
        lines.append(acl_user_line(str(tenant["user"]), str(tenant["password"]), rules))
    return "\n".join(lines) + "\n"


def parse_memory(value: Any) -> int:
    """Bytes of a redis.conf memory value ('64mb', '1gb', '100000', '1k')."""
    match = _MEMORY.match(str(value))
    if not match:
        raise RedisInputError("maxmemory", value, "is not a redis.conf memory value", "e.g. 67108864, 64mb, 1gb")
    return int(match.group(1)) * _REDIS_UNITS[(match.group(2) or "").lower()]


def conf_value(value: Any) -> str:
    """A redis.conf value as CONFIG SET takes it: '""' (an empty save list) becomes ''."""
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def config_drift(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, str]:
    """The CONFIG SET pairs that bring the live settings to the wanted redis.conf ones (empty = in sync)."""
    drift: dict[str, str] = {}
    for key, value in wanted.items():
        want = conf_value(value)
        have = live.get(key)
        if have is None:
            drift[key] = want
        elif key == "maxmemory":
            if parse_memory(have) != parse_memory(want):
                drift[key] = want
        elif " ".join(str(have).lower().split()) != " ".join(want.lower().split()):
            drift[key] = want
    return drift


def session_redis_prefix(key_prefix: str) -> str:
    """ODOO_SESSION_REDIS_PREFIX for a key prefix: session_redis writes 'session:<prefix>:<sid>'."""
    if not key_prefix.startswith("session:") or not key_prefix.endswith(":") or len(key_prefix) <= len("session::"):
        raise RedisInputError(
            "key_prefix",
            key_prefix,
            "cannot be produced by session_redis",
            "'session:<prefix>:' (e.g. session:wh-north:)",
        )
    return key_prefix[len("session:") : -1]


def session_endpoints(
    tenants: Iterable[Mapping[str, Any]], host: str, port: int, tls: bool
) -> dict[str, dict[str, Any]]:
    """What an Odoo container needs per environment to reach its sessions (no password)."""
    return {
        str(t["environment"]): {
            "host": host,
            "port": int(port),
            "user": str(t["user"]),
            "prefix": session_redis_prefix(str(t["key_prefix"])),
            "key_prefix": str(t["key_prefix"]),
            "tls": bool(tls),
        }
        for t in tenants
    }
