"""moto's in-process DynamoDB and S3 for backend tests, made once and emptied between tests.

`MotoAws.session()` starts moto without wiping it (or finds it still started by the
previous test), creates the jobs table and media bucket the first time (and again whenever
something else reset moto: infra tests do), and empties them otherwise: a test pays
milliseconds instead of the table, bucket and boto3 client set-up. Before any other test
moto is paused, its data kept; anything that needs moto empty resets it itself (`mock_aws()`
does on entry, the infra moto server before each test).

`shared_botocore_loader()` lets every botocore session reuse the service models once read.

`serialised_dynamodb()` (devtools/moto_lock.py, shared with `make run`'s embedded store) is
the one moto lock: real DynamoDB checks a condition and writes an item atomically, moto's
backend does not when called from several threads, so its request handling is serialised
(the race tests rely on the guarantee production gets).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from devtools.moto_lock import DYNAMODB_LOCK, serialised_dynamodb

__all__ = ["MotoAws", "serialised_dynamodb", "shared_botocore_loader", "table_items"]


@contextlib.contextmanager
def shared_botocore_loader() -> Iterator[None]:
    """Every botocore session (PynamoDB makes one per thread) shares one loader of service
    models: a thread's first DynamoDB call costs milliseconds instead of re-reading the JSON
    models (~100 ms each, under the GIL). The data is read-only; nothing else changes."""
    import functools

    import botocore.loaders
    import botocore.session

    original = botocore.session.create_loader
    botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)
    try:
        yield
    finally:
        botocore.session.create_loader = original


class MotoAws:
    """One moto for the session; `session()` per test (see the module docstring). moto stays
    started from one AWS test to the next (starting it registers ~800 URL patterns again)
    and is paused while any other test runs."""

    def __init__(self) -> None:
        from moto import mock_aws

        # Keeping boto3's default session keeps its loaded service models: a new client
        # costs milliseconds instead of ~150 ms. The tests' environment has fake
        # credentials already, so moto leaves os.environ alone.
        self._mock = mock_aws(
            config={"core": {"reset_boto3_session": False, "mock_credentials": False}}
        )
        self._active = False
        self._clients: dict[str, Any] = {}

    @contextlib.contextmanager
    def session(self) -> Iterator[dict[str, Any]]:
        """{"s3", "dynamodb", "settings"}: moto running, the table and bucket there and
        empty, the app's caches forgotten (it reads the current environment)."""
        from chalicelib.config import get_settings
        from tests.support.env import reload_runtime

        self._start()
        try:
            reload_runtime()
            settings = get_settings()
            resources = {
                "s3": self._client("s3", settings.region),
                "dynamodb": self._client("dynamodb", settings.region),
                "settings": settings,
            }
            self._fresh_table(settings)
            self._fresh_bucket(resources["s3"], settings.media_bucket)
            yield resources
        finally:
            reload_runtime()

    def _start(self) -> None:
        from moto.core.custom_responses_mock import reset_responses_mock
        from moto.core.models import responses_mock

        if not self._active:
            reset_responses_mock(responses_mock)  # moto adds its URL patterns again on start
            self._mock.start(reset=False)
            self._active = True

    def pause(self) -> None:
        """Stop intercepting AWS calls, keeping moto's data (for a test that is not ours)."""
        if self._active:
            self._mock.stop(remove_data=False)
            self._active = False

    def _client(self, service: str, region: str) -> Any:
        import boto3

        key = f"{service}@{region}"
        if key not in self._clients:
            self._clients[key] = boto3.client(service, region_name=region)
        return self._clients[key]

    @staticmethod
    def _fresh_table(settings: Any) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        from devtools.tables import create_table

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.region].tables.get(
            settings.jobs_table
        )
        if table is None:
            create_table(settings)
        else:
            with DYNAMODB_LOCK:
                table.items.clear()

    @staticmethod
    def _fresh_bucket(s3: Any, bucket: str) -> None:
        try:
            s3.head_bucket(Bucket=bucket)
        except s3.exceptions.ClientError:
            s3.create_bucket(Bucket=bucket)
            return
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def table_items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stored item except spend-guard counters (checked through /api/usage instead)."""
    items = aws["dynamodb"].scan(TableName=aws["settings"].jobs_table)["Items"]
    return [item for item in items if not item["id"]["S"].startswith("quota#")]
