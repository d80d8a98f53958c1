"""Standard Webhooks: signing, and one signed event per terminal transition."""

from __future__ import annotations

import json
import time

import pytest

from simulator import SimulatorServer, sign, verify
from tests.support.simulator import Client
from tests.support.wait import wait_until
from tests.support.webhooks import Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_sign_matches_the_standard_webhooks_test_vector() -> None:
    signature = sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_verify() -> None:
    now = 1614265330
    body = b'{"test": 2432232314}'
    headers = {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(now),
        "Webhook-Signature": "v1,bogus " + sign(SECRET, "msg_1", now, body),
    }
    assert verify(SECRET, headers, body, now=now + 10)
    assert not verify(SECRET, headers, body + b" ", now=now)
    assert not verify(SECRET, headers, body, now=now + 301)  # stale
    assert not verify("whsec_" + "QUJDREVGRw==", headers, body, now=now)  # other secret
    assert not verify(SECRET, {**headers, "Webhook-Id": "msg_2"}, body, now=now)


def test_bad_webhook_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        SimulatorServer(webhook_url="http://127.0.0.1:9/hooks")
    with pytest.raises(ValueError):
        SimulatorServer(webhook_url="http://127.0.0.1:9/hooks", webhook_secret="whsec_%%%")
    SimulatorServer(webhook_secret=SECRET)  # a secret alone is fine: nothing is sent


def test_one_signed_event_per_terminal_transition(make_sim, receiver: Receiver) -> None:
    sim = make_sim(webhook_url=receiver.url, webhook_secret=SECRET)
    with Client(sim.url) as api:
        done = api.create()
        failed = api.create(prompt="nope [fail:moderation]")
        api.wait_for(done["id"], "completed")
        api.wait_for(failed["id"], "failed")
        calls = receiver.wait_for(2)
        for _ in range(3):  # more reads and watcher ticks send nothing new
            api.get(f"/videos/{done['id']}")
            api.get("/videos")
        time.sleep(0.5)
    assert len(receiver.calls) == 2
    events = {}
    for headers, body in calls:
        assert headers["content-type"] == "application/json"
        assert verify(SECRET, headers, body)
        event = json.loads(body)
        assert headers["webhook-id"] == event["id"]
        assert event["id"].startswith("evt_") and event["object"] == "event"
        assert isinstance(event["created_at"], int)
        events[event["data"]["id"]] = event["type"]
    assert events == {done["id"]: "video.completed", failed["id"]: "video.failed"}


def test_failed_delivery_is_retried_with_the_same_id(make_sim, receiver: Receiver) -> None:
    receiver.failures = 1
    sim = make_sim(webhook_url=receiver.url, webhook_secret=SECRET)
    with Client(sim.url) as api:
        api.create(prompt="retry me [fail:render]")
        first, second = receiver.wait_for(2)
    assert first[0]["webhook-id"] == second[0]["webhook-id"]
    assert first[1] == second[1]
    assert verify(SECRET, second[0], second[1])
    assert sim.webhooks is not None
    wait_until(lambda: sim.webhooks.delivered == 1, timeout=5, what="one delivery counted")
