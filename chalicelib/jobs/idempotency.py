"""`Idempotency-Key`: the same key and body return the same job instead of a second paid
render; the same key with another body is a 409. Claims are conditional puts, so two
concurrent requests with one key cannot both create.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.errors import Conflict, bad_request
from chalicelib.models import IdempotencyRecord, is_conditional_failure

KEY_MAX_LENGTH = 255
RECORD_LIFETIME = timedelta(hours=24)


def body_fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_id(owner: str, key: str) -> str:
    return f"idem#{owner}#{hashlib.sha256(key.encode()).hexdigest()}"


def validate_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise bad_request(
            "Idempotency-Key",
            f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} printable characters.",
        )
    return key


def claim(owner: str, key: str, fingerprint: str, job_id: str) -> str | None:
    """Claim the key for `job_id`. Returns None when claimed, or the job id it already made."""
    record = IdempotencyRecord(
        record_id(owner, key),
        body_hash=fingerprint,
        job_id=job_id,
        state="in_flight",
        ttl=RECORD_LIFETIME,
    )
    try:
        record.save(condition=IdempotencyRecord.id.does_not_exist())
        return None
    except PutError as exc:
        if not is_conditional_failure(exc):
            raise
    existing = IdempotencyRecord.get(record_id(owner, key), consistent_read=True)
    if existing.body_hash != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            code="idempotency_key_reused",
            field="Idempotency-Key",
        )
    if existing.state != "done":
        raise Conflict(
            "A request with this Idempotency-Key is still being processed.",
            code="idempotency_in_progress",
            retry_after=2,
        )
    return existing.job_id


def complete(owner: str, key: str) -> None:
    IdempotencyRecord(record_id(owner, key)).update(actions=[IdempotencyRecord.state.set("done")])


def release(owner: str, key: str) -> None:
    """The create failed: free the key so the user may try again."""
    with contextlib.suppress(DeleteError):
        IdempotencyRecord(record_id(owner, key)).delete()
