# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""S3 for backups: a client for non-AWS stores, streamed multipart uploads, verification, sweeps.

No Ansible imports (Python 3.8+); boto3 is imported lazily so the pure helpers (part sizes,
ETags, encryption arguments) work without it.

Limits (AWS S3 User Guide, "Amazon S3 multipart upload limits"): a part is 5 MiB to 5 GiB
(the last part may be smaller), at most 10,000 parts, an object at most 5 TiB. boto3 only adapts
its part size when it knows the size in advance; a pg_dump stream has no size, so the part size
is chosen from the largest object the stream may become (FIELD_CASES F07).
"""

from __future__ import annotations

import base64
import hashlib
import math
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO, Callable, Mapping

MIB = 1024 * 1024
GIB = 1024 * MIB
TIB = 1024 * GIB
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * GIB
MAX_PARTS = 10000
MAX_OBJECT_SIZE = 5 * TIB
DEFAULT_MAX_OBJECT_SIZE = 256 * GIB
SSE_CHOICES = ("none", "AES256", "aws:kms")

Progress = Callable[[str], None]


class S3Error(Exception):
    """An S3 operation failed; the message names the endpoint, bucket or key and the cause."""


def part_size_for(max_object_size: int, minimum: int = 8 * MIB, align: int = MIB) -> int:
    """The part size for a stream of unknown length that may grow to ``max_object_size`` bytes.

    At least ``minimum`` (and S3's 5 MiB), large enough that 10,000 parts hold ``max_object_size``,
    rounded up to ``align``; raises ``ValueError`` when no valid part size exists.
    """
    if max_object_size <= 0:
        raise ValueError(f"max_object_size={max_object_size} must be a positive number of bytes")
    if max_object_size > MAX_OBJECT_SIZE:
        raise ValueError(f"max_object_size={max_object_size} exceeds S3's 5 TiB object limit ({MAX_OBJECT_SIZE})")
    if minimum > MAX_PART_SIZE:
        raise ValueError(f"minimum part size {minimum} exceeds S3's 5 GiB part limit ({MAX_PART_SIZE})")
    need = max(minimum, MIN_PART_SIZE, math.ceil(max_object_size / MAX_PARTS))
    size = math.ceil(need / align) * align
    return min(size, MAX_PART_SIZE)


def max_stream_size(part_size: int) -> int:
    """The largest object 10,000 parts of ``part_size`` hold (capped at S3's 5 TiB)."""
    return min(part_size * MAX_PARTS, MAX_OBJECT_SIZE)


def part_schedule(max_object_size: int, minimum: int = 8 * MIB, small_parts: int = 1000) -> tuple[int, int, int]:
    """``(small size, small count, large size)``: the first ``small_parts`` parts are small (a small
    dump finishes with a small last part), the rest large enough that 10,000 parts still hold
    ``max_object_size``. S3 allows parts of different sizes (all but the last >= 5 MiB)."""
    small = part_size_for(min(max_object_size, minimum * MAX_PARTS), minimum=minimum)
    if small * MAX_PARTS >= max_object_size:
        return small, MAX_PARTS, small
    rest = max_object_size - small * small_parts
    large = math.ceil(math.ceil(rest / (MAX_PARTS - small_parts)) / MIB) * MIB
    if large > MAX_PART_SIZE:
        raise ValueError(f"max_object_size={max_object_size} needs parts over S3's 5 GiB limit")
    return small, small_parts, max(large, small)


def schedule_capacity(small: int, count: int, large: int) -> int:
    """How many bytes 10,000 parts of a :func:`part_schedule` hold."""
    return small * min(count, MAX_PARTS) + large * (MAX_PARTS - min(count, MAX_PARTS))


def multipart_etag(part_md5s: list[bytes]) -> str:
    """The ETag S3 gives a multipart object: md5 of the concatenated part md5 digests, ``-<parts>``."""
    return f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{len(part_md5s)}"


def md5_digest(data: bytes) -> bytes:
    """md5 of ``data`` for Content-MD5 and ETags (an integrity check, not security)."""
    return hashlib.md5(data).digest()


def sse_arguments(sse: str, kms_key_id: str = "") -> dict[str, str]:
    """The PutObject / CreateMultipartUpload arguments for server-side encryption."""
    if sse not in SSE_CHOICES:
        raise ValueError(f"sse={sse!r} is not one of {', '.join(SSE_CHOICES)}")
    if sse == "none":
        if kms_key_id:
            raise ValueError("sse_kms_key_id is set but sse is 'none': set sse to 'aws:kms' or drop the key id")
        return {}
    args = {"ServerSideEncryption": sse}
    if sse == "aws:kms" and kms_key_id:
        args["SSEKMSKeyId"] = kms_key_id
    elif kms_key_id:
        raise ValueError("sse_kms_key_id is only valid with sse 'aws:kms'")
    return args


def format_rate(size: int, seconds: float) -> str:
    """``12.3 MiB in 4.0 s (3.1 MiB/s)``."""
    rate = size / seconds / MIB if seconds > 0 else 0.0
    return f"{size / MIB:.1f} MiB in {seconds:.1f} s ({rate:.1f} MiB/s)"


@dataclass
class Store:
    """One S3 bucket on one endpoint with its own credentials (primary or offsite)."""

    endpoint_url: str
    bucket: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str = "us-east-1"
    prefix: str = "odoo"
    sse: str = "none"
    sse_kms_key_id: str = ""
    ca_bundle: str = ""
    verify_tls: bool = True
    name: str = "primary"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], name: str = "primary") -> Store:
        """Build from a config mapping; ``ValueError`` names a missing key."""
        missing = [k for k in ("endpoint_url", "bucket", "access_key", "secret_key") if not data.get(k)]
        if missing:
            raise ValueError(f"{name} store: missing {', '.join(missing)}")
        store = cls(
            endpoint_url=str(data["endpoint_url"]),
            bucket=str(data["bucket"]),
            access_key=str(data["access_key"]),
            secret_key=str(data["secret_key"]),
            region=str(data.get("region") or "us-east-1"),
            prefix=str(data.get("prefix") or "odoo"),
            sse=str(data.get("sse") or "none"),
            sse_kms_key_id=str(data.get("sse_kms_key_id") or ""),
            ca_bundle=str(data.get("ca_bundle") or ""),
            verify_tls=bool(data.get("verify_tls", True)),
            name=name,
        )
        sse_arguments(store.sse, store.sse_kms_key_id)
        return store

    def describe(self) -> str:
        """``<name> store s3://<bucket> at <endpoint>`` (no credentials)."""
        return f"{self.name} store s3://{self.bucket} at {self.endpoint_url}"


