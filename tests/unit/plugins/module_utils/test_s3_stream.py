# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""s3_stream: part-size maths against S3's documented limits, encryption arguments, short reads."""

from __future__ import annotations

import hashlib
import io

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.s3_stream import (
    GIB,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIB,
    MIN_PART_SIZE,
    TIB,
    max_stream_size,
    part_schedule,
    part_size_for,
    read_exact,
    read_part,
    schedule_capacity,
    sse_arguments,
)


def test_limits_are_the_documented_ones():
    # AWS S3 User Guide, "Amazon S3 multipart upload limits": part 5 MiB..5 GiB, 10,000 parts, object 5 TiB.
    assert (MIN_PART_SIZE, MAX_PART_SIZE, MAX_PARTS) == (5 * 1024**2, 5 * 1024**3, 10_000)


@pytest.mark.parametrize(
    ("max_object", "minimum", "expected"),
    [
        # Small streams: the 8 MiB default (boto3's multipart_chunksize default).
        (1 * GIB, 8 * MIB, 8 * MIB),
        # A lower minimum never goes under S3's 5 MiB part floor.
        (1 * GIB, 1 * MIB, 5 * MIB),
        # 100 GiB / 10,000 = 10,737,418.24 bytes -> rounded up to whole MiB = 11 MiB (F07: > 100 GiB).
        (100 * GIB, 8 * MIB, 11 * MIB),
        # 256 GiB / 10,000 = 27,487,790.7 bytes -> 27 MiB (26.2 MiB rounded up).
        (256 * GIB, 8 * MIB, 27 * MIB),
        # FIELD_CASES F07: 64 MiB parts hold about 625 GiB.
        (625 * GIB, 8 * MIB, 64 * MIB),
        # 5 TiB / 10,000 = 549,755,813.9 bytes -> 525 MiB, far below the 5 GiB part limit.
        (5 * TIB, 8 * MIB, 525 * MIB),
    ],
)
def test_part_size_for(max_object, minimum, expected):
    size = part_size_for(max_object, minimum=minimum)
    assert size == expected
    assert MIN_PART_SIZE <= size <= MAX_PART_SIZE
    assert size * MAX_PARTS >= max_object


@pytest.mark.parametrize(
    ("max_object", "minimum", "error"),
    [
        (0, 8 * MIB, "must be a positive number of bytes"),
        (5 * TIB + 1, 8 * MIB, "exceeds S3's 5 TiB object limit"),
        (1 * GIB, 6 * GIB, "exceeds S3's 5 GiB part limit"),
    ],
)
def test_part_size_for_refuses(max_object, minimum, error):
    with pytest.raises(ValueError, match=error):
        part_size_for(max_object, minimum=minimum)


@pytest.mark.parametrize(
    ("part", "ceiling"),
    [
        # F07: the default 8 MiB parts cap a stream near 78 GiB (8 MiB * 10,000 = 83,886,080,000 bytes).
        (8 * MIB, 83_886_080_000),
        (64 * MIB, 64 * MIB * 10_000),
        (MAX_PART_SIZE, 5 * TIB),  # 10,000 * 5 GiB would exceed the 5 TiB object limit
    ],
)
def test_max_stream_size(part, ceiling):
    assert max_stream_size(part) == ceiling


@pytest.mark.parametrize(
    ("sse", "key", "expected"),
    [
        ("none", "", {}),
        ("AES256", "", {"ServerSideEncryption": "AES256"}),
        ("aws:kms", "", {"ServerSideEncryption": "aws:kms"}),
        (
            "aws:kms",
            "arn:aws:kms:eu-west-1:1:key/k",
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "arn:aws:kms:eu-west-1:1:key/k"},
        ),
    ],
)
def test_sse_arguments(sse, key, expected):
    assert sse_arguments(sse, key) == expected


@pytest.mark.parametrize(
    ("sse", "key", "error"),
    [
        ("aes256", "", "is not one of none, AES256, aws:kms"),
        ("none", "k", "sse is 'none'"),
        ("AES256", "k", "only valid with sse 'aws:kms'"),
    ],
)
def test_sse_arguments_refuses(sse, key, error):
    with pytest.raises(ValueError, match=error):
        sse_arguments(sse, key)


class _Trickle(io.RawIOBase):
    """A pipe that returns at most 3 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        chunk, self._data = self._data[: min(size, 3)], self._data[min(size, 3) :]
        return chunk


@pytest.mark.parametrize(("data", "size", "expected"), [(b"abcdefgh", 5, b"abcde"), (b"abc", 5, b"abc"), (b"", 5, b"")])
def test_read_exact_joins_short_reads(data, size, expected):
    assert read_exact(_Trickle(data), size) == expected


@pytest.mark.parametrize(
    ("max_object", "expected"),
    [
        # Fits in 10,000 parts of 8 MiB (78.1 GiB): every part small.
        (1 * GIB, (8 * MIB, 10_000, 8 * MIB)),
        (78 * GIB, (8 * MIB, 10_000, 8 * MIB)),
        # 256 GiB: 1,000 parts of 8 MiB (7.8 GiB), then (274,877,906,944 - 8,388,608,000) / 9,000 =
        # 29,609,922 bytes -> 29 MiB (28.24 MiB rounded up).
        (256 * GIB, (8 * MIB, 1000, 29 * MIB)),
        # 5 TiB: (5,497,558,138,880 - 8,388,608,000) / 9,000 = 609,907,725 bytes -> 582 MiB (581.65 rounded up).
        (5 * TIB, (8 * MIB, 1000, 582 * MIB)),
    ],
)
def test_part_schedule(max_object, expected):
    small, count, large = part_schedule(max_object)
    assert (small, count, large) == expected
    assert schedule_capacity(small, count, large) >= max_object
    assert MIN_PART_SIZE <= small <= large <= MAX_PART_SIZE


def test_read_part_hashes_while_reading():
    sha = hashlib.sha256()
    data, md5 = read_part(_Trickle(b"abcdefgh"), 5, sha, chunk=2)
    assert data == b"abcde"
    assert md5 == hashlib.md5(b"abcde").digest()
    assert sha.hexdigest() == hashlib.sha256(b"abcde").hexdigest()
