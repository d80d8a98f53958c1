"""Signed media links. `<video src>`, `poster` and download links cannot send an
`Authorization` header, so when sign-in is on, the `media_url` a signed-in caller receives
carries a short-lived HMAC of (job id, owner, variant, expiry): a link made for the thumbnail
cannot fetch the video. The media route accepts that signature in place of a token and still
302s to a fresh presigned S3 URL on every request, so seeking keeps working while the link is
valid.

The signing key is derived (HMAC as a KDF) from the links' own secret, `MEDIA_LINK_SECRET` or
the SSM SecureString `MEDIA_LINK_SECRET_PARAM` names (`make secrets` generates it; `make run`
keeps one per data directory), never from an upstream key; it never leaves the server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache

from chalicelib import clock, runtime
from chalicelib.config import get_settings
from chalicelib.secrets import resolve

LINK_LIFETIME_SECONDS = 3600


@lru_cache(maxsize=1)
def _key() -> bytes:
    settings = get_settings()
    material = resolve(
        settings.media_link_secret,
        settings.media_link_secret_param,
        required="Signed media links need MEDIA_LINK_SECRET or MEDIA_LINK_SECRET_PARAM.",
    )
    return hmac.new(material.encode(), b"sora-studio media links v1", hashlib.sha256).digest()


def _mac(job_id: str, owner: str, variant: str, expires: int) -> str:
    message = f"{job_id}\n{owner}\n{variant}\n{expires}".encode()
    digest = hmac.new(_key(), message, hashlib.sha256).digest()[:20]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(job_id: str, owner: str, variant: str = "video") -> str:
    """The `sig` of a link to one variant (`video`, `thumbnail`, ...) of one job."""
    expires = int(clock.now()) + LINK_LIFETIME_SECONDS
    owner_part = base64.urlsafe_b64encode(owner.encode()).decode().rstrip("=")
    return f"{expires}.{owner_part}.{_mac(job_id, owner, variant, expires)}"


def verify(job_id: str, signature: str, variant: str = "video") -> str | None:
    """The owner the link was minted for, or None when it is forged, altered, expired or
    made for another job or variant."""
    if not signature.isascii():
        return None
    try:
        raw_expires, owner_part, mac = signature.split(".")
        expires = int(raw_expires)
        owner = base64.urlsafe_b64decode(owner_part + "=" * (-len(owner_part) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if expires < clock.now():
        return None
    if not hmac.compare_digest(mac.encode(), _mac(job_id, owner, variant, expires).encode()):
        return None
    return owner


runtime.register(_key.cache_clear)