def make_client(store: Store, max_pool_connections: int = 16) -> Any:
    """A boto3 S3 client for S3-compatible stores: path style, SigV4, checksums only when required.

    botocore >= 1.36 sends CRC checksums on every upload by default; stores such as SeaweedFS
    (and older MinIO/Ceph) reject or mis-handle them, so both settings are ``when_required``.
    Older botocore (Debian 12's python3-boto3) has neither option and sends no such checksums.
    """
    try:
        import boto3  # noqa: PLC0415 - optional dependency, imported when needed
        from botocore.config import Config  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - reported by callers
        raise S3Error(f"boto3 is not installed ({exc}): install python3-boto3") from exc
    base = {
        "signature_version": "s3v4",
        "s3": {"addressing_style": "path"},
        "retries": {"max_attempts": 3, "mode": "standard"},
        "connect_timeout": 5,
        "read_timeout": 120,
        "max_pool_connections": max_pool_connections,
    }
    try:
        config = Config(
            **base, request_checksum_calculation="when_required", response_checksum_validation="when_required"
        )
    except TypeError:
        config = Config(**base)
    verify: Any = store.ca_bundle or store.verify_tls
    return boto3.client(
        "s3",
        endpoint_url=store.endpoint_url,
        region_name=store.region,
        aws_access_key_id=store.access_key,
        aws_secret_access_key=store.secret_key,
        config=config,
        verify=verify,
    )


