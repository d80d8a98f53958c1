"""AWS clients, created lazily on first use (never at import time) and cached per process.

boto3 itself is imported with the first client: a cold start that serves a page of jobs
(PynamoDB needs only botocore) never pays for it."""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config

from chalicelib import runtime
from chalicelib.config import get_settings

_lock = threading.Lock()
_s3: Any = None
_lambda: Any = None


def s3_client() -> Any:
    """One S3 client per process, even when many refresher threads ask at once."""
    global _s3
    with _lock:
        if _s3 is None:
            import boto3

            settings = get_settings()
            config = Config(
                signature_version="s3v4", retries={"max_attempts": 4, "mode": "standard"}
            )
            _s3 = boto3.client("s3", region_name=settings.region, config=config)
        return _s3


def lambda_client() -> Any:
    """The refresher's client for handing shards to its worker: short timeouts and one retry,
    so a failed hand-off falls back to this process while the tick still has time."""
    global _lambda
    with _lock:
        if _lambda is None:
            import boto3

            config = Config(
                connect_timeout=2,
                read_timeout=5,
                retries={"max_attempts": 2, "mode": "standard"},
            )
            _lambda = boto3.client("lambda", region_name=get_settings().region, config=config)
        return _lambda


@runtime.register
def _forget_clients() -> None:
    global _s3, _lambda
    with _lock:
        _s3 = _lambda = None
