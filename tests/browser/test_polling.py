"""Live updates: fast while pending, silent when idle, paused when hidden, resilient."""

import time

import pytest
from playwright.sync_api import expect

from .fakes import fake_job

pytestmark = pytest.mark.browser


def watch_api(page):
    seen = []

    def record(request):
        if "/api/videos" in request.url:
            seen.append((time.monotonic(), request.url))

    page.on("request", record)
    return seen


def test_polling_stops_when_nothing_is_pending(studio, page, token):
    studio.open(token)
    seen = watch_api(page)
    job = studio.submit(f"{token} waves on a pebble beach").json()["job"]
    studio.wait_status(job["id"], "completed")
    polls = [u for _, u in seen if u.endswith(f"/api/videos/{job['id']}")]
    assert polls, "the pending job was never polled on its own"

    page.wait_for_timeout(1000)
    quiet_from = len(seen)
    page.wait_for_timeout(6000)
    assert seen[quiet_from:] == [], "still polling with nothing pending"


# A fully scripted backend for one pending job, to check timing precisely.
class FakeJob:
    def __init__(self):
        self.job = fake_job(2, prompt="scripted job")
        # A finished job beside it: its card must never be touched by polling.
        self.done = fake_job(1, prompt="finished job", status="failed", error_code="timeout")
        self.polls = []
        self.fail = False

    def install(self, page):
        page.route("**/api/videos?*", self.listing)
        page.route(f"**/api/videos/{self.job['id']}", self.answer)

    def listing(self, route):
        route.fulfill(json={"jobs": [self.job, self.done], "next_cursor": None})

    def answer(self, route):
        self.polls.append(time.monotonic())
        if self.fail:
            route.fulfill(status=503, json={"error": {"code": "unavailable", "message": "down"}})
        else:
            route.fulfill(json={"job": self.job})


def set_hidden(page, hidden):
    page.evaluate(
        """(hidden) => {
          Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
          document.dispatchEvent(new Event('visibilitychange'));
        }""",
        hidden,
    )


def test_poller_backs_off_pauses_when_hidden_and_survives_errors(studio, page):
    fake = FakeJob()
    fake.install(page)
    seen = watch_api(page)
    studio.open()
    card = studio.card(fake.job["id"])
    expect(card.locator(".pct")).to_have_text("10%")
    # Cards are finished once, when first near the viewport (why it failed, the prompt's tools).
    expect(studio.card(fake.done["id"]).locator(".failure-title")).to_be_visible()
    expect(studio.card(fake.done["id"]).locator(".tools")).to_be_visible()
    page.evaluate(
        """(id) => {
          window.__touched = 0;
          new MutationObserver((records) => { window.__touched += records.length; }).observe(
            document.getElementById(`job-${id}`),
            { subtree: true, childList: true, attributes: true, characterData: true });
        }""",
        fake.done["id"],
    )

    # Unchanged job: polls back off from 2 s toward 10 s.
    page.wait_for_timeout(9000)
    gaps = [b - a for a, b in zip(fake.polls, fake.polls[1:], strict=False)]
    assert 2 <= len(fake.polls) <= 5, fake.polls
    assert gaps == sorted(gaps), gaps
    assert gaps[0] >= 1.5

    # Hidden tab: no polling at all.
    set_hidden(page, True)
    hidden_at = len(fake.polls)
    page.wait_for_timeout(5000)
    assert len(fake.polls) == hidden_at
    # Back: polls at once.
    set_hidden(page, False)
    page.wait_for_timeout(800)
    assert len(fake.polls) == hidden_at + 1

    # Server trouble: an unobtrusive notice, then recovery.
    fake.fail = True
    fake.job = {**fake.job, "progress": 60, "updated_at": "2026-11-24T12:00:30Z"}
    notice = page.locator("#notice")
    expect(notice).to_contain_text("Reconnecting", timeout=15000)
    fake.fail = False
    expect(card.locator(".pct")).to_have_text("60%", timeout=20000)
    expect(notice).to_be_hidden()

    # Saving: in progress at 100 %.
    fake.job = {**fake.job, "progress": 100, "updated_at": "2026-11-24T12:00:40Z"}
    expect(card.locator(".badge")).to_have_text("Saving…", timeout=15000)

    # Finished: polling stops.
    fake.job = {
        **fake.job,
        "status": "failed",
        "error_code": "timeout",
        "error_message": "took too long",
        "updated_at": "2026-11-24T12:01:00Z",
    }
    expect(card).to_have_attribute("data-status", "failed", timeout=15000)
    expect(card.locator(".failure-title")).to_have_text("Took too long")
    done_at = len(fake.polls)
    page.wait_for_timeout(5000)
    assert len(fake.polls) == done_at
    assert not [u for _, u in seen if u.endswith(fake.done["id"])], "a finished job was polled"
    expect(studio.card(fake.done["id"])).to_be_visible()
    assert page.evaluate("window.__touched") == 0, "an unchanged card was re-rendered"