def explain(exc: BaseException, store: Store, what: str) -> S3Error:
    """An :class:`S3Error` naming the store, the operation and the cause (credentials never shown)."""
    code = ""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = str(response.get("Error", {}).get("Code", ""))
    hints = {
        "InvalidAccessKeyId": "the access key is unknown to the store: check the store's access_key",
        "SignatureDoesNotMatch": "the secret key is wrong: check the store's secret_key",
        "AccessDenied": "the credentials lack permission for this bucket/prefix",
        "NoSuchBucket": "the bucket does not exist: create it or fix the bucket name",
    }
    cause = hints.get(code) or f"{type(exc).__name__}: {exc}"
    return S3Error(f"{what} on {store.describe()} failed: {cause}")


def read_exact(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at end of stream (pipes and HTTP bodies return short reads)."""
    first = stream.read(size)
    if not first or len(first) == size:
        return first or b""
    chunks = [first]
    got = len(first)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        chunks.append(more)
        got += len(more)
    return b"".join(chunks)


def read_part(stream: BinaryIO, size: int, sha: Any, chunk: int = MIB) -> tuple[bytes, bytes]:
    """Up to ``size`` bytes read in ``chunk``-sized reads, hashed as they arrive (sha256 of the
    stream, md5 of the part), so the producer keeps writing into its pipe meanwhile: ``(data, md5)``."""
    md5 = hashlib.md5()
    chunks = []
    got = 0
    while got < size:
        block = stream.read(min(chunk, size - got))
        if not block:
            break
        sha.update(block)
        md5.update(block)
        chunks.append(block)
        got += len(block)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return data, md5.digest()


@dataclass
class UploadResult:
    """What an upload wrote: size, sha256, the ETag S3 should report, parts."""

    key: str
    size: int
    sha256: str
    expected_etag: str
    parts: int
    seconds: float


def upload_stream(
    client: Any,
    bucket: str,
    key: str,
    stream: BinaryIO,
    *,
    part_size: int,
    concurrency: int = 2,
    extra_args: Mapping[str, Any] | None = None,
    before_complete: Callable[[UploadResult], None] | None = None,
    expected_sha256: str | None = None,
    first_parts: int = 0,
    first_part_size: int = 0,
) -> UploadResult:
    """Upload ``stream`` as one multipart object, holding at most ``concurrency + 1`` parts in memory
    (``concurrency`` uploading, one being read). The first ``first_parts`` parts may be smaller
    (``first_part_size``, see :func:`part_schedule`).

    sha256 and the part md5s are computed while streaming; each part carries Content-MD5 so the
    store rejects a damaged part. ``before_complete`` runs after the last part and before
    CompleteMultipartUpload (e.g. to check pg_dump's exit code): if it raises, or anything else
    fails, the upload is aborted and nothing appears under ``key``.
    """
    small = first_part_size or part_size
    for value in (part_size, small):
        if not MIN_PART_SIZE <= value <= MAX_PART_SIZE:
            raise ValueError(f"part size {value} is outside S3's limits {MIN_PART_SIZE}..{MAX_PART_SIZE}")
    started = time.monotonic()
    created = client.create_multipart_upload(Bucket=bucket, Key=key, **dict(extra_args or {}))
    upload_id = created["UploadId"]
    sha = hashlib.sha256()
    md5s: list[bytes] = []
    size = 0
    slots = threading.BoundedSemaphore(max(1, concurrency))
    futures: list[Future] = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="s3-part") as pool:
            number = 0
            while True:
                want = small if number < first_parts else part_size
                data, digest = read_part(stream, want, sha)
                if not data and number > 0:
                    break
                number += 1
                if number > MAX_PARTS:
                    raise S3Error(
                        f"{key}: the stream is larger than {MAX_PARTS} parts "
                        f"({schedule_capacity(small, first_parts, part_size)} bytes): raise max_object_size"
                    )
                md5s.append(digest)
                size += len(data)
                slots.acquire()  # at most `concurrency` parts uploading: memory does not grow with the stream
                future = pool.submit(_upload_part, client, bucket, key, upload_id, number, data, digest)
                future.add_done_callback(lambda _f: slots.release())
                futures.append(future)
                failed = [f for f in futures if f.done() and f.exception() is not None]
                if failed:
                    raise failed[0].exception()  # type: ignore[misc]
                if len(data) < want:
                    break
            done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                if future.exception() is not None:
                    raise future.exception()  # type: ignore[misc]
        parts = [{"PartNumber": i + 1, "ETag": f.result()} for i, f in enumerate(futures)]
        result = UploadResult(key, size, sha.hexdigest(), multipart_etag(md5s), len(parts), 0.0)
        if expected_sha256 is not None and result.sha256 != expected_sha256:
            raise S3Error(f"{key}: the data read has sha256 {result.sha256}, expected {expected_sha256}")
        if before_complete is not None:
            before_complete(result)
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except BaseException:
        abort_quietly(client, bucket, key, upload_id)
        raise
    result.seconds = time.monotonic() - started
    return result


def _upload_part(  # noqa: PLR0917 - called positionally by the thread pool
    client: Any, bucket: str, key: str, upload_id: str, number: int, data: bytes, digest: bytes
) -> str:
    response = client.upload_part(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        PartNumber=number,
        Body=data,
        ContentMD5=base64.b64encode(digest).decode("ascii"),
    )
    return str(response["ETag"])


def abort_quietly(client: Any, bucket: str, key: str, upload_id: str) -> bool:
    """Abort a multipart upload; ``False`` when the store cannot be reached (the sweep cleans up later)."""
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except Exception:
        return False
    return True


def put_bytes(
    client: Any, bucket: str, key: str, data: bytes, *, sha256: str, extra_args: Mapping[str, Any] | None = None
) -> str:
    """One PutObject with Content-MD5 and the sha256 as metadata; returns the ETag."""
    response = client.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentMD5=base64.b64encode(md5_digest(data)).decode("ascii"),
        Metadata={"sha256": sha256},
        **dict(extra_args or {}),
    )
    return str(response.get("ETag", "")).strip('"')


def hash_object(client: Any, bucket: str, key: str, chunk: int = 8 * MIB) -> tuple[int, str]:
    """Read an object back: ``(size, sha256)``."""
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    sha = hashlib.sha256()
    size = 0
    try:
        for block in iter(lambda: body.read(chunk), b""):
            sha.update(block)
            size += len(block)
    finally:
        body.close()
    return size, sha.hexdigest()


def verify_object(
    client: Any, bucket: str, key: str, *, size: int, sha256: str, expected_etag: str = "", reread: bool = False
) -> str:
    """Check a stored object against what was written; returns how (``sha256-metadata``,
    ``multipart-etag`` or ``reread``); raises :class:`S3Error` on any mismatch.

    HEAD gives the size, the sha256 metadata (single PUTs, offsite copies) and the ETag; a
    multipart ETag that equals the one computed while streaming proves every part's md5. When
    neither applies (e.g. SSE-KMS ETags are not md5s), the object is read back and hashed.
    """
    head = client.head_object(Bucket=bucket, Key=key)
    stored = int(head.get("ContentLength", -1))
    if stored != size:
        raise S3Error(f"{key}: stored size {stored} differs from the {size} bytes written")
    meta = {str(k).lower(): str(v) for k, v in (head.get("Metadata") or {}).items()}
    if meta.get("sha256"):
        if meta["sha256"] != sha256:
            raise S3Error(f"{key}: stored sha256 metadata {meta['sha256']} differs from {sha256}")
        if not reread:
            return "sha256-metadata"
    etag = str(head.get("ETag", "")).strip('"')
    if expected_etag and etag == expected_etag and not reread:
        return "multipart-etag"
    got_size, got_sha = hash_object(client, bucket, key)
    if got_size != size or got_sha != sha256:
        raise S3Error(f"{key}: read back {got_size} bytes with sha256 {got_sha}, expected {size} bytes {sha256}")
    return "reread"


def sweep_multipart_uploads(
    client: Any,
    bucket: str,
    prefix: str,
    *,
    older_than: timedelta = timedelta(hours=24),
    now: datetime | None = None,
    keep_keys_under: str = "",
    dry_run: bool = False,
) -> list[dict[str, str]]:
    """Abort the incomplete multipart uploads under ``prefix`` (trailing '/') started before ``now - older_than``.

    Uploads under ``keep_keys_under`` (the current run's set) are left alone. Returns what was
    (or, in a dry run, would be) aborted.
    """
    if not prefix.endswith("/"):
        raise ValueError(f"prefix={prefix!r} must end with '/' (a literal prefix 'acme' also matches 'acme2')")
    moment = now or datetime.now(timezone.utc)
    aborted = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = client.list_multipart_uploads(**kwargs)
        for upload in page.get("Uploads") or []:
            key = str(upload["Key"])
            initiated = upload.get("Initiated")
            if not key.startswith(prefix) or (keep_keys_under and key.startswith(keep_keys_under)):
                continue
            if isinstance(initiated, datetime) and moment - initiated < older_than:
                continue
            entry = {"key": key, "upload_id": str(upload["UploadId"]), "initiated": str(initiated)}
            if not dry_run:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
            aborted.append(entry)
        if not page.get("IsTruncated"):
            break
        kwargs["KeyMarker"] = page.get("NextKeyMarker", "")
        kwargs["UploadIdMarker"] = page.get("NextUploadIdMarker", "")
    return aborted


def ensure_abort_lifecycle(client: Any, bucket: str, prefix: str, days: int = 2) -> str:
    """Add a lifecycle rule that aborts incomplete multipart uploads; ``unsupported`` where the store has none."""
    rule = {
        "ID": "sysgenpro-abort-incomplete-multipart",
        "Filter": {"Prefix": prefix},
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
    }
    try:
        client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    except Exception as exc:
        return f"unsupported ({type(exc).__name__})"
    return "set"


def list_keys(client: Any, bucket: str, prefix: str) -> list[tuple[str, int]]:
    """Every ``(key, size)`` under ``prefix`` (which must end with '/')."""
    if not prefix.endswith("/"):
        raise ValueError(f"prefix={prefix!r} must end with '/'")
    keys = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents") or []:
            keys.append((str(item["Key"]), int(item.get("Size", 0))))
    return keys


def list_common_prefixes(client: Any, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
    """``(common_prefixes, direct_keys)`` one level below ``prefix`` (listing with Delimiter '/')."""
    if not prefix.endswith("/"):
        raise ValueError(f"prefix={prefix!r} must end with '/'")
    prefixes: list[str] = []
    direct: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        prefixes.extend(str(p["Prefix"]) for p in page.get("CommonPrefixes") or [])
        direct.extend(str(item["Key"]) for item in page.get("Contents") or [])
    return prefixes, direct


def delete_keys(client: Any, bucket: str, keys: list[str]) -> None:
    """DeleteObjects in batches of 1,000; raises :class:`S3Error` listing keys the store refused."""
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        response = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        errors = response.get("Errors") or []
        if errors:
            listed = ", ".join(f"{e.get('Key')} ({e.get('Code')})" for e in errors[:5])
            raise S3Error(f"the store refused to delete {len(errors)} keys: {listed}")
