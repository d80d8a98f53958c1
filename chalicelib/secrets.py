"""Every secret the backend uses, through one resolver: `resolve(value, param)` is the value
given directly (local runs), else the SSM Parameter Store SecureString that `param` names
(deployed stages), read once per process (cold start) and cached.

Values are never logged and never part of an exception message; only parameter names are.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import runtime

_lock = threading.Lock()
_cache: dict[str, str] = {}
_client: Any = None

FIX = "store it with `make secrets STAGE=<stage>` (SSM SecureString, --overwrite)"


class SecretError(RuntimeError):
    """A secret is missing, empty or unreadable; the message names the parameter and the fix."""


class SecretMissing(SecretError):
    """Not given at all, or its SSM parameter does not exist or is empty (not stored yet)."""


def _ssm() -> Any:
    global _client
    if _client is None:
        import boto3  # with the first secret read (chalicelib.aws says why)

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
            raise SecretMissing(f"SSM parameter {name} does not exist: {FIX}.") from None
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
        raise SecretMissing(f"SSM parameter {name} is empty: {FIX}.")
    return value


def forget(name: str) -> None:
    """Read SSM parameter `name` again next time (a table that must follow revocations)."""
    with _lock:
        _cache.pop(name, None)


@runtime.register
def _forget_values() -> None:
    """Forget cached values and the client (tests; a rotated secret in a warm process)."""
    global _client
    with _lock:
        _cache.clear()
        _client = None


def resolve(value: str, param: str, *, required: str | None = None) -> str:
    """The secret: `value` when given, else the SSM SecureString named `param`.

    A secret given neither way, or whose parameter was never stored, is "" when optional;
    with `required` (what to set, for the message) it raises `SecretMissing`. A parameter that
    cannot be read (access denied, SSM down) raises `SecretError` either way.
    """
    if value:
        return value
    try:
        if param:
            return read_secret(param)
    except SecretMissing:
        if required is None:
            return ""
        raise
    if required is None:
        return ""
    raise SecretMissing(required)


def is_set(value: str, param: str) -> bool:
    """True when a secret is given directly or its SSM parameter holds a value: a deployed
    stage names every parameter, but only the ones `make secrets` filled are configured."""
    try:
        return bool(resolve(value, param))
    except SecretError:
        return False
