"""Shared fixtures: moto-backed AWS, the real simulator over HTTP, and the Chalice test client."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from simulator import SimulatorServer

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "JOBS_TABLE": "test-jobs",
    "MEDIA_BUCKET": "test-media",
    "POLL_INTERVAL_SECONDS": "1",
    "USER_MAX_PENDING_JOBS": "1000",
    "GLOBAL_MAX_PENDING_JOBS": "10000",
    "USER_DAILY_BUDGET_USD": "100000",
}


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    sim = SimulatorServer(speed=400.0).start()
    yield sim
    sim.stop()


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, simulator: SimulatorServer) -> dict[str, str]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "OPENAI_API_KEY", "MODEL_CATALOG_JSON"):
        monkeypatch.delenv(name, raising=False)
    env = {
        **AWS_ENV,
        "VIDEOS_API_BASE_URL": simulator.url,
        "VIDEOS_API_KEY": "sk-test-simulator-key-0123456789abcdef",
        "VIDEOS_UPSTREAM": "simulator",
        "VIDEOS_WEBHOOK_SECRET": "whsec_" + "c2VjcmV0LWZvci10ZXN0cy0xMjM0NTY3ODkw",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def aws(app_env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """moto's DynamoDB and S3 with the jobs table and media bucket created."""
    from chalicelib import runtime
    from chalicelib.config import get_settings
    from devtools.tables import create_table

    with mock_aws():
        runtime.init()
        settings = get_settings()
        create_table(settings)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=settings.media_bucket)
        yield {
            "s3": s3,
            "dynamodb": boto3.client("dynamodb", region_name="us-east-1"),
            "settings": settings,
        }
    runtime.init()


@pytest.fixture
def client(aws: dict[str, Any]) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    # Stage "test" is not in .chalice/config.json: no deployed stage's environment leaks in.
    with Client(app, stage_name="test") as test_client:
        yield test_client


def table_items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stored item except spend-guard counters (checked through /api/usage instead)."""
    items = aws["dynamodb"].scan(TableName=aws["settings"].jobs_table)["Items"]
    return [item for item in items if not item["id"]["S"].startswith("quota#")]


_DYNAMODB_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


@pytest.fixture(scope="session", autouse=True)
def _atomic_moto_writes() -> Iterator[None]:
    """Real DynamoDB checks a condition and writes an item atomically; moto's in-process
    backend does not when called from several threads. Serialising its writes restores the
    guarantee the race tests rely on (and that production gets from DynamoDB)."""
    from moto.dynamodb.models import DynamoDBBackend

    originals = {name: getattr(DynamoDBBackend, name) for name in _WRITES}

    def locked(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _DYNAMODB_LOCK:
                return method(*args, **kwargs)

        return wrapper

    for name, method in originals.items():
        setattr(DynamoDBBackend, name, locked(method))
    yield
    for name, method in originals.items():
        setattr(DynamoDBBackend, name, method)


@pytest.fixture(autouse=True)
def _no_stray_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's mock_aws does not intercept when an endpoint override is set.
    if "AWS_ENDPOINT_URL" in os.environ:
        monkeypatch.delenv("AWS_ENDPOINT_URL")
