"""An upstream's error text is logged; the caller gets our own message, specific to the kind
of failure (http.py is the one mapping of upstream failures)."""

from __future__ import annotations

import logging

import pytest

from chalicelib.http import upstream_failure
from chalicelib.upstreams.base import (
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamNotFound,
    UpstreamPaymentRequired,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from tests.support.api import body, post_json

LEAK = "internal trace at 10.0.3.7 <script>alert(1)</script> account acct_123 key sk-live-999"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (UpstreamBadRequest(LEAK, status=400), 400, "upstream_rejected"),
        (UpstreamBadRequest(LEAK, status=400, param="size"), 400, "upstream_rejected"),
        (
            UpstreamBadRequest(LEAK, status=400, code="moderation_blocked"),
            400,
            "moderation_blocked",
        ),
        (UpstreamAuthError(LEAK, status=401), 502, "upstream_auth_failed"),
        (UpstreamPaymentRequired(LEAK, status=402), 402, "upstream_out_of_credits"),
        (UpstreamRateLimited(LEAK, status=429, retry_after=3), 429, "rate_limited"),
        (UpstreamNotFound(LEAK, status=404), 502, "upstream_error"),
        (UpstreamUnavailable(LEAK, status=503), 502, "upstream_error"),
        (UpstreamError(LEAK, status=418), 502, "upstream_error"),
    ],
)
def test_the_upstream_text_is_logged_and_never_answered(caplog, error, status, code):
    with caplog.at_level(logging.WARNING, logger="chalicelib.http"):
        response = upstream_failure(error)
    assert response.status_code == status
    answered = response.body["error"]
    assert answered["code"] == code
    assert LEAK not in answered["message"] and "sk-live" not in answered["message"]
    assert answered["message"].endswith(".")
    assert any(LEAK in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_a_rejected_field_is_named_only_when_it_is_a_plain_field_name():
    named = upstream_failure(UpstreamBadRequest(LEAK, status=400, param="size")).body["error"]
    assert named["field"] == "size" and "size" in named["message"]
    odd = upstream_failure(UpstreamBadRequest(LEAK, status=400, param="<b>x</b>")).body["error"]
    assert "field" not in odd and "<b>" not in odd["message"]


def test_a_failed_create_answers_our_message(client, aws, caplog):
    with caplog.at_level(logging.WARNING, logger="chalicelib.http"):
        response = post_json(client, "/api/videos", {"prompt": "boom [fail:create]"})
    assert response.status_code == 502
    message = body(response)["error"]["message"]
    assert message == (
        "The video service failed to answer this request (HTTP 500). Try again in a minute."
    )
    logged = [r.getMessage() for r in caplog.records if r.name == "chalicelib.http"]
    assert logged and all("status=500" in line for line in logged)
