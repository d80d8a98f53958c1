"""History: server-side search and status filter, paging, the summary, empty states."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAGE_SIZE = 24  # what the page asks for (limit=) per request


def card_ids(page):
    return page.eval_on_selector_all("#job-list > li", "els => els.map(e => e.dataset.id)")


def test_search_and_status_filter_are_server_side(studio, page, api, token):
    ok1 = api.create(f"{token} alpha meadow")
    ok2 = api.create(f"{token} ALPHA river")
    bad = api.create(f"{token} alpha [fail:moderation]")
    api.create(f"{token} beta canyon")
    for job in (ok1, ok2):
        api.wait(job["id"])
    api.wait(bad["id"], "failed")

    studio.open()
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/api/videos?" in r.url else None)

    studio.search(f"{token} alpha")
    assert "q=" in requests[-1] and token in requests[-1]
    assert sorted(card_ids(page)) == sorted(j["id"] for j in (ok1, ok2, bad))

    studio.filter_status("failed")
    assert "status=failed" in requests[-1]
    shown = card_ids(page)
    assert shown == [j["id"] for j in api.list(q=f"{token} alpha", status="failed")]
    assert shown == [bad["id"]], [api.get(i) for i in shown]

    studio.filter_status("completed")
    shown = card_ids(page)
    assert sorted(shown) == sorted([ok1["id"], ok2["id"]]), [api.get(i) for i in shown]
    expect(page.locator("#spend")).to_have_text("2 videos shown")

    studio.search(f"{token} nothing-like-this")
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#empty-title")).to_have_text("No videos match.")
    clear = page.locator("#clear-filters")
    expect(clear).to_be_visible()
    with page.expect_response(lambda r: "/api/videos?" in r.url):
        clear.click()
    studio.settled()
    expect(page.locator("#search")).to_have_value("")
    expect(page.locator("#status-filter")).to_have_value("")
    expect(page.locator("#empty")).to_be_hidden()
    assert "q=" not in requests[-1] and "status=" not in requests[-1]


def test_load_more_across_a_page_boundary(studio, page, api, token):
    total = PAGE_SIZE + 6
    # Blocked prompts end quickly and render nothing: paging is what is tested here.
    prompts = [f"{token} batch clip {i:02d} [fail:moderation]" for i in range(total)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        created = list(pool.map(api.create, prompts))
    api.wait_idle()
    newest_first = [j["id"] for j in api.list(q=token)]
    assert sorted(newest_first) == sorted(j["id"] for j in created)

    studio.open(token)
    assert card_ids(page) == newest_first[:PAGE_SIZE]
    more = page.locator("#load-more")
    expect(more).to_be_visible()
    with page.expect_response(lambda r: "cursor=" in r.url):
        more.click()
    studio.settled()
    assert card_ids(page) == newest_first
    expect(more).to_be_hidden()
    expect(page.locator("#spend")).to_have_text(f"{total} videos shown")


def test_new_user_sees_what_to_do(studio, page):
    page.route(
        "**/api/videos?*",
        lambda route: route.fulfill(json={"jobs": [], "next_cursor": None}),
    )
    studio.open()
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#empty-title")).to_have_text("No videos yet.")
    expect(page.locator("#empty-text")).to_contain_text("Generate video")
    expect(page.locator("#clear-filters")).to_be_hidden()
    expect(page.locator("#load-more")).to_be_hidden()
    expect(page.locator("#spend")).to_have_text("")


def test_a_failed_listing_can_be_retried(studio, page, api, token):
    job = api.create(f"{token} retried listing")
    failures = [1]

    def listing(route):
        if failures:
            failures.pop()
            route.fulfill(status=503, json={"error": {"code": "unavailable", "message": "Down"}})
        else:
            route.continue_()

    page.route("**/api/videos?*", listing)
    page.goto("/")
    error = page.locator("#list-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Could not load your videos")
    with page.expect_response(lambda r: "/api/videos?" in r.url):
        error.get_by_role("button", name="Try again").click()
    expect(error).to_be_hidden()
    expect(studio.card(job["id"])).to_be_visible()
