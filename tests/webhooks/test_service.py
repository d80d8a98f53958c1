"""`POST /api/webhooks/videos`: a valid Standard Webhooks delivery refreshes its job at once
(the refresher then archives it);
forged, replayed, stale, header-less or tampered deliveries change nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chalicelib.jobs import refresher
from tests.support.api import body, post_json
from tests.support.clock import CLOCK, RENDER_CLOCK_SECONDS
from tests.support.jobs import finish_upstream, load, seed_jobs
from tests.support.webhooks import signed_webhook

pytestmark = pytest.mark.movable_clock

ROUTE = "/api/webhooks/videos"


def deliver(client: Any, headers: dict[str, str], raw: bytes) -> Any:
    return post_json(client, ROUTE, raw, headers)


def snapshot(aws: dict[str, Any]) -> list[dict[str, Any]]:
    items = aws["dynamodb"].scan(TableName=aws["settings"].jobs_table)["Items"]
    return sorted(items, key=lambda item: item["id"]["S"])


def test_valid_delivery_refreshes_the_job(client, aws, simulator, secret):
    jobs = seed_jobs(1)
    job = jobs[0]
    finish_upstream(simulator, jobs)
    headers, raw = signed_webhook(secret, job.upstream_id)
    answer = deliver(client, headers, raw)
    assert answer.status_code == 200
    assert body(answer) == {"status": "processed"}
    seen = load(job.id)
    # The webhook records upstream's answer at once; the copy to S3 is the refresher's
    # (it does not fit a request's deadline).
    assert (seen.status, seen.progress, seen.upstream_status) == ("in_progress", 100, "completed")
    refresher.refresh_pending()
    done = load(job.id)
    assert (done.status, done.archive_state) == ("completed", "archived")


def test_replayed_delivery_is_acknowledged_without_a_second_refresh(client, aws, simulator, secret):
    jobs = seed_jobs(1)
    job = jobs[0]
    CLOCK.advance(RENDER_CLOCK_SECONDS / 2)  # rendering: every refresh would ask upstream
    headers, raw = signed_webhook(secret, job.upstream_id, "video.completed", msg_id="msg_1")

    retrieves = simulator.stats["retrieve"]
    assert body(deliver(client, headers, raw)) == {"status": "processed"}
    assert simulator.stats["retrieve"] == retrieves + 1
    refreshed = load(job.id)
    assert refreshed.status == "in_progress"

    CLOCK.advance(2)
    replay = deliver(client, headers, raw)
    assert replay.status_code == 200
    assert body(replay) == {"status": "duplicate"}
    assert simulator.stats["retrieve"] == retrieves + 1
    assert load(job.id).version == refreshed.version

    # The same id re-signed with a fresh timestamp is still the same delivery.
    again, raw_again = signed_webhook(secret, job.upstream_id, msg_id="msg_1")
    assert body(deliver(client, again, raw_again)) == {"status": "duplicate"}
    assert simulator.stats["retrieve"] == retrieves + 1


def _forged(secret: str, upstream_id: str) -> tuple[dict[str, str], bytes]:
    other = "whsec_" + base64.b64encode(b"not-the-configured-secret").decode()
    return signed_webhook(other, upstream_id)


def _stale(secret: str, upstream_id: str) -> tuple[dict[str, str], bytes]:
    return signed_webhook(secret, upstream_id, timestamp=int(CLOCK.now()) - 301)


def _future(secret: str, upstream_id: str) -> tuple[dict[str, str], bytes]:
    return signed_webhook(secret, upstream_id, timestamp=int(CLOCK.now()) + 301)


def _tampered(secret: str, upstream_id: str) -> tuple[dict[str, str], bytes]:
    headers, raw = signed_webhook(secret, upstream_id)
    event = json.loads(raw)
    event["type"] = "video.failed"
    return headers, json.dumps(event).encode()


def _resigned_id(secret: str, upstream_id: str) -> tuple[dict[str, str], bytes]:
    headers, raw = signed_webhook(secret, upstream_id)
    headers["webhook-id"] = headers["webhook-id"] + "x"  # signature covers the id
    return headers, raw


def _missing(name: str) -> Any:
    def build(secret: str, upstream_id: str) -> tuple[dict[str, str], bytes]:
        headers, raw = signed_webhook(secret, upstream_id)
        del headers[name]
        return headers, raw

    return build


def _garbled_signature(secret: str, upstream_id: str) -> tuple[dict[str, str], bytes]:
    headers, raw = signed_webhook(secret, upstream_id)
    headers["webhook-signature"] = "v1,bm90LWEtc2lnbmF0dXJl v2,xyz"
    return headers, raw


def _not_a_number(secret: str, upstream_id: str) -> tuple[dict[str, str], bytes]:
    headers, raw = signed_webhook(secret, upstream_id)
    headers["webhook-timestamp"] = "soon"
    return headers, raw


BAD_DELIVERIES = {
    "forged signature": _forged,
    "stale timestamp": _stale,
    "future timestamp": _future,
    "tampered body": _tampered,
    "id not signed": _resigned_id,
    "no webhook-id": _missing("webhook-id"),
    "no webhook-timestamp": _missing("webhook-timestamp"),
    "no webhook-signature": _missing("webhook-signature"),
    "garbled signature": _garbled_signature,
    "timestamp not a number": _not_a_number,
}


def test_bad_deliveries_are_refused_and_change_nothing(client, aws, simulator, secret):
    jobs = seed_jobs(1)
    job = jobs[0]
    finish_upstream(simulator, jobs)  # a valid delivery would record that at once
    before = snapshot(aws)
    requests_before = simulator.stats

    for name, build in BAD_DELIVERIES.items():
        headers, raw = build(secret, job.upstream_id)
        answer = deliver(client, headers, raw)
        assert answer.status_code == 400, name
        assert body(answer)["error"]["code"] == "invalid_webhook", name
    unsigned = deliver(client, {}, b'{"type": "video.completed", "data": {"id": "x"}}')
    assert unsigned.status_code == 400

    assert snapshot(aws) == before  # no job change, no dedupe record
    assert simulator.stats == requests_before  # nothing asked upstream

    # Refused deliveries did not burn their ids: the genuine delivery still works.
    headers, raw = signed_webhook(secret, job.upstream_id)
    assert body(deliver(client, headers, raw)) == {"status": "processed"}
    assert load(job.id).upstream_status == "completed"


def test_signed_but_meaningless_bodies(client, aws, simulator, secret):
    from chalicelib.webhooks.signature import sign

    jobs = seed_jobs(1)
    finish_upstream(simulator, jobs)
    version = load(jobs[0].id).version

    headers, raw = signed_webhook(secret, jobs[0].upstream_id, "video.created")
    assert body(deliver(client, headers, raw)) == {"status": "ignored"}
    headers, raw = signed_webhook(secret, "video_" + "0" * 32)
    assert body(deliver(client, headers, raw)) == {"status": "processed"}  # unknown: no-op
    assert load(jobs[0].id).version == version

    raw = b"not json"
    stamp = int(CLOCK.now())
    headers = {
        "webhook-id": "msg_garbage",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, "msg_garbage", stamp, raw),
    }
    assert deliver(client, headers, raw).status_code == 400


def test_unconfigured_secret_refuses_everything(client, aws, monkeypatch):
    from chalicelib import runtime
    from chalicelib.config import get_settings

    headers, raw = signed_webhook(
        "whsec_" + base64.b64encode(b"anything").decode(), "video_" + "1" * 32
    )
    monkeypatch.setenv("VIDEOS_WEBHOOK_SECRET", "")
    runtime.init()
    # Load them now: the Chalice test client swaps in the `dev` stage's environment
    # (.chalice/config.json) during each request, which is not the test's.
    assert get_settings().webhook_secret == ""
    try:
        answer = deliver(client, headers, raw)
    finally:
        monkeypatch.undo()
        runtime.init()
    assert answer.status_code == 400
