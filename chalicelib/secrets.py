"""Secrets from SSM Parameter Store SecureStrings, read once per process (cold start) and cached.

Values are never logged and never part of an exception message; only parameter names are.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import runtime

_lock = threading.Lock()
_cache: dict[str, str] = {}
_client: Any = None

FIX = "store it with `make secrets STAGE=<stage>` (SSM SecureString, --overwrite)"


class SecretError(RuntimeError):
    """A secret is missing, empty or unreadable; the message names the parameter and the fix."""


def _ssm() -> Any:
    global _client
    if _client is None:
        _client = boto3.client("ssm")
    return _client


def read_secret(name: str) -> str:
    """The decrypted value of SSM parameter `name`; SSM is asked once per name per process."""
    if not name:
        raise SecretError("No SSM parameter name given for a secret; set the *_PARAM variable.")
    with _lock:
        cached = _cache.get(name)
        if cached is not None:
            return cached
        value = _fetch(name)
        _cache[name] = value
        return value


def _fetch(name: str) -> str:
    try:
        response = _ssm().get_parameter(Name=name, WithDecryption=True)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ParameterNotFound":
            raise SecretError(f"SSM parameter {name} does not exist: {FIX}.") from None
        if code in ("AccessDeniedException", "AccessDenied"):
            raise SecretError(
                f"Not allowed to read SSM parameter {name}: grant ssm:GetParameter on it in "
                ".chalice/policy-<stage>.json (and kms:Decrypt if it uses a customer key)."
            ) from None
        raise SecretError(f"Could not read SSM parameter {name} ({code or 'error'}).") from None
    except BotoCoreError as exc:
        raise SecretError(f"Could not read SSM parameter {name} ({type(exc).__name__}).") from None
    value = response.get("Parameter", {}).get("Value", "")
    if not value.strip():
        raise SecretError(f"SSM parameter {name} is empty: {FIX}.")
    return value


@runtime.register
def _forget_values() -> None:
    """Forget cached values and the client (tests; a rotated secret in a warm process)."""
    global _client
    with _lock:
        _cache.clear()
        _client = None


def is_set(value: str, param: str) -> bool:
    """True when a secret is given directly or its SSM parameter holds a value: a deployed
    stage names every parameter, but only the ones `make secrets` filled are configured."""
    if value:
        return True
    if not param:
        return False
    try:
        return bool(read_secret(param))
    except SecretError:
        return False
