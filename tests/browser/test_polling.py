"""Live updates: fast while pending, silent when idle, paused when hidden, resilient.

The page's timers run on Playwright's clock: `PageClock.run` moves the page's time on by
hand, so the backoff is checked to the step and no test waits out real seconds."""

import itertools

import pytest
from playwright.sync_api import Page, expect

from .fakes import fake_job

pytestmark = pytest.mark.browser

STEP_MS = 250  # how far the page's clock moves at a time
BACKOFF_MS = [2000, 3000, 4500, 6750, 10_000]  # poller.js: FAST, then x1.5 up to SLOW


class PageClock:
    """The page's time, paused and moved on by hand. Each step waits until the requests it
    started are answered and the page has read them, so the next timers are set from the
    right time however slow the machine is. `requests` are stamped by the page itself."""

    def __init__(self, page: Page):
        self.page = page
        self.paused_at = None  # the page's Date.now() when paused
        self._open = 0
        page.on("request", lambda request: self._count(request, 1))
        page.on("requestfinished", lambda request: self._count(request, -1))
        page.on("requestfailed", lambda request: self._count(request, -1))
        page.add_init_script(
            """(() => {
              const fetch = window.fetch;
              window.__requests = [];
              window.fetch = (input, init) => {
                window.__requests.push([Date.now(), String(input.url ?? input)]);
                return fetch(input, init);
              };
            })()"""
        )
        page.clock.install()  # time flows as usual until pause()

    def _count(self, request, change: int) -> None:
        if "/api/" in request.url:
            self._open += change

    @property
    def now(self) -> int:
        """Milliseconds of the page's time since pause()."""
        return self.page.evaluate("Date.now()") - self.paused_at

    def pause(self) -> None:
        # A little ahead: the page's time flows on while this call travels. Python's clock
        # API takes seconds.
        self.page.clock.pause_at((self.page.evaluate("Date.now()") + 500) / 1000)
        self.paused_at = self.page.evaluate("Date.now()")
        self._settle()

    def run(self, ms: int, until=None) -> int:
        """Move time on by up to `ms`, stopping once `until()` holds; the time it took."""
        started = self.now
        while self.now - started < ms:
            if until is not None and until():
                return self.now - started
            self.page.clock.run_for(STEP_MS)
            self._settle()
        assert until is None or until(), f"not so within {ms} ms of the page's time"
        return self.now - started

    def _settle(self) -> None:
        for _ in range(3000):  # a request never answered fails the test, not hangs it
            if not self._open:
                break
            self.page.wait_for_timeout(10)  # Playwright's own (real) time
        assert not self._open, f"{self._open} request(s) of the page never answered"
        self.page.evaluate("0")  # the page has run what the answers started

    def since(self, at: int | None, url_end: str = "") -> list[int]:
        """When the page asked for URLs ending `url_end`, after `at` (None: since it loaded)."""
        stamped = self.page.evaluate("window.__requests")
        times = [t - (self.paused_at or 0) for t, url in stamped if url.endswith(url_end)]
        return [t for t in times if at is None or t > at]


def test_polling_stops_when_nothing_is_pending(studio, page, token):
    clock = PageClock(page)
    studio.open(token)
    job = studio.submit(f"{token} waves on a pebble beach").json()["job"]
    studio.wait_status(job["id"], "completed")  # the real render, in real time
    assert clock.since(None, f"/api/videos/{job['id']}"), "the pending job was never polled"

    clock.pause()
    quiet_from = clock.now
    clock.run(60_000)
    assert clock.since(quiet_from) == [], "still polling with nothing pending"


# A fully scripted backend for one pending job, to check timing precisely.
class FakeJob:
    def __init__(self):
        self.job = fake_job(2, prompt="scripted job")
        # A finished job beside it: its card must never be touched by polling.
        self.done = fake_job(1, prompt="finished job", status="failed", error_code="timeout")
        self.fail = False

    def install(self, page):
        page.route("**/api/videos?*", self.listing)
        page.route(f"**/api/videos/{self.job['id']}", self.answer)

    def listing(self, route):
        route.fulfill(json={"jobs": [self.job, self.done], "next_cursor": None})

    def answer(self, route):
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
    clock = PageClock(page)
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
    clock.pause()
    polls = f"/api/videos/{fake.job['id']}"

    # Unchanged job: polls back off by half each time, from 2 s up to 10 s. A gap may be up
    # to a step long: the next poll is set when the answer is read, at the end of a step.
    start = clock.now
    clock.run(40_000)
    times = clock.since(start, polls)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    first = min(range(len(BACKOFF_MS)), key=lambda k: abs(BACKOFF_MS[k] - gaps[0]))
    expected = (BACKOFF_MS + [BACKOFF_MS[-1]] * len(gaps))[first : first + len(gaps)]
    assert all(0 <= gap - want <= STEP_MS for gap, want in zip(gaps, expected, strict=True)), (
        gaps,
        expected,
    )
    assert expected[-2:] == [10_000, 10_000], gaps

    # Hidden tab: no polling at all.
    set_hidden(page, True)
    hidden_at = clock.now
    clock.run(60_000)
    assert clock.since(hidden_at, polls) == []
    # Back: polls at once.
    set_hidden(page, False)
    clock.run(STEP_MS)
    assert len(clock.since(hidden_at, polls)) == 1

    # Server trouble: an unobtrusive notice, then recovery.
    fake.fail = True
    fake.job = {**fake.job, "progress": 60, "updated_at": "2026-11-24T12:00:30Z"}
    notice = page.locator("#notice")
    clock.run(30_000, until=lambda: "Reconnecting" in (notice.text_content() or ""))
    fake.fail = False
    clock.run(60_000, until=lambda: card.locator(".pct").text_content() == "60%")
    expect(notice).to_be_hidden()

    # Saving: in progress at 100 %.
    fake.job = {**fake.job, "progress": 100, "updated_at": "2026-11-24T12:00:40Z"}
    clock.run(15_000, until=lambda: card.locator(".badge").text_content() == "Saving…")

    # Finished: polling stops.
    fake.job = {
        **fake.job,
        "status": "failed",
        "error_code": "timeout",
        "error_message": "took too long",
        "updated_at": "2026-11-24T12:01:00Z",
    }
    clock.run(15_000, until=lambda: card.get_attribute("data-status") == "failed")
    expect(card.locator(".failure-title")).to_have_text("Took too long")
    done_at = clock.now
    clock.run(60_000)
    assert clock.since(done_at, polls) == []
    assert not clock.since(None, fake.done["id"]), "a finished job was polled"
    expect(studio.card(fake.done["id"])).to_be_visible()
    assert page.evaluate("window.__touched") == 0, "an unchanged card was re-rendered"
