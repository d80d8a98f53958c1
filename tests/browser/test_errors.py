"""What the creator sees when something is wrong: bad input, blocked prompts, limits."""

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def posts_to_videos(page):
    sent = []
    page.on(
        "request",
        lambda r: sent.append(r) if r.method == "POST" and "/api/videos" in r.url else None,
    )
    return sent


def test_empty_prompt_is_explained_and_creates_nothing(studio, page, api):
    studio.open()
    before = len(api.list())
    sent = posts_to_videos(page)

    page.fill("#prompt", "   \n  ")
    page.click("#submit")

    error = page.locator("#prompt-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("prompt is required")
    expect(page.locator("#prompt")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#prompt")).to_be_focused()
    assert "prompt-error" in page.get_attribute("#prompt", "aria-describedby")
    page.wait_for_timeout(500)
    assert sent == []
    assert len(api.list()) == before

    page.fill("#prompt", "now there is text")
    expect(error).to_be_hidden()
    expect(page.locator("#prompt")).not_to_have_attribute("aria-invalid", "true")


def test_api_validation_error_is_shown_next_to_its_field(studio, page, api, token):
    """The server's own 400 answer, with its `field`, lands next to that field."""
    studio.open()

    def tamper(route):
        body = json.loads(route.request.post_data)
        route.continue_(post_data=json.dumps({**body, "model": "no-such-model"}))

    page.route("**/api/videos", tamper)
    response = studio.submit(f"{token} a lighthouse in fog")
    assert response.status == 400
    error = response.json()["error"]
    assert error["field"] == "model"

    expect(page.locator("#model-error")).to_have_text(error["message"])
    expect(page.locator("#model")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#prompt-error")).to_be_hidden()
    expect(page.locator("#submit")).to_be_enabled()
    assert api.list(q=token) == []


def test_moderation_failure_is_explained_on_the_card(studio, page, token):
    studio.open(token)
    job = studio.submit(f"{token} something [fail:moderation]").json()["job"]

    card = studio.wait_status(job["id"], "failed")
    expect(card.locator(".badge")).to_have_text("Failed")
    expect(card.locator(".failure-title")).to_have_text("Blocked by the content policy")
    expect(card.locator(".failure-detail")).to_contain_text("Reword")
    expect(card.locator(".failure-code")).to_contain_text("moderation_blocked")
    expect(card.locator("video")).to_have_count(0)
    expect(card.locator("a.download")).to_be_hidden()
    expect(card.locator('[data-action="remix"]')).to_be_hidden()
    # It leads to editing the prompt, not to sending the same one again.
    expect(card.locator('[data-action="rerun"]')).to_be_hidden()
    expect(card.locator('[data-action="edit"]')).to_be_visible()
    expect(card.locator('[data-action="edit"]')).to_have_class(re.compile("btn-primary"))
    expect(page.locator("#announcer")).to_contain_text("failed")


def test_rate_limit_says_when_to_try_again_and_retries_with_the_same_key(studio, page, api, token):
    studio.open()
    first = studio.submit(f"{token} [fail:ratelimit] a busy street")
    assert first.status == 429
    retry_after = int(first.headers["retry-after"])

    error = page.locator("#form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("busy")
    text = error.text_content()
    assert text.count("Try again") == 1, text
    seconds = int(re.search(r"Try again in (\d+) s", text).group(1))
    assert retry_after - 2 <= seconds <= retry_after, text
    expect(page.locator("#submit")).to_be_enabled()
    expect(page.locator("#submit")).to_have_text("Generate video")

    # Pressing the button again is the same submission retried: same key.
    again = studio.submit(f"{token} [fail:ratelimit] a busy street")
    key = first.request.headers["idempotency-key"]
    assert again.request.headers["idempotency-key"] == key
    # A changed prompt is a new submission: new key.
    other = studio.submit(f"{token} [fail:ratelimit] a quiet street")
    assert other.request.headers["idempotency-key"] != key
    assert api.list(q=token) == []


def test_upstream_error_is_a_clear_message(studio, page, api, token):
    studio.open()
    response = studio.submit(f"{token} [fail:create] a broken render")
    assert response.status == 502
    message = response.json()["error"]["message"]
    error = page.locator("#form-error")
    expect(error).to_contain_text(message.rstrip("."))
    expect(error).to_contain_text("Try again")
    assert api.list(q=token) == []


def test_quota_messages_come_from_the_server(studio, page):
    """Long waits are said in hours, not counted down in seconds."""
    studio.open()
    message = "This video would take you past today's budget of $20.00; resets at midnight UTC."
    page.route(
        "**/api/videos",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "39600"},
            json={"error": {"code": "daily_budget_exceeded", "message": message}},
        ),
    )
    studio.submit("anything")
    error = page.locator("#form-error")
    expect(error).to_have_text(message.rstrip(".") + ". Try again in 11 h.")


def test_html_in_a_prompt_is_shown_as_text(studio, page, token):
    studio.open(token)
    prompt = f'{token} <img src=x onerror=alert(1)> <script>alert(2)</script> & "quotes"'
    job = studio.submit(prompt).json()["job"]
    card = studio.card(job["id"])
    expect(card.locator(".prompt")).to_have_text(prompt)
    expect(card.locator(".prompt img, .prompt script")).to_have_count(0)

    # Also after a reload, rendered from the list endpoint.
    studio.open(token)
    expect(studio.card(job["id"]).locator(".prompt")).to_have_text(prompt)
    assert page.locator("#job-list img[src='x']").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_a_lost_request_is_retried_with_the_same_key_and_makes_one_job(studio, page, api, token):
    studio.open(token)
    keys = []

    def flaky(route):
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.abort("connectionreset")  # the request may or may not have arrived
        else:
            route.continue_()

    page.route("**/api/videos", flaky)
    page.fill("#prompt", f"{token} a lantern on a rope bridge")
    page.click("#submit")
    error = page.locator("#form-error")
    expect(error).to_contain_text("Could not reach the server")
    expect(page.locator("#submit")).to_be_enabled()

    response = studio.submit(f"{token} a lantern on a rope bridge")
    assert response.status == 201
    assert keys[0] == keys[1]
    expect(error).to_be_hidden()
    expect(page.locator("#job-list > li")).to_have_count(1)
    assert len(api.list(q=token)) == 1


def test_studio_that_cannot_load_its_config_offers_a_retry(studio, page):
    failures = [1]

    def config(route):
        if failures:
            failures.pop()
            route.fulfill(status=503, json={"error": {"code": "unavailable", "message": "Down"}})
        else:
            route.continue_()

    page.route("**/api/config", config)
    page.goto("/")
    banner = page.locator("#boot-error")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("could not start")
    expect(page.locator("#submit")).to_be_disabled()
    page.click("#boot-retry")
    expect(banner).to_be_hidden()
    expect(page.locator("#submit")).to_be_enabled()
    expect(page.locator('input[name="size"]')).to_have_count(2)
