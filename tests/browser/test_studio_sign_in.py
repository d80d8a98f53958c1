"""Issue 16, token sign-in as a new user meets it: dismissing the dialog leaves an error with
a way to sign in (not "No videos yet."), signing in later through Generate reloads the
whole history, and a wrong token is said to be refused. Its own `python -m devserver`
(AUTH_MODE=token, see auth_support.py)."""

from __future__ import annotations

import json

import pytest
import requests
from playwright.sync_api import expect

from chalicelib.auth.access import token_hash

from .auth_support import StackProcess
from .test_auth_ui import TOKEN_REFUSED, WRONG_TOKEN, open_page, sign_in_dialog

pytestmark = pytest.mark.browser

TOKEN = "studio-test-token-bob-5555555555"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = StackProcess(
        tmp_path_factory.mktemp("sign-in-stack"),
        {"AUTH_MODE": "token", "AUTH_TOKENS": json.dumps({token_hash(TOKEN): "bob"})},
    ).start()
    yield stack
    stack.stop()


def test_cancelled_sign_in_then_generate_signs_in_and_reloads_the_history(browser, stack):
    earlier = requests.post(
        f"{stack.url}/api/videos",
        json={"prompt": "made earlier, from a script", "seconds": 4},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert earlier.status_code == 201, earlier.text
    earlier = earlier.json()["job"]
    context, page, errors = open_page(browser, stack.url)
    try:
        page.goto("/")
        dialog = sign_in_dialog(page)
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
        # What happened, and a way on: not an empty history.
        expect(page.locator("#list-error")).to_contain_text("Could not load your videos")
        expect(page.locator("#empty")).to_be_hidden()
        header = page.locator("#sign-out")
        expect(header).to_have_text("Sign in")

        # The header's Sign in asks again; a wrong token is said to be refused.
        header.click()
        field = dialog.get_by_label("Access token")
        field.fill(WRONG_TOKEN)
        field.press("Enter")
        expect(dialog.get_by_role("alert")).to_have_text(TOKEN_REFUSED)
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)

        # Generate asks for the token, sends the video, and the history reloads: both shown.
        page.fill("#prompt", "made now, in the studio")
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.status == 201
        ) as created:
            page.click("#submit")
            field = sign_in_dialog(page).get_by_label("Access token")
            field.fill(TOKEN)
            field.press("Enter")
        job = created.value.json()["job"]
        expect(page.locator(f'[id="job-{job["id"]}"]')).to_be_visible()
        expect(page.locator(f'[id="job-{earlier["id"]}"]')).to_be_visible()
        expect(page.locator("#list-error")).to_be_hidden()
        expect(page.locator("#spend")).to_have_text("2 videos shown")
        expect(page.locator("#usage")).to_contain_text("In progress")
        expect(header).to_have_text("Sign out")
    finally:
        context.close()
    assert not errors, errors


def test_a_refusal_that_comes_in_after_cancel_does_not_ask_again(browser, stack):
    """The page's first requests all meet 401; one whose answer is slow (a loaded server)
    arrives after the user cancelled the sign-in: it fails quietly, no second dialog."""
    context, page, errors = open_page(browser, stack.url)
    held = []
    page.route("**/api/usage", lambda route: held.append(route))  # answered after Cancel
    try:
        page.goto("/")
        dialog = sign_in_dialog(page)
        expect(dialog).to_be_visible()
        expect(page.locator("#usage")).to_be_hidden()
        for _ in range(100):  # until the page has asked for its usage (a route is held)
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the page did not ask for its usage"
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
        with page.expect_response("**/api/usage"):
            held[0].continue_()
        expect(page.locator("#list-error")).to_contain_text("Could not load your videos")
        page.wait_for_timeout(300)  # what the late 401 would have opened
        expect(dialog).to_have_count(0)
        # Asked for again, by the user, it does open.
        page.locator("#sign-out").click()
        expect(dialog).to_be_visible()
    finally:
        context.close()
    assert not errors, errors
