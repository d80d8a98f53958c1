"""Sign-in in the browser: AUTH_MODE=token (a typed access token) and AUTH_MODE=cognito (the
hosted UI, authorization code + PKCE, against a fake user pool on loopback), the budget line
and quota errors. Each mode runs its own `python -m devserver` process (see auth_support.py),
so nothing here changes this process's environment or the shared in-process stack."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Page, expect

from chalicelib.auth.access import token_hash

from .auth_support import FakeCognito, StackProcess

pytestmark = pytest.mark.browser

GOOD_TOKEN = "studio-test-token-alice-0123456789"
EXPIRED_TOKEN = "studio-test-token-old-9876543210"
WRONG_TOKEN = "not-a-token-anyone-was-given"
SIGN_IN_REQUIRED = "Sign in to continue: a valid access token is required."
TOKEN_REFUSED = (
    "That access token was refused. Check that you pasted all of it, or ask for a new one."
)

PLAY = """
async (id) => {
  const v = document.querySelector(`[id="job-${id}"] video`);
  v.muted = true;
  await v.play();
  if (v.readyState < 2) await new Promise((r) => v.addEventListener('playing', r, { once: true }));
  v.pause();
  return { readyState: v.readyState, duration: v.duration, src: v.currentSrc };
}
"""


@pytest.fixture(scope="module")
def token_stack(tmp_path_factory):
    tokens = {
        token_hash(GOOD_TOKEN): "alice",
        token_hash(EXPIRED_TOKEN): {"user": "alice", "expires_at": "2020-01-01T00:00:00Z"},
    }
    stack = StackProcess(
        tmp_path_factory.mktemp("token-stack"),
        {
            "AUTH_MODE": "token",
            "AUTH_TOKENS": json.dumps(tokens),
            "USER_MAX_PENDING_JOBS": "1",
            "USER_DAILY_BUDGET_USD": "1",
        },
    ).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def fake_cognito():
    fake = FakeCognito().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def cognito_stack(tmp_path_factory, fake_cognito):
    stack = StackProcess(
        tmp_path_factory.mktemp("cognito-stack"),
        {
            "AUTH_MODE": "cognito",
            "COGNITO_USER_POOL_ID": fake_cognito.pool_id,
            "COGNITO_CLIENT_ID": fake_cognito.client_id,
            "COGNITO_DOMAIN": fake_cognito.url,
            "COGNITO_JWKS_URL": f"{fake_cognito.url}/jwks.json",
        },
    ).start()
    yield stack
    stack.stop()


@pytest.fixture
def cognito(fake_cognito, cognito_stack) -> FakeCognito:
    fake_cognito.reset(redirect_uri=f"{cognito_stack.url}/")
    return fake_cognito


def open_page(browser, base_url: str):
    context = browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (errors.append(f"native dialog: {d.message}"), d.dismiss()))
    page.api_calls = []  # (method, path, Authorization header or None)

    def record(request):
        if "/api/" in request.url:
            path = request.url.split("/api", 1)[1]
            page.api_calls.append((request.method, path, request.headers.get("authorization")))

    page.on("request", record)
    return context, page, errors


@pytest.fixture
def token_page(browser, token_stack):
    context, page, errors = open_page(browser, token_stack.url)
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def cognito_page(browser, cognito):
    context, page, errors = open_page(browser, cognito.redirect_uri.rstrip("/"))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def sign_in_dialog(page: Page):
    return page.get_by_role("dialog", name="Sign in to Sora Studio")


def settled(page: Page) -> None:
    page.wait_for_selector('#job-list[aria-busy="false"]', state="attached")


def submit(page: Page, prompt: str, seconds: int | None = None):
    page.fill("#prompt", prompt)
    if seconds:
        page.check(f'input[name="seconds"][value="{seconds}"]')
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/api/videos")
    ) as info:
        page.click("#submit")
    return info.value


def stored(page: Page, key: str):
    return page.evaluate("(k) => sessionStorage.getItem(k)", key)


# -- token mode ---------------------------------------------------------------------------


def test_token_sign_in_then_create_play_budget_and_quota(token_page, token_stack):
    page = token_page
    page.goto("/")
    dialog = sign_in_dialog(page)
    expect(dialog).to_be_visible()
    field = dialog.get_by_label("Access token")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("type", "password")
    expect(page.locator("#sign-out")).to_have_text("Sign in")

    # A wrong token: said to be refused, and asked again.
    page.keyboard.type(WRONG_TOKEN)
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("alert")).to_have_text(TOKEN_REFUSED)
    expect(dialog).to_be_visible()
    expect(field).to_be_focused()
    assert stored(page, "studio.token") is None

    # The right one signs in: the dialog closes, the studio loads, every /api call carries it.
    field.fill(GOOD_TOKEN)
    field.press("Enter")
    expect(dialog).to_have_count(0)
    expect(page.locator("#submit")).to_be_enabled()
    settled(page)
    expect(page.locator("#empty-title")).to_have_text("No videos yet.")
    expect(page.locator("#sign-out")).to_have_text("Sign out")
    assert json.loads(stored(page, "studio.token")) == GOOD_TOKEN
    usage = page.locator("#usage")
    expect(usage).to_have_text("Today $0.00 of $1.00 budget · All time $0.00 · In progress 0 of 1")

    response = submit(page, "A paper lantern rising over a lake at dusk")
    assert response.status == 201, response.text()
    job = response.json()["job"]
    expect(usage).to_have_text("Today $0.40 of $1.00 budget · All time $0.40 · In progress 1 of 1")

    # Over the pending limit: a clear message, nothing queued.
    response = submit(page, "A second clip while the first still renders")
    assert response.status == 429
    error = page.locator("#form-error")
    expect(error).to_contain_text("You already have 1 video in progress; wait for one to finish.")

    # The job completes and plays: its media URL is signed, so <video> needs no header.
    page.locator(f'[id="job-{job["id"]}"][data-status="completed"] video').wait_for(timeout=60_000)
    played = page.evaluate(PLAY, job["id"])
    assert played["readyState"] >= 2 and played["duration"] > 3, played
    assert "sig=" in played["src"], played
    media = [c for c in page.api_calls if "/media" in c[1]]
    assert media and all(auth is None for _, _, auth in media), media
    expect(usage).to_have_text("Today $0.40 of $1.00 budget · All time $0.40 · In progress 0 of 1")

    # Over the daily budget: $1.20 for 12 s would pass the $1.00 budget.
    response = submit(page, "A long slow pan across a mountain range", seconds=12)
    assert response.status == 429
    assert response.json()["error"]["code"] == "daily_budget_exceeded"
    expect(error).to_contain_text("past today's budget of $1.00")
    expect(error).to_contain_text("resets at midnight UTC")

    # The global cap, as the server words it (scripted: one user cannot reach it here).
    busy = "The studio is rendering as many videos as it allows; try again shortly."
    page.route(
        "**/api/videos",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "30"},
            json={"error": {"code": "server_busy", "message": busy}},
        ),
    )
    submit(page, "A clip while the studio is full")
    expect(error).to_have_text(
        re.compile(r"^The studio is rendering as many videos as it allows\. Try again in \d+ s\.$")
    )
    page.unroute("**/api/videos")

    api = [c for c in page.api_calls if "/media" not in c[1] and c[1] != "/config"]
    signed_in = api[api.index(("GET", "/usage", f"Bearer {WRONG_TOKEN}")) + 1 :]
    assert {auth for _, _, auth in signed_in} == {f"Bearer {GOOD_TOKEN}"}, signed_in


def test_token_rejected_mid_session_asks_again_and_sign_out_forgets_it(token_page):
    page = token_page
    page.goto("/")
    page.evaluate("(t) => sessionStorage.setItem('studio.token', JSON.stringify(t))", GOOD_TOKEN)
    page.reload()
    settled(page)
    expect(sign_in_dialog(page)).to_have_count(0)
    expect(page.locator("#sign-out")).to_be_visible()

    # The kept token stops working (here: swapped for an expired one): the next call gets a
    # 401, the token is dropped and the dialog says why; signing in retries that call.
    page.evaluate("(t) => sessionStorage.setItem('studio.token', JSON.stringify(t))", EXPIRED_TOKEN)
    with page.expect_response(lambda r: "/api/videos?" in r.url and r.status == 200):
        page.select_option("#status-filter", "failed")
        dialog = sign_in_dialog(page)
        expect(dialog.get_by_role("alert")).to_have_text(
            "Your access token has expired; ask for a new one."
        )
        assert stored(page, "studio.token") is None
        dialog.get_by_label("Access token").fill(GOOD_TOKEN)
        dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_have_count(0)
    settled(page)
    expect(page.locator("#list-error")).to_be_hidden()

    # Dismissing the dialog leaves a readable error with a retry, not a broken page.
    page.evaluate("sessionStorage.setItem('studio.token', JSON.stringify('revoked'))")
    page.select_option("#status-filter", "")
    dialog = sign_in_dialog(page)
    expect(dialog.get_by_role("alert")).to_have_text(SIGN_IN_REQUIRED)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.locator("#list-error")).to_contain_text(SIGN_IN_REQUIRED)
    page.click("#list-retry")
    dialog.get_by_label("Access token").fill(GOOD_TOKEN)
    dialog.get_by_label("Access token").press("Enter")
    expect(page.locator("#list-error")).to_be_hidden()

    # Sign out: the token is gone and the page asks again from a clean slate.
    page.click("#sign-out")
    expect(sign_in_dialog(page)).to_be_visible()
    expect(sign_in_dialog(page).get_by_role("alert")).to_be_hidden()
    assert stored(page, "studio.token") is None
    expect(page.locator("#sign-out")).to_have_text("Sign in")


# -- cognito mode -------------------------------------------------------------------------


def sign_in_with_hosted_ui(page: Page, cognito: FakeCognito) -> None:
    page.goto("/")
    dialog = sign_in_dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("alert")).to_be_hidden()
    page.api_calls.clear()
    with page.expect_navigation(url=f"{cognito.redirect_uri}?code=*"):
        dialog.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-out")).to_be_visible()
    settled(page)


def test_cognito_sign_in_round_trip_and_refresh_before_expiry(cognito_page, cognito):
    page = cognito_page
    cognito.access_lifetime = 4  # the page renews it once less than half its life is left
    sign_in_with_hosted_ui(page, cognito)

    # Landed signed in, the code and state gone from the URL and the PKCE secrets used up.
    assert page.url == cognito.redirect_uri
    assert stored(page, "studio.pkce") is None
    (authorize,) = cognito.authorize_requests
    assert authorize["code_challenge_method"] == "S256" and authorize["scope"] == "openid"
    assert cognito.grants == [("authorization_code", 200)]  # the verifier matched the challenge
    expect(page.locator("#empty-title")).to_have_text("No videos yet.")
    expect(page.locator("#usage")).to_contain_text("budget · All time")
    first = cognito.access_tokens[0]
    calls = [c for c in page.api_calls if c[1] != "/config"]
    assert calls and all(auth == f"Bearer {first}" for _, _, auth in calls), calls

    # Past half of the short lifetime, the next call first refreshes the access token.
    page.wait_for_timeout(2500)
    with page.expect_response(lambda r: "/api/videos?" in r.url) as info:
        page.select_option("#status-filter", "completed")
    assert info.value.status == 200
    assert cognito.grants[-1] == ("refresh_token", 200)
    assert info.value.request.headers["authorization"] == f"Bearer {cognito.access_tokens[-1]}"
    assert cognito.access_tokens[-1] != first
    assert all(r.status != 401 for r in [info.value])


def test_cognito_401_refreshes_once_then_sign_out(cognito_page, cognito):
    page = cognito_page
    statuses: list[tuple[str, int]] = []
    page.on("response", lambda r: statuses.append((r.url, r.status)) if "/api/" in r.url else None)
    # The code grant's access token is already expired for the API (expires_in still says
    # an hour, so the page cannot know): the 401 makes it refresh once and retry.
    cognito.expired_on_code = True
    sign_in_with_hosted_ui(page, cognito)
    expect(page.locator("#list-error")).to_be_hidden()
    expect(page.locator("#empty-title")).to_have_text("No videos yet.")
    assert any(status == 401 for _, status in statuses), statuses
    assert ("refresh_token", 200) in cognito.grants
    assert len([g for g in cognito.grants if g[0] == "refresh_token"]) == 1, cognito.grants
    fresh = cognito.access_tokens[-1]
    last_list = [c for c in page.api_calls if c[1].startswith("/videos?")][-1]
    assert last_list[2] == f"Bearer {fresh}"
    session = json.loads(stored(page, "studio.session"))
    refresh_token = session["refresh"]

    # Sign out: tokens dropped, the refresh token revoked, the hosted UI's logout, back here.
    with page.expect_navigation(url=cognito.redirect_uri):
        page.click("#sign-out")
    expect(sign_in_dialog(page)).to_be_visible()
    assert stored(page, "studio.session") is None
    (logout,) = cognito.logouts
    assert logout == {"client_id": cognito.client_id, "logout_uri": cognito.redirect_uri}
    deadline = time.monotonic() + 5
    while not cognito.revoked and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cognito.revoked == [refresh_token]

    # Signed in again with a refresh token the pool no longer honours: after the 401 the
    # page asks to sign in again, with the API's reason.
    cognito.refuse_refresh = True
    with page.expect_navigation(url=f"{cognito.redirect_uri}?code=*"):
        sign_in_dialog(page).get_by_role("button", name="Sign in").click()
    dialog = sign_in_dialog(page)
    expect(dialog.get_by_role("alert")).to_have_text("Your session has expired; sign in again.")
    assert stored(page, "studio.session") is None


def test_cognito_callback_with_a_forged_state_is_refused(cognito_page, cognito):
    page = cognito_page
    page.goto("/?code=stolen-code&state=forged")
    dialog = sign_in_dialog(page)
    expect(dialog.get_by_role("alert")).to_have_text(
        "Sign-in could not be verified. Please sign in again."
    )
    assert page.url == cognito.redirect_uri
    assert cognito.grants == []
    assert stored(page, "studio.session") is None
