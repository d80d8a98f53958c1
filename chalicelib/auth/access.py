"""Who is calling, per `AUTH_MODE`:

- `none`: every caller is the one local user (loopback `make run` only; deployed stages refuse
  to start with it, see config.py);
- `token`: `Authorization: Bearer <token>`; tokens are stored only as SHA-256 hashes mapped to
  user ids (`AUTH_TOKENS` JSON locally, or the SSM SecureString named by `AUTH_TOKENS_PARAM`);
- `cognito`: a Cognito user pool's RS256 JWT (access or id token), checked against the pool's
  JWKS; the user id is the token's `sub`.
Failures are 401 with the same message whatever went wrong, so nothing about tokens leaks.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from chalice.app import Request

from chalicelib import clock, runtime
from chalicelib.config import Settings, get_settings
from chalicelib.errors import Unauthorized
from chalicelib.secrets import resolve

LOCAL_OWNER = "local"
_jwks_lock = threading.Lock()
_jwks_cache: dict[str, Any] = {}


def unauthorized(
    message: str = "Sign in to continue: a valid access token is required.",
) -> Unauthorized:
    return Unauthorized(message)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(request: Request) -> str:
    header = (request.headers or {}).get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096 or " " in token:
        raise unauthorized()
    return token


@lru_cache(maxsize=1)
def token_table() -> dict[str, dict[str, Any]]:
    settings = get_settings()
    raw = resolve(
        settings.auth_tokens_json,
        settings.auth_tokens_param,
        required="AUTH_MODE=token needs AUTH_TOKENS or AUTH_TOKENS_PARAM.",
    )
    table: dict[str, dict[str, Any]] = {}
    for digest, entry in json.loads(raw).items():
        record = {"user": entry} if isinstance(entry, str) else dict(entry)
        table[str(digest).lower()] = record
    return table


def _token_owner(token: str) -> str:
    record = token_table().get(token_hash(token))
    if record is None or not record.get("user"):
        raise unauthorized()
    expires = record.get("expires_at")
    if expires:
        moment = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if moment.timestamp() <= clock.now():
            raise unauthorized("Your access token has expired; ask for a new one.")
    return str(record["user"])


def _jwks(settings: Settings, refresh: bool = False) -> dict[str, Any]:
    import requests

    url = settings.cognito_jwks_url or f"{settings.cognito_issuer}/.well-known/jwks.json"
    with _jwks_lock:
        if refresh or url not in _jwks_cache:
            response = requests.get(url, timeout=5)
            response.raise_for_status()
            _jwks_cache[url] = {key["kid"]: key for key in response.json().get("keys", [])}
        return _jwks_cache[url]


def _cognito_owner(token: str) -> str:
    import jwt

    settings = get_settings()
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        keys = _jwks(settings)
        if kid not in keys:
            keys = _jwks(settings, refresh=True)
        if kid not in keys or header.get("alg") != "RS256":
            raise unauthorized()
        key = jwt.PyJWK(keys[kid]).key
        claims = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            issuer=settings.cognito_issuer,
            options={"verify_aud": False, "require": ["exp", "iss", "sub", "token_use"]},
            leeway=30,
        )
    except Unauthorized:
        raise
    except jwt.ExpiredSignatureError:
        raise unauthorized("Your session has expired; sign in again.") from None
    except Exception:
        raise unauthorized() from None
    use = claims.get("token_use")
    audience = claims.get("client_id") if use == "access" else claims.get("aud")
    if use not in ("access", "id") or audience != settings.cognito_client_id:
        raise unauthorized()
    return str(claims["sub"])


def current_owner(request: Request) -> str:
    mode = get_settings().auth_mode
    if mode == "none":
        return LOCAL_OWNER
    token = bearer_token(request)
    if mode == "token":
        return _token_owner(token)
    return _cognito_owner(token)


@runtime.register
def _forget_tokens_and_keys() -> None:
    token_table.cache_clear()
    with _jwks_lock:
        _jwks_cache.clear()
