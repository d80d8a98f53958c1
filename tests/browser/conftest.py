"""Browser tests: one local stack and one headless Chromium for all of tests/browser.

Set STUDIO_URL to run against an already running server (e.g. `make run`) instead of
starting devserver.stack.LocalStack. CHROMIUM_PATH overrides the browser binary.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from .stack_api import Api

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # devserver, chalicelib, simulator
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Fast enough for a short suite, slow enough that a card is seen queued and in progress:
# an 8 s clip renders in (2 + 2 * 8) / 4 = 4.5 s. The backend refreshes a pending job at
# most once per POLL_INTERVAL_SECONDS (on GET, by the refresher loop, or by webhook).
SIMULATOR_SPEED = float(os.environ.get("STUDIO_SIMULATOR_SPEED", "4"))
BACKEND_POLL_SECONDS = "1"
# Room for a test's whole batch at once (the quota itself is tested in test_auth_ui).
USER_MAX_PENDING_JOBS = "40"


@pytest.fixture(autouse=True)
def _no_stray_endpoint():
    """Overrides the suite-wide fixture that unsets AWS_ENDPOINT_URL for moto's in-process
    mocks: the local stack started here needs it to reach its own moto server."""


# Package scope: the stack and its threads are gone before other test packages run.
@pytest.fixture(scope="package")
def studio_url(tmp_path_factory) -> str:
    external = os.environ.get("STUDIO_URL")
    if external:
        yield external.rstrip("/")
        return
    from devserver.stack import LocalStack

    saved_env = dict(os.environ)
    for name in ("AWS_PROFILE", "OPENAI_API_KEY", "VIDEOS_API_KEY", "MODEL_CATALOG_JSON"):
        os.environ.pop(name, None)  # always the simulator and the default catalog
    os.environ["POLL_INTERVAL_SECONDS"] = BACKEND_POLL_SECONDS
    os.environ["USER_MAX_PENDING_JOBS"] = USER_MAX_PENDING_JOBS
    stack = LocalStack(
        port=0,
        data_dir=tmp_path_factory.mktemp("stack"),
        simulator_speed=SIMULATOR_SPEED,
    )
    stack.start()
    try:
        yield stack.url.rstrip("/")
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved_env)


@pytest.fixture(scope="package")
def browser() -> Browser:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def api(studio_url) -> Api:
    return Api(studio_url)


@pytest.fixture(autouse=True)
def _idle(request):
    """Tests that use the stack start with no pending jobs: none sees another's cards polled,
    and each has the whole pending quota."""
    if "studio_url" in request.fixturenames and not os.environ.get("STUDIO_URL"):
        request.getfixturevalue("api").cancel_pending()


@pytest.fixture
def token() -> str:
    """A word unique to one test, to put in prompts and search for."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def page(browser, studio_url) -> Page:
    context = browser.new_context(
        base_url=studio_url,
        viewport={"width": 1360, "height": 900},
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.js_errors = errors
    page.dialogs = dialogs
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


class Studio:
    """The studio page, driven the way a user drives it."""

    def __init__(self, page: Page):
        self.page = page

    def open(self, query: str = "") -> Studio:
        self.page.goto("/")
        self.page.wait_for_selector("#submit:not([disabled])")
        self.settled()
        if query:
            self.search(query)
        return self

    def settled(self) -> None:
        self.page.wait_for_selector('#job-list[aria-busy="false"]', state="attached")

    def search(self, text: str) -> None:
        with self.page.expect_response(lambda r: "/api/videos?" in r.url):
            self.page.fill("#search", text)
        self.settled()

    def filter_status(self, status: str) -> None:
        with self.page.expect_response(lambda r: "/api/videos?" in r.url):
            self.page.select_option("#status-filter", status)
        self.settled()

    def submit(self, prompt: str, *, size: str | None = None, seconds: int | None = None):
        """Fill the form and press Generate; returns the API response to the POST."""
        page = self.page
        page.fill("#prompt", prompt)
        if size:
            page.check(f'input[name="size"][value="{size}"]')
        if seconds:
            page.check(f'input[name="seconds"][value="{seconds}"]')
        with page.expect_response(
            lambda r: r.request.method == "POST" and "/api/videos" in r.url
        ) as info:
            page.click("#submit")
        return info.value

    def card(self, job_id: str):
        return self.page.locator(f'[id="job-{job_id}"]')

    def screenshot(self, name: str = "studio.png") -> Path:
        """A full-page screenshot into test-artifacts/ (git-ignored)."""
        page = self.page
        # Offscreen cards are not painted (content-visibility: auto) and their videos are only
        # created near the viewport: make the viewport as tall as the page first.
        size = page.viewport_size
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": min(height, 12_000)})
        page.wait_for_timeout(2000)  # posters and first frames
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size(size)
        return path

    def wait_status(self, job_id: str, status: str, timeout: float = 60_000):
        card = self.page.locator(f'[id="job-{job_id}"][data-status="{status}"]')
        card.wait_for(timeout=timeout)
        return card


@pytest.fixture
def studio(page) -> Studio:
    return Studio(page)
