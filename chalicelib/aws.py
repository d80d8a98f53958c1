"""AWS clients, created lazily on first use (never at import time) and cached per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.config import get_settings


@lru_cache(maxsize=1)
def s3_client() -> Any:
    settings = get_settings()
    config = Config(signature_version="s3v4", retries={"max_attempts": 4, "mode": "standard"})
    return boto3.client("s3", region_name=settings.region, config=config)


def reset_clients() -> None:
    s3_client.cache_clear()
