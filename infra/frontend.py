"""Upload the static frontend to its bucket and invalidate CloudFront."""

from __future__ import annotations

import mimetypes
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# HTML is revalidated on every load, so a deploy shows at once; assets whose name carries a
# content hash (app.3f9a2c1b.js) never change under that name; the rest get a short cache
# (a deploy also invalidates CloudFront, so only browsers may keep them up to 5 minutes).
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
HASHED_NAME = re.compile(r"[.-][0-9a-f]{8,}\.[A-Za-z0-9]+$")

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".mp4": "video/mp4",
    ".wasm": "application/wasm",
}
TEXT_TYPES = ("text/", "application/json", "application/manifest+json", "application/xml")
SKIPPED = re.compile(r"(^|/)(\.|__pycache__/|node_modules/)|\.(py|pyc|md)$")


@dataclass(frozen=True)
class Asset:
    path: Path
    key: str
    content_type: str
    cache_control: str


def content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    kind = CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith(TEXT_TYPES) or kind == "image/svg+xml":
        kind += "; charset=utf-8"
    return kind


def cache_control(key: str) -> str:
    if key.endswith(".html"):
        return NO_CACHE
    if HASHED_NAME.search(key):
        return IMMUTABLE
    return SHORT


def collect(root: Path) -> list[Asset]:
    assets = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = path.relative_to(root).as_posix()
        if SKIPPED.search(key):
            continue
        assets.append(Asset(path, key, content_type(key), cache_control(key)))
    return assets


def upload(s3: Any, bucket: str, root: Path) -> list[Asset]:
    """Put every asset (HTML last, so new pages never point at missing assets), then delete
    the keys no longer in `root`. Safe to repeat."""
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"{root}/index.html is missing: nothing to serve")
    assets = collect(root)
    for asset in sorted(assets, key=lambda a: a.key.endswith(".html")):
        s3.put_object(
            Bucket=bucket,
            Key=asset.key,
            Body=asset.path.read_bytes(),
            ContentType=asset.content_type,
            CacheControl=asset.cache_control,
        )
    wanted = {a.key for a in assets}
    stale = [key for key in list_keys(s3, bucket) if key not in wanted]
    for start in range(0, len(stale), 1000):
        batch = stale[start : start + 1000]
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )
    return assets


def list_keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version, delete marker and unfinished upload; returns the count."""
    deleted = 0
    try:
        pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket))
    except s3.exceptions.NoSuchBucket:
        return 0
    for page in pages:
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        objects = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
        for start in range(0, len(objects), 1000):
            batch = objects[start : start + 1000]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            deleted += len(batch)
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload_ in page.get("Uploads", []):
            s3.abort_multipart_upload(
                Bucket=bucket, Key=upload_["Key"], UploadId=upload_["UploadId"]
            )
    return deleted


def invalidate(cloudfront: Any, distribution_id: str) -> str:
    """Invalidate every path; returns the invalidation id (not waited for)."""
    response = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"deploy-{int(time.time())}-{uuid.uuid4().hex[:8]}",
        },
    )
    return response["Invalidation"]["Id"]
