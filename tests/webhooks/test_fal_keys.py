"""fal.ai's webhook keys: the JWKS fetched at most once a minute, kept for a day, fetched again
when a delivery no cached key verifies (rotation), 503 when no key can be had; and the
signature check itself (headers and freshness before any fetch, ASCII digits only)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import responses
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib import clock
from chalicelib.errors import Unavailable
from chalicelib.webhooks import fal_keys
from chalicelib.webhooks.signature import SignatureError
from simulator.webhooks import fal_jwks, fal_signed_headers

JWKS = "https://rest.alpha.fal.ai/.well-known/jwks.json"
BODY = b'{"request_id": "r", "status": "OK"}'
NOW = 1_800_000_000


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    now = [float(NOW)]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    fal_keys.forget_keys()
    yield now
    fal_keys.forget_keys()


def signed(key: Ed25519PrivateKey | None = None, **overrides: str) -> dict[str, str]:
    return {**fal_signed_headers("req-1", BODY, timestamp=NOW, key=key), **overrides}


def test_the_delivery_id_is_the_signed_request_id():
    assert signed()["x-fal-webhook-request-id"] == "req-1"


def jwks_fetches() -> int:
    return sum(1 for call in responses.calls if call.request.url == JWKS)


@responses.activate
def test_a_signed_delivery_verifies_and_the_keys_are_fetched_once(frozen):
    responses.get(JWKS, json=fal_jwks())
    assert fal_keys.verify_fal(JWKS, signed(), BODY, NOW) == "req-1"
    frozen[0] += 3600  # the cache's clock; the delivery's own time stays NOW
    assert fal_keys.verify_fal(JWKS, signed(), BODY, NOW) == "req-1"
    assert jwks_fetches() == 1


@responses.activate
def test_keys_are_kept_for_a_day(frozen):
    responses.get(JWKS, json=fal_jwks())
    fal_keys.public_keys(JWKS)
    frozen[0] += 24 * 3600
    fal_keys.public_keys(JWKS)
    assert jwks_fetches() == 2


@responses.activate
def test_a_rotated_key_is_fetched_again_but_at_most_once_a_minute(frozen):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    responses.get(JWKS, json=fal_jwks(old))
    fal_keys.public_keys(JWKS)
    responses.replace(responses.GET, JWKS, json=fal_jwks(new))
    with pytest.raises(SignatureError):  # within the minute: the cached key only
        fal_keys.verify_fal(JWKS, signed(new), BODY, NOW)
    frozen[0] += 61
    assert fal_keys.verify_fal(JWKS, signed(new), BODY, NOW) == "req-1"
    for _ in range(5):  # forgeries cannot make us fetch in a loop
        with pytest.raises(SignatureError):
            fal_keys.verify_fal(JWKS, signed(Ed25519PrivateKey.generate()), BODY, NOW)
    assert jwks_fetches() == 2


@responses.activate
def test_no_keys_at_all_is_503_not_a_forgery(frozen):
    responses.get(JWKS, status=500)
    with pytest.raises(Unavailable) as info:
        fal_keys.verify_fal(JWKS, signed(), BODY, NOW)
    assert info.value.retry_after == 60
    with pytest.raises(Unavailable):  # and no second fetch within the minute
        fal_keys.verify_fal(JWKS, signed(), BODY, NOW)
    assert jwks_fetches() == 1


@responses.activate
def test_a_failed_refetch_keeps_the_keys_it_has(frozen):
    responses.get(JWKS, json=fal_jwks())
    fal_keys.public_keys(JWKS)
    responses.replace(responses.GET, JWKS, status=503)
    frozen[0] += 24 * 3600
    later = fal_signed_headers("req-1", BODY, timestamp=NOW + 24 * 3600)
    assert fal_keys.verify_fal(JWKS, later, BODY, NOW + 24 * 3600) == "req-1"
    assert jwks_fetches() == 2


def test_only_ed25519_keys_of_the_set_count():
    good = fal_jwks()["keys"][0]
    document = {"keys": [{"kty": "RSA", "n": "x"}, {**good, "x": "!!"}, good, "junk"]}
    assert len(fal_keys.parse_jwks(document)) == 1
    assert fal_keys.parse_jwks({"keys": "none"}) == [] and fal_keys.parse_jwks([]) == []


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"x-fal-webhook-signature": ""}, "missing"),
        ({"x-fal-webhook-timestamp": str(NOW - 301)}, "tolerance"),
        ({"x-fal-webhook-timestamp": str(NOW + 301)}, "tolerance"),
        ({"x-fal-webhook-timestamp": "١٢٣"}, "Unix time"),  # non-ASCII digits
        ({"x-fal-webhook-timestamp": "9" * 13}, "Unix time"),
        ({"x-fal-webhook-signature": "zz" * 64}, "hex"),
        ({"x-fal-webhook-signature": "ab" * 10}, "hex"),
        ({"x-fal-webhook-signature": "é" * 128}, "hex"),
    ],
)
@responses.activate
def test_malformed_or_stale_headers_are_refused_before_any_fetch(headers, reason):
    with pytest.raises(SignatureError, match=reason):
        fal_keys.verify_fal(JWKS, {**signed(), **headers}, BODY, NOW)
    assert jwks_fetches() == 0


@responses.activate
def test_a_tampered_body_or_another_request_id_is_refused():
    responses.get(JWKS, json=fal_jwks())
    with pytest.raises(SignatureError):
        fal_keys.verify_fal(JWKS, signed(), BODY.replace(b"OK", b"ERROR"), NOW)
    with pytest.raises(SignatureError):
        fal_keys.verify_fal(JWKS, signed(**{"x-fal-webhook-request-id": "req-2"}), BODY, NOW)
    assert json.loads(BODY)["status"] == "OK"
