# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes, CPU quantities and durations: parsing inputs and formatting outputs.

Pure Python, no Ansible imports (Python 3.8+).

Accepted sizes: integer bytes; PostgreSQL units ``kB``, ``MB``, ``GB``, ``TB`` (powers of
1024, as PostgreSQL reads them); IEC units ``KiB``…``TiB``; Kubernetes quantities ``Ki``…``Ti``
and the decimal ``k``, ``M``, ``G``, ``T`` (powers of 1000: ``500M`` is 500,000,000 bytes, not
500 MiB; accepted, and the explanation says so). Fractions are allowed when they give whole
bytes (``1.5Gi``).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, NamedTuple

from .plan_result import InputError

KIB = 1024
MIB = 1024**2
GIB = 1024**3
TIB = 1024**4

SIZE_ACCEPTED = (
    "integer bytes, PostgreSQL units (kB, MB, GB, TB = powers of 1024), IEC units (KiB, MiB, GiB, TiB), "
    "Kubernetes quantities (Ki, Mi, Gi, Ti; decimal k, M, G, T = powers of 1000), e.g. 4GiB, 4096Mi, 4294967296"
)
CPU_ACCEPTED = "a positive number of CPUs (2, 1.5) or Kubernetes millicores ('1500m')"
DURATION_ACCEPTED = "whole seconds, or a number with s, min, h, d or w (e.g. 300, '5min', '1h', '35d')"

_BINARY = {
    "": 1,
    "B": 1,
    "kB": KIB,
    "KB": KIB,
    "MB": MIB,
    "GB": GIB,
    "TB": TIB,
    "KiB": KIB,
    "MiB": MIB,
    "GiB": GIB,
    "TiB": TIB,
    "Ki": KIB,
    "Mi": MIB,
    "Gi": GIB,
    "Ti": TIB,
}
_DECIMAL_EXPONENT = {"k": 3, "M": 6, "G": 9, "T": 12}
_DURATION = {"": 1, "s": 1, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


class Size(NamedTuple):
    """A parsed size in bytes, with a note when the unit needs one (decimal units)."""

    bytes: int
    note: str | None


def parse_size(key: str, value: Any) -> Size:
    """Parse a size into bytes; refuse negatives, booleans, unknown units and partial bytes."""
    if isinstance(value, bool):
        raise InputError(key, value, "is a boolean, not a size", SIZE_ACCEPTED)
    if isinstance(value, int):
        if value < 0:
            raise InputError(key, value, "is negative", SIZE_ACCEPTED)
        return Size(value, None)
    if not isinstance(value, str):
        raise InputError(key, value, f"is a {type(value).__name__}, not a size", SIZE_ACCEPTED)
    if value.strip().startswith("-"):
        raise InputError(key, value, "is negative", SIZE_ACCEPTED)
    match = _QUANTITY.match(value)
    if not match:
        raise InputError(key, value, "cannot be read as a size", SIZE_ACCEPTED)
    number, unit = Fraction(match.group(1)), match.group(2)
    note = None
    if unit in _BINARY:
        total = number * _BINARY[unit]
    elif unit in _DECIMAL_EXPONENT:
        total = number * 10 ** _DECIMAL_EXPONENT[unit]
        note = (
            f"{key}: {value!r} uses the decimal unit {unit!r} (10^{_DECIMAL_EXPONENT[unit]})"
            f" = {float(total):.0f} bytes, not {unit.upper()}i (powers of 1024);"
            f" write {match.group(1)}{unit.upper()}i if that was meant"
        )
    else:
        raise InputError(key, value, f"has an unknown unit {unit!r}", SIZE_ACCEPTED)
    if total.denominator != 1:
        raise InputError(key, value, "is not a whole number of bytes", SIZE_ACCEPTED)
    return Size(int(total), note)


def parse_cpu(key: str, value: Any) -> Fraction:
    """Parse a CPU quantity (``2``, ``1.5``, ``'1500m'``) into a positive fraction of CPUs."""
    if isinstance(value, bool):
        raise InputError(key, value, "is a boolean, not a CPU count", CPU_ACCEPTED)
    if isinstance(value, (int, float)):
        cpus = Fraction(str(value))
    elif isinstance(value, str) and re.match(r"^\s*\d+m\s*$", value):
        cpus = Fraction(int(value.strip()[:-1]), 1000)
    elif isinstance(value, str) and re.match(r"^\s*\d+(\.\d+)?\s*$", value):
        cpus = Fraction(value.strip())
    else:
        raise InputError(key, value, "cannot be read as a CPU quantity", CPU_ACCEPTED)
    if cpus <= 0:
        raise InputError(key, value, "must be more than 0", CPU_ACCEPTED)
    return cpus


def parse_duration(key: str, value: Any) -> int:
    """Parse a duration into whole seconds (``300``, ``'5min'``, ``'1h'``, ``'35d'``)."""
    if isinstance(value, bool):
        raise InputError(key, value, "is a boolean, not a duration", DURATION_ACCEPTED)
    if isinstance(value, int):
        seconds = Fraction(value)
    elif isinstance(value, str) and _QUANTITY.match(value):
        match = _QUANTITY.match(value)
        if match is None:  # checked just above; keeps type checkers quiet
            raise InputError(key, value, "cannot be read as a duration", DURATION_ACCEPTED)
        if match.group(2) not in _DURATION:
            raise InputError(key, value, f"has an unknown unit {match.group(2)!r}", DURATION_ACCEPTED)
        seconds = Fraction(match.group(1)) * _DURATION[match.group(2)]
    else:
        raise InputError(key, value, "cannot be read as a duration", DURATION_ACCEPTED)
    if seconds < 0 or seconds.denominator != 1:
        raise InputError(key, value, "must be a whole, non-negative number of seconds", DURATION_ACCEPTED)
    return int(seconds)


def format_pg_kb(kilobytes: int) -> str:
    """Format kB as PGTune does: GB when divisible, else MB when divisible, else kB."""
    if kilobytes % (1024 * 1024) == 0:
        return f"{kilobytes // (1024 * 1024)}GB"
    if kilobytes % 1024 == 0:
        return f"{kilobytes // 1024}MB"
    return f"{kilobytes}kB"


def format_k8s_bytes(size: int) -> str:
    """Format bytes as a Kubernetes quantity: the largest of Gi, Mi, Ki that divides, else bytes."""
    for suffix, unit in (("Ti", TIB), ("Gi", GIB), ("Mi", MIB), ("Ki", KIB)):
        if size and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def format_k8s_cpu(cpus: Fraction) -> str:
    """Format CPUs as Kubernetes does: whole CPUs as ``'2'``, the rest in millicores (``'1500m'``)."""
    if cpus.denominator == 1:
        return str(cpus.numerator)
    return f"{int(cpus * 1000)}m"


def format_bytes(size: int) -> str:
    """Human form for explanations: exact in GiB/MiB/KiB when divisible, else bytes."""
    for suffix, unit in (("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size and size % unit == 0:
            return f"{size // unit} {suffix}"
    return f"{size} bytes"


def format_redis_bytes(size: int) -> str:
    """redis.conf form: ``gb``/``mb``/``kb`` (powers of 1024 in redis.conf) when divisible, else bytes."""
    for suffix, unit in (("gb", GIB), ("mb", MIB), ("kb", KIB)):
        if size and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)
