"""Who is calling, per `AUTH_MODE`:

- `none`: every caller is the one local user (loopback `make run` only; deployed stages refuse
  to start with it, see config.py);
- `token`: `Authorization: Bearer <token>`; tokens are stored only as SHA-256 hashes mapped to
  user ids (`AUTH_TOKENS` JSON locally, or the SSM SecureString named by `AUTH_TOKENS_PARAM`),
  read again every TOKEN_TABLE_TTL_SECONDS (a revoked token stops working within 5 minutes);
- `cognito`: a Cognito user pool's RS256 JWT (access or id token), checked against the pool's
  JWKS, fetched at most once a JWKS_MIN_REFRESH_SECONDS (a token naming an unknown `kid` does
  not make this server fetch the keys again); the user id is the token's `sub`.
Failures are 401 with the same message whatever went wrong, so nothing about tokens leaks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from chalice.app import Request

from chalicelib import clock, runtime
from chalicelib.config import Settings, get_settings
from chalicelib.errors import Unauthorized
from chalicelib.secrets import SecretError, forget, resolve

log = logging.getLogger(__name__)

LOCAL_OWNER = "local"
TOKEN_TABLE_TTL_SECONDS = 300
JWKS_MIN_REFRESH_SECONDS = 60
_jwks_lock = threading.Lock()
_jwks_cache: dict[str, dict[str, Any]] = {}  # url -> kid -> key
_jwks_fetched_at: dict[str, float] = {}  # url -> when it was last asked (clock.now())
_tokens_lock = threading.Lock()
_tokens: dict[str, Any] = {"table": None, "read_at": 0.0}


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
    if not (token.isascii() and token.isprintable()):  # tokens and JWTs are ASCII
        raise unauthorized()
    return token


def _read_token_table(settings: Settings) -> dict[str, dict[str, Any]]:
    if not settings.auth_tokens_json and settings.auth_tokens_param:
        forget(settings.auth_tokens_param)  # read SSM again, not its process-long cache
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


def token_table() -> dict[str, dict[str, Any]]:
    """The token table, read again once it is TOKEN_TABLE_TTL_SECONDS old (so a token taken
    out of it stops working within that time). When a re-read fails (SSM unreachable), the
    last table stays in use and the read is tried again a TTL later."""
    now = clock.now()
    with _tokens_lock:
        table = _tokens["table"]
        if table is not None and now - _tokens["read_at"] < TOKEN_TABLE_TTL_SECONDS:
            return table
        try:
            table = _read_token_table(get_settings())
        except SecretError:
            if _tokens["table"] is None:
                raise
            log.warning("token table could not be read again; the last one stays in use")
            table = _tokens["table"]
        _tokens.update(table=table, read_at=now)
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
    """The pool's keys by `kid`. Asked for again (`refresh`, a `kid` not among them) at most
    once a JWKS_MIN_REFRESH_SECONDS: tokens naming random kids cost no fetch each, and a key
    the pool rotated in is found within a minute. A failed fetch counts as one."""
    import requests

    url = settings.cognito_jwks_url or f"{settings.cognito_issuer}/.well-known/jwks.json"
    with _jwks_lock:
        now = clock.now()
        due = now - _jwks_fetched_at.get(url, float("-inf")) >= JWKS_MIN_REFRESH_SECONDS
        if (refresh or url not in _jwks_cache) and due:
            _jwks_fetched_at[url] = now
            response = requests.get(url, timeout=5)
            response.raise_for_status()
            _jwks_cache[url] = {key["kid"]: key for key in response.json().get("keys", [])}
        return _jwks_cache.get(url, {})


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
    with _tokens_lock:
        _tokens.update(table=None, read_at=0.0)
    with _jwks_lock:
        _jwks_cache.clear()
        _jwks_fetched_at.clear()
