# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""units: size, CPU and duration parsing; PGTune and Kubernetes formatting."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.plan_result import InputError
from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.units import (
    format_k8s_bytes,
    format_k8s_cpu,
    format_pg_kb,
    parse_cpu,
    parse_duration,
    parse_size,
)


@pytest.mark.parametrize(
    ("value", "expected", "decimal"),
    [
        (4294967296, 4294967296, False),
        ("4GB", 4 * 1024**3, False),  # PostgreSQL: GB = 1024^3
        ("4096MB", 4 * 1024**3, False),
        ("512kB", 512 * 1024, False),
        ("1TB", 1024**4, False),
        ("4GiB", 4 * 1024**3, False),
        ("4Gi", 4 * 1024**3, False),  # Kubernetes binary suffix
        ("4096Mi", 4 * 1024**3, False),
        ("1.5Gi", 1536 * 1024**2, False),
        ("8 GB", 8 * 1024**3, False),
        ("500M", 500_000_000, True),  # Kubernetes decimal suffix: 10^6
        ("8G", 8_000_000_000, True),
        ("100k", 100_000, True),
    ],
)
def test_parse_size(value, expected, decimal):
    size = parse_size("memory", value)
    assert size.bytes == expected
    assert (size.note is not None) == decimal


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("8 gigs", "has an unknown unit 'gigs'"),
        ("-1", "is negative"),
        (True, "is a boolean, not a size"),
        ("1.3kB", "is not a whole number of bytes"),
        ("lots", "cannot be read as a size"),
        (4.5, "is a float, not a size"),
    ],
)
def test_parse_size_refuses(value, reason):
    with pytest.raises(InputError) as err:
        parse_size("memory", value)
    assert err.value.reason == reason
    assert err.value.key == "memory"


@pytest.mark.parametrize(("value", "expected"), [(2, 2), ("1500m", Fraction(3, 2)), (1.5, Fraction(3, 2)), ("4", 4)])
def test_parse_cpu(value, expected):
    assert parse_cpu("cpus", value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(300, 300), ("5min", 300), ("1h", 3600), ("35d", 3024000), ("1w", 604800)]
)
def test_parse_duration(value, expected):
    assert parse_duration("rpo", value) == expected


@pytest.mark.parametrize(
    ("kb", "expected"),
    # configurationView/index.jsx formatValue: GB when divisible by 1048576 kB, else MB by 1024, else kB.
    [(1048576, "1GB"), (262144, "256MB"), (9709, "9709kB"), (16384, "16MB"), (3 * 1048576, "3GB"), (1536, "1536kB")],
)
def test_format_pg_kb(kb, expected):
    assert format_pg_kb(kb) == expected


@pytest.mark.parametrize(("size", "expected"), [(8 * 1024**3, "8Gi"), (3249 * 1024**2, "3249Mi"), (1000, "1000")])
def test_format_k8s_bytes(size, expected):
    assert format_k8s_bytes(size) == expected


def test_format_k8s_cpu():
    assert (format_k8s_cpu(Fraction(4)), format_k8s_cpu(Fraction(3, 2))) == ("4", "1500m")


@given(st.integers(min_value=1, max_value=2**40))
def test_pg_format_round_trips(kb):
    assert parse_size("x", format_pg_kb(kb)).bytes == kb * 1024
