"""The media bucket: where archived videos, thumbnails, spritesheets and a job's input images
(its first frame `reference`, `last_frame`, reference images `reference_0`...) live."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from chalicelib.aws import s3_client
from chalicelib.catalog.spec import MAX_REFERENCE_IMAGES
from chalicelib.config import get_settings

VARIANT_FILES = {
    "video": ("video.mp4", "video/mp4"),
    "thumbnail": ("thumbnail.webp", "image/webp"),
    "spritesheet": ("spritesheet.jpg", "image/jpeg"),
}
REFERENCE_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
PART_SIZE = 8 * 1024 * 1024


def media_key(job_id: str, variant: str) -> str:
    return f"videos/{job_id}/{VARIANT_FILES[variant][0]}"


def input_key(job_id: str, name: str, content_type: str) -> str:
    """Where one input image of a job is kept: `name` is `reference` (the first frame),
    `last_frame` or `reference_<i>`."""
    return f"videos/{job_id}/{name}.{REFERENCE_EXTENSIONS[content_type]}"


def reference_key(job_id: str, content_type: str) -> str:
    return input_key(job_id, "reference", content_type)


INPUT_NAMES = ("reference", "last_frame", *(f"reference_{i}" for i in range(MAX_REFERENCE_IMAGES)))


class ChunkReader(io.RawIOBase):
    """A read-only file object over an iterator of byte chunks (for streaming uploads)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        self.bytes_read += size
        return size


def upload_stream(key: str, chunks: Iterable[bytes], content_type: str) -> int:
    """Stream chunks into S3 (multipart above one part); returns the bytes written."""
    from boto3.s3.transfer import TransferConfig  # with the client (chalicelib.aws says why)

    reader = ChunkReader(chunks)
    # One part in flight: memory stays near one part whatever the video's size.
    transfer = TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        max_concurrency=1,
        use_threads=False,
    )
    s3_client().upload_fileobj(
        io.BufferedReader(reader, buffer_size=1024 * 1024),
        get_settings().media_bucket,
        key,
        ExtraArgs={"ContentType": content_type},
        Config=transfer,
    )
    return reader.bytes_read


def put_bytes(key: str, data: bytes, content_type: str) -> None:
    s3_client().put_object(
        Bucket=get_settings().media_bucket, Key=key, Body=data, ContentType=content_type
    )


def delete_job_media(job_id: str) -> None:
    bucket = get_settings().media_bucket
    keys = [media_key(job_id, v) for v in VARIANT_FILES]
    keys += [input_key(job_id, name, kind) for name in INPUT_NAMES for kind in REFERENCE_EXTENSIONS]
    s3_client().delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
    )


def download_filename(prompt: str, extension: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()[:60].strip("-")
    return f"{slug or 'video'}.{extension}"


# How long an upstream may take to fetch a stored input image: a request can wait in its
# queue for hours. A presigned URL also stops working when the signing credentials expire
# (a Lambda role's session), whichever comes first.
INPUT_URL_TTL_SECONDS = 24 * 3600


def input_url(key: str) -> str:
    """A presigned GET URL of a stored input (a job's image) for an upstream to fetch."""
    return s3_client().generate_presigned_url(
        "get_object",
        Params={"Bucket": get_settings().media_bucket, "Key": key},
        ExpiresIn=INPUT_URL_TTL_SECONDS,
    )


def presigned_url(key: str, *, download_name: str | None = None) -> str:
    settings = get_settings()
    params: dict[str, Any] = {"Bucket": settings.media_bucket, "Key": key}
    if download_name:
        params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
    return s3_client().generate_presigned_url(
        "get_object", Params=params, ExpiresIn=settings.media_url_ttl_seconds
    )
