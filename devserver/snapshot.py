"""Keep the embedded store's jobs and media under `.data/` so they survive a restart.

moto keeps everything in memory; this mirrors the table to a JSON file and the bucket to
files, and loads them back at start."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class Snapshot:
    def __init__(self, data_dir: Path, table: str, bucket: str, dynamodb: Any, s3: Any) -> None:
        self.table_file = data_dir / "dynamodb" / f"{table}.json"
        self.media_dir = data_dir / "s3" / bucket
        self.table = table
        self.bucket = bucket
        self.dynamodb = dynamodb
        self.s3 = s3
        self._saved_etags: dict[str, str] = {}

    def restore(self) -> int:
        items: list[dict[str, Any]] = []
        if self.table_file.exists():
            items = json.loads(self.table_file.read_text())
            for start in range(0, len(items), 25):
                batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                self.dynamodb.batch_write_item(RequestItems={self.table: batch})
        if self.media_dir.exists():
            for path in sorted(self.media_dir.rglob("*")):
                if path.is_file() and not path.name.endswith(".meta.json"):
                    key = path.relative_to(self.media_dir).as_posix()
                    meta_file = path.with_name(path.name + ".meta.json")
                    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
                    with path.open("rb") as body:
                        self.s3.put_object(
                            Bucket=self.bucket,
                            Key=key,
                            Body=body,
                            ContentType=meta.get("ContentType", "application/octet-stream"),
                        )
                    self._saved_etags[key] = self.s3.head_object(Bucket=self.bucket, Key=key)[
                        "ETag"
                    ]
        return len(items)

    def save(self) -> None:
        self._save_table()
        self._save_media()

    def _save_table(self) -> None:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        _atomic_write(self.table_file, json.dumps(items).encode())

    def _save_media(self) -> None:
        seen: set[str] = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for obj in page.get("Contents", []):
                key, etag = obj["Key"], obj["ETag"]
                seen.add(key)
                if self._saved_etags.get(key) == etag:
                    continue
                response = self.s3.get_object(Bucket=self.bucket, Key=key)
                target = self.media_dir / key
                target.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                    for chunk in response["Body"].iter_chunks(1024 * 1024):
                        tmp.write(chunk)
                os.replace(tmp.name, target)
                meta = {"ContentType": response.get("ContentType", "application/octet-stream")}
                _atomic_write(
                    target.with_name(target.name + ".meta.json"), json.dumps(meta).encode()
                )
                self._saved_etags[key] = etag
        for key in list(self._saved_etags):
            if key not in seen:
                for path in (self.media_dir / key, self.media_dir / (key + ".meta.json")):
                    path.unlink(missing_ok=True)
                del self._saved_etags[key]


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)
