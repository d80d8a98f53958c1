"""Issue 16, a new user's trial of the studio: each bug and UX item found, as the user meets
it. Scripted (page.route) where the backend's timing or state must be exact, against the
local stack where the real thing matters (media, search, cancel, spend)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from .fakes import fake_job
from .test_polling import set_hidden
from .test_reference_ui import colour_frame

pytestmark = pytest.mark.browser

RLO = "\u202e"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def listing(jobs):
    return lambda route: route.fulfill(json={"jobs": jobs, "next_cursor": None})


def without_model(model_id: str):
    """GET /api/config as the server answers it, minus one model (a retired one)."""

    def config(route):
        data = route.fetch().json()
        data["models"] = [m for m in data["models"] if m["id"] != model_id]
        if data["defaults"].get("model") == model_id:
            first = data["models"][0]
            data["defaults"] = {
                "model": first["id"],
                "size": first["sizes"][0],
                "seconds": first["seconds"][0],
            }
        route.fulfill(json=data)

    return config


# -- bugs ---------------------------------------------------------------------------------


def test_an_old_card_of_a_retired_model_offers_what_the_catalog_allows(studio, page, api, token):
    job = api.create(f"{token} a lighthouse in a storm", model="sora-2")
    api.wait(job["id"])
    page.route("**/api/config", without_model("sora-2"))
    studio.open(token)
    card = studio.card(job["id"])
    expect(card).to_have_attribute("data-status", "completed")
    expect(card.locator(".gone")).to_have_text(re.compile(r"^sora-2 is no longer offered"))
    expect(card.locator('[data-action="rerun"]')).to_be_hidden()
    expect(card.locator('[data-action="remix"]')).to_be_hidden()
    expect(card.locator("a.download")).to_be_visible()  # it still plays and downloads

    # Edit and run keeps the prompt and says why the model changed; nothing is sent yet.
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    card.locator('[data-action="edit"]').click()
    expect(page.locator("#prompt")).to_have_value(job["prompt"])
    expect(page.locator("#prompt")).to_be_focused()
    expect(page.locator("#model")).not_to_have_value("sora-2")
    expect(page.locator("#form-note")).to_contain_text("sora-2 is no longer offered")
    assert posts == []


def test_user_text_is_isolated_wherever_it_is_shown(studio, page, token):
    studio.open(token)
    prompt = f"{token} {RLO}reversed words"
    job = studio.submit(prompt).json()["job"]
    note = page.locator("#form-note")
    expect(note.locator("bdi")).to_have_text(prompt)
    # The quote and full stop after the prompt stay after it, on the right.
    layout = note.evaluate(
        """(p) => {
          const bdi = p.querySelector('bdi').getBoundingClientRect();
          const tail = document.createRange();
          tail.setStart(p.lastChild, p.lastChild.length - 1);
          tail.setEnd(p.lastChild, p.lastChild.length);
          return { bdiRight: bdi.right, tailLeft: tail.getBoundingClientRect().left };
        }"""
    )
    assert layout["tailLeft"] >= layout["bdiRight"] - 1, layout
    card = studio.card(job["id"])
    expect(card.locator(".prompt")).to_have_attribute("dir", "auto")
    expect(card.locator(".pending-info p").first).to_have_attribute("dir", "auto")

    studio.wait_status(job["id"], "completed")
    card.locator('[data-action="rerun"]').click()
    ask = page.get_by_role("dialog", name="Run this video again?")
    expect(ask.locator("bdi")).to_have_text(prompt)
    ask.get_by_role("button", name="Cancel").click()
    card.locator('[data-action="remix"]').click()
    expect(page.locator("#remix-source")).to_have_attribute("dir", "auto")


def test_a_poll_answered_after_a_new_search_cannot_bring_back_its_card(studio, page):
    alpha = fake_job(1, prompt="alpha pending clip", status="in_progress", progress=20)
    beta = fake_job(2, prompt="beta finished clip", status="completed")
    held = []

    def videos(route):
        q = route.request.url.split("q=")[1].split("&")[0] if "q=" in route.request.url else ""
        jobs = [j for j in (alpha, beta) if q in j["prompt"]]
        route.fulfill(json={"jobs": jobs, "next_cursor": None})

    page.route("**/api/videos?*", videos)
    page.route(f"**/api/videos/{alpha['id']}", lambda route: held.append(route))
    page.route("**/media*", lambda route: route.abort())
    studio.open()
    expect(studio.card(alpha["id"])).to_be_visible()
    deadline = time.monotonic() + 15
    while not held:  # the poll is in flight, unanswered
        assert time.monotonic() < deadline, "alpha was never polled"
        page.wait_for_timeout(100)

    studio.search("beta")
    expect(studio.card(alpha["id"])).to_have_count(0)
    held[0].fulfill(json={"job": {**alpha, "progress": 60, "updated_at": iso(datetime.now(UTC))}})
    page.wait_for_timeout(500)
    expect(studio.card(alpha["id"])).to_have_count(0)
    expect(studio.card(beta["id"])).to_be_visible()
    expect(page.locator("#spend")).to_have_text("1 video shown")


def test_a_job_that_leaves_the_status_filter_leaves_the_list(studio, page):
    job = fake_job(3, prompt="queued then rendering", status="queued", progress=0)
    page.route("**/api/videos?*", listing([job]))
    page.route(
        f"**/api/videos/{job['id']}",
        lambda route: route.fulfill(
            json={"job": {**job, "status": "in_progress", "progress": 30, "updated_at": "x"}}
        ),
    )
    page.goto("/?status=queued")
    expect(page.locator("#status-filter")).to_have_value("queued")
    expect(studio.card(job["id"])).to_have_count(1)
    expect(studio.card(job["id"])).to_have_count(0, timeout=15_000)  # polled: now rendering
    expect(page.locator("#empty-title")).to_have_text("No videos match.")


# -- feedback where the eye is ----------------------------------------------------------


def test_a_form_error_is_on_screen_at_1280x800(studio, page, token):
    page.set_viewport_size({"width": 1280, "height": 800})
    studio.open()
    response = studio.submit(f"{token} [fail:create] a broken render")
    assert response.status == 502
    expect(page.locator("#form-error")).to_be_in_viewport(ratio=1)


def test_on_a_phone_the_new_card_comes_into_view(studio, page, token):
    page.set_viewport_size({"width": 390, "height": 844})
    studio.open(token)
    job = studio.submit(f"{token} a paper boat on a puddle").json()["job"]
    expect(studio.card(job["id"])).to_be_in_viewport()
    expect(studio.card(job["id"]).locator(".badge")).to_have_text(re.compile("Queued|Generating"))


def test_a_remix_from_a_lower_card_comes_into_view(studio, page):
    jobs = [fake_job(i, prompt=f"finished clip {i}", status="completed") for i in range(12)][::-1]
    source = jobs[-1]
    made = fake_job(100, prompt="the remix", status="queued", progress=0, remixed_from=source["id"])
    made["created_at"] = iso(datetime.now(UTC))
    page.route("**/api/videos?*", listing(jobs))
    page.route("**/media*", lambda route: route.abort())
    page.route(
        f"**/api/videos/{source['id']}/remix",
        lambda route: route.fulfill(status=201, json={"job": made}),
    )
    page.route(f"**/api/videos/{made['id']}", lambda route: route.fulfill(json={"job": made}))
    page.set_viewport_size({"width": 1280, "height": 800})
    studio.open()
    lower = studio.card(source["id"])
    lower.scroll_into_view_if_needed()
    lower.locator('[data-action="remix"]').click()
    expect(page.locator("#prompt")).to_be_focused()
    page.fill("#prompt", "the remix")
    page.click("#submit")
    expect(studio.card(made["id"])).to_be_in_viewport()


def test_a_rate_limit_countdown_ends_saying_what_happened_with_a_retry(studio, page, token):
    studio.open()
    keys = []

    def busy_once(route):
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fulfill(
                status=429,
                headers={"Retry-After": "2"},
                json={"error": {"code": "rate_limited", "message": "The video service is busy."}},
            )
        else:
            route.continue_()

    page.route("**/api/videos", busy_once)
    studio.submit(f"{token} a kite at noon")
    error = page.locator("#form-error")
    expect(error).to_contain_text("Try again in")
    expect(error).to_have_text(
        "The video service is busy. You can try again now. Try again", timeout=6000
    )
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        error.get_by_role("button", name="Try again").click()
    assert info.value.status == 201
    assert keys[0] == keys[1]  # the same submission: no second render if the first landed
    expect(error).to_be_hidden()


NOTIFICATIONS = """
window.__notes = [];
class FakeNotification {
  constructor(title, options) { window.__notes.push({ title, ...options }); }
}
FakeNotification.permission = 'default';
FakeNotification.requestPermission = async () => (FakeNotification.permission = 'granted');
window.Notification = FakeNotification;
"""


def test_a_pending_card_says_what_it_makes_how_long_and_the_tab_title_follows(studio, page):
    started = datetime.now(UTC) - timedelta(seconds=20)
    job = fake_job(
        7,
        prompt="a hot air balloon over vineyards",
        status="in_progress",
        progress=40,
        seconds=8,
        created_at=iso(started),
    )
    state = {"job": job}
    page.add_init_script(NOTIFICATIONS)
    page.clock.install()
    page.route("**/api/videos?*", lambda route: route.fulfill(json={"jobs": [state["job"]]}))
    page.route(f"**/api/videos/{job['id']}", lambda route: route.fulfill(json=state))
    page.route("**/media*", lambda route: route.abort())
    studio.open()
    card = studio.card(job["id"])
    info = card.locator(".pending-info")
    expect(info).to_contain_text(job["prompt"])
    expect(info).to_contain_text("Sora 2 · 16:9 · 8 s")
    # 20 s in at 40 %: about 30 s left, from the progress.
    expect(card.locator(".eta")).to_have_text(re.compile(r"^0:2\d elapsed · about 0:[23]\d left$"))
    expect(page).to_have_title("40% · Sora Studio")

    # Notify me: asked by a button, never at load; then a video finishing in a hidden tab
    # is notified (the poll goes on, slowly, while hidden) and counted in the title.
    page.get_by_role("button", name="Notify me when videos finish").click()
    expect(page.get_by_role("button", name="Notify me when videos finish")).to_be_hidden()
    set_hidden(page, True)
    state["job"] = {
        **job,
        "status": "completed",
        "progress": 100,
        "media_url": f"/api/videos/{job['id']}/media",
        "content_ready_at": iso(datetime.now(UTC)),
        "updated_at": iso(datetime.now(UTC)),
    }
    page.clock.fast_forward(31_000)
    expect(page).to_have_title("1 ready · Sora Studio")
    notes = page.evaluate("window.__notes")
    assert notes == [{"title": "Your video is ready", "body": job["prompt"], "tag": job["id"]}]
    set_hidden(page, False)
    expect(page).to_have_title("Sora Studio")
    expect(card.locator(".pending-info")).to_have_count(0)


def test_the_estimate_comes_from_this_models_past_renders(studio, page):
    now = datetime.now(UTC)
    done = fake_job(
        1,
        status="completed",
        seconds=4,
        created_at=iso(now - timedelta(minutes=10)),
        content_ready_at=iso(now - timedelta(minutes=10) + timedelta(seconds=40)),
    )  # 10 s of rendering per second of video
    queued = fake_job(2, status="queued", progress=0, seconds=8, created_at=iso(now))
    page.route("**/api/videos?*", listing([queued, done]))
    page.route(f"**/api/videos/{queued['id']}", lambda route: route.fulfill(json={"job": queued}))
    page.route("**/media*", lambda route: route.abort())
    studio.open()
    eta = studio.card(queued["id"]).locator(".eta")
    expect(eta).to_have_text(re.compile(r"^0:0\d elapsed · about 1:[1-2]\d left$"))  # 80 s


# -- acting safely ---------------------------------------------------------------------


def test_run_again_asks_with_the_price_and_edit_and_run_loads_the_form(studio, page, api, token):
    job = api.create(
        f"{token} a glass city at night", model="sora-2-pro", size="720x1280", seconds=8
    )
    api.wait(job["id"])
    studio.open(token)
    card = studio.wait_status(job["id"], "completed")
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)

    card.locator('[data-action="rerun"]').click()
    ask = page.get_by_role("dialog", name="Run this video again?")
    expect(ask).to_contain_text("Sora 2 Pro · 9:16 · 8 s")
    expect(ask).to_contain_text("$2.40")
    expect(ask.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(ask).to_have_count(0)
    assert posts == []

    card.locator('[data-action="edit"]').click()
    expect(page.locator("#prompt")).to_have_value(job["prompt"])
    expect(page.locator("#prompt")).to_be_focused()
    expect(page.locator("#model")).to_have_value("sora-2-pro")
    expect(page.locator('input[name="size"][value="720x1280"]')).to_be_checked()
    expect(page.locator('input[name="seconds"][value="8"]')).to_be_checked()
    expect(page.locator("#cost")).to_have_text("$2.40")
    assert posts == []
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.click("#submit")
    assert info.value.request.post_data_json == {
        "prompt": job["prompt"],
        "model": "sora-2-pro",
        "size": "720x1280",
        "seconds": 8,
    }


def test_cancel_a_pending_job_beside_delete(studio, page, api, token):
    studio.open(token)
    before = json.loads(page.evaluate("fetch('/api/usage').then((r) => r.text())"))
    job = studio.submit(f"{token} a very long render to stop", seconds=12).json()["job"]
    card = studio.card(job["id"])
    cancel = card.locator('[data-action="cancel"]')
    expect(cancel).to_be_visible()
    expect(card.locator(".eta")).to_be_visible()
    tops = card.evaluate(
        """(li) => ['cancel', 'delete'].map(
          (a) => li.querySelector(`[data-action="${a}"]`).getBoundingClientRect().top)"""
    )
    assert tops[0] == tops[1], tops  # side by side
    with page.expect_response(lambda r: r.url.endswith("/cancel")) as info:
        cancel.click()
    assert info.value.status == 200
    studio.wait_status(job["id"], "failed")
    expect(card.locator(".failure-title")).to_have_text("Cancelled")
    expect(cancel).to_be_hidden()
    expect(card.locator('[data-action="edit"]')).to_be_visible()
    assert api.get(job["id"])["error_code"] == "cancelled"
    # Its estimate is back in the budget; the line under the form says so.
    expect(page.locator("#usage")).to_contain_text(f"Today ${before['spent_today_usd']:,.2f} of")


def test_a_failed_cancel_is_said_on_the_card(studio, page):
    job = fake_job(5, prompt="pending and stubborn", status="queued", progress=0)
    page.route("**/api/videos?*", listing([job]))
    page.route(f"**/api/videos/{job['id']}", lambda route: route.fulfill(json={"job": job}))
    page.route(
        f"**/api/videos/{job['id']}/cancel",
        lambda route: route.fulfill(
            status=503, json={"error": {"code": "unavailable", "message": "Down for a moment"}}
        ),
    )
    studio.open()
    card = studio.card(job["id"])
    card.locator('[data-action="cancel"]').click()
    error = card.get_by_role("alert")
    expect(error).to_contain_text("Could not cancel it. Down for a moment.")
    expect(card.locator('[data-action="cancel"]')).to_be_enabled()


def test_edit_and_run_brings_back_the_first_frame(studio, page, api, token, tmp_path):
    data_url = colour_frame(tmp_path / "frame.png", "0xc04020")
    job = api.create(f"{token} from a red first frame", input_reference=data_url)
    studio.open(token)
    studio.card(job["id"]).locator('[data-action="edit"]').click()
    expect(page.locator('.ref-crop[data-state="ready"]')).to_be_visible()
    expect(page.locator("#prompt")).to_have_value(job["prompt"])
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.click("#submit")
    assert info.value.status == 201
    assert info.value.request.post_data_json["input_reference"].startswith("data:image/jpeg")


# -- watching and finding --------------------------------------------------------------


PLAYED = """
(video) => new Promise((resolve) => {
  const done = () => resolve({ w: video.videoWidth, h: video.videoHeight,
    boxW: video.clientWidth, boxH: video.clientHeight });
  if (video.readyState >= 1) done();
  else video.addEventListener('loadedmetadata', done, { once: true });
})
"""


def test_cards_take_the_videos_shape_a_lightbox_and_hover_scrubbing(studio, page, api, token):
    wide = api.create(f"{token} wide one, a train crossing a bridge", size="1280x720")
    tall = api.create(f"{token} tall one, a waterfall", size="720x1280")
    for job in (wide, tall):
        api.wait(job["id"])
    studio.open(token)
    shapes = {}
    for job, ratio in ((wide, 720 / 1280), (tall, 1280 / 720)):
        shape = studio.card(job["id"]).locator("video").evaluate(PLAYED)
        assert shape["w"] and abs(shape["h"] / shape["w"] - ratio) < 0.01, shape
        shapes[job["id"]] = shape["boxH"] / shape["boxW"]
    assert abs(shapes[wide["id"]] - 720 / 1280) < 0.02, shapes  # exactly its shape
    # Portrait: its shape, only capped at 70 % of the window's height (here 900 px).
    assert shapes[tall["id"]] > 1.5, shapes

    # Hover scrubbing: the frame of the spritesheet under the pointer, left to right.
    video = studio.card(wide["id"]).locator("video")
    box = video.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 3)
    scrub = studio.card(wide["id"]).locator(".scrub")
    scrub.wait_for(state="attached")  # the sheet is loaded on the first pointing
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 3)
    expect(scrub).to_be_visible()
    expect(scrub).to_have_attribute("data-frame", "7")  # of 10 (the simulator's 5 x 2)
    assert "variant=spritesheet" in scrub.evaluate("(e) => e.style.backgroundImage")
    loaded = page.evaluate(
        """(url) => new Promise((ok) => {
          const i = new Image();
          i.onload = () => ok(i.naturalWidth);
          i.onerror = () => ok(0);
          i.src = url;
        })""",
        scrub.evaluate("(e) => e.style.backgroundImage.slice(5, -2)"),
    )
    assert loaded > 0
    page.mouse.move(0, 0)
    expect(scrub).to_be_hidden()

    # The lightbox: larger, the whole prompt, arrows between videos, Escape back to the card.
    enlarge = studio.card(tall["id"]).get_by_role("button", name="Watch larger")
    enlarge.click()
    box = page.get_by_role("dialog", name="Video player")
    expect(box).to_be_visible()
    expect(box.locator(".lb-prompt")).to_have_text(tall["prompt"])
    expect(box.locator(".lb-count")).to_have_text("1 of 2")
    big = box.locator("video").bounding_box()
    small = studio.card(tall["id"]).locator("video").bounding_box()
    assert big["height"] > small["height"] * 1.1, (big, small)  # portrait: height is its size
    page.keyboard.press("ArrowRight")
    expect(box.locator(".lb-prompt")).to_have_text(wide["prompt"])
    expect(box.locator(".lb-count")).to_have_text("2 of 2")
    expect(box.get_by_role("button", name="Next →")).to_be_disabled()
    page.keyboard.press("ArrowLeft")
    expect(box.locator(".lb-prompt")).to_have_text(tall["prompt"])
    page.keyboard.press("Escape")
    expect(box).to_be_hidden()
    expect(enlarge).to_be_focused()


def test_search_takes_every_word_in_any_order_and_lives_in_the_url(studio, page, api, token):
    both = api.create(f"{token} a golden retriever running at sunset", model="sora-2")
    api.create(f"{token} sunset over a calm sea", model="sora-2")
    pro = api.create(f"{token} a retriever puppy asleep", model="sora-2-pro")
    for job in (both, pro):
        api.wait(job["id"])
    studio.open()
    studio.search(f"sunset retriever {token}")
    assert page.eval_on_selector_all("#job-list > li", "els => els.map(e => e.dataset.id)") == [
        both["id"]
    ]
    assert "q=sunset+retriever" in page.url

    with page.expect_response(lambda r: "model=sora-2-pro" in r.url):
        page.select_option("#model-filter", "sora-2-pro")
    studio.search(f"{token} retriever")
    expect(page.locator("#job-list > li")).to_have_count(1)
    expect(studio.card(pro["id"])).to_be_visible()
    assert "model=sora-2-pro" in page.url

    # The URL brings the same view back, in a new tab or after a reload.
    page.goto(f"/?q={token}+sunset&status=completed&model=sora-2")
    studio.settled()
    expect(page.locator("#search")).to_have_value(f"{token} sunset")
    expect(page.locator("#status-filter")).to_have_value("completed")
    expect(page.locator("#model-filter")).to_have_value("sora-2")
    expect(page.locator("#job-list > li")).to_have_count(2)
    page.fill("#search", "")
    page.select_option("#status-filter", "")
    with page.expect_response(lambda r: "/api/videos?" in r.url and "model=" not in r.url):
        page.select_option("#model-filter", "")
    assert "?" not in page.url


def test_the_whole_prompt_on_demand_and_copied_in_one_click(studio, page, api, token):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    long = f"{token} " + " ".join(f"line {n} of a long and careful prompt," for n in range(30))
    short = api.create(f"{token} short")
    job = api.create(long)
    studio.open(token)
    card = studio.card(job["id"])
    prompt = card.locator(".prompt")
    clamped = prompt.evaluate("(p) => p.clientHeight")
    more = card.get_by_role("button", name="Show all")
    expect(more).to_be_visible()
    expect(studio.card(short["id"]).get_by_role("button", name="Show all")).to_be_hidden()
    more.click()
    expect(card.get_by_role("button", name="Show less")).to_have_attribute("aria-expanded", "true")
    assert prompt.evaluate("(p) => p.clientHeight") > clamped * 2

    card.get_by_role("button", name="Copy prompt").click()
    expect(card.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == long


def test_the_budget_line_shows_the_servers_spend(studio, page, api, token):
    studio.open(token)
    job = studio.submit(f"{token} a slow sunrise", seconds=8).json()["job"]
    studio.wait_status(job["id"], "completed")
    usage = api.http.get(f"{api.base}/api/usage", timeout=10).json()
    line = (
        f"Today ${usage['spent_today_usd']:,.2f} of ${usage['daily_budget_usd']:,.2f} budget"
        f" · All time ${usage['spent_total_usd']:,.2f}"
        f" · In progress {usage['pending']} of {usage['max_pending']}"
    )
    expect(page.locator("#usage")).to_have_text(line)
    expect(page.locator("#spend")).to_have_text("1 video shown")  # no sum of what is shown
    expect(studio.card(job["id"]).locator(".meta")).to_contain_text("est. $0.80")


ROWS = """
(li) => {
  const shown = [...li.querySelectorAll('.actions :is(a, button)')].filter((b) => b.offsetParent);
  return shown.map((b) => ({ text: b.textContent, top: Math.round(b.getBoundingClientRect().top),
    height: b.getBoundingClientRect().height }));
}
"""


@pytest.mark.parametrize(("width", "height", "touch"), [(1280, 800, False), (390, 844, True)])
def test_card_buttons_are_big_enough_to_touch_and_delete_never_stands_alone(
    browser, studio_url, width, height, touch
):
    statuses = [
        fake_job(1, status="completed"),
        fake_job(2, status="failed", error_code="moderation_blocked", error_message="no"),
        fake_job(3, status="failed", error_code="timeout", error_message="slow"),
        fake_job(4, status="in_progress"),
        fake_job(5, status="completed", model="gone-model"),
    ]
    context = browser.new_context(
        base_url=studio_url,
        viewport={"width": width, "height": height},
        has_touch=touch,
        is_mobile=touch,
    )
    page = context.new_page()
    try:
        page.route("**/api/videos?*", listing(statuses))
        page.route("**/api/videos/*", lambda route: route.fulfill(json={"job": statuses[3]}))
        page.route("**/media*", lambda route: route.abort())
        page.goto("/")
        page.wait_for_selector('#job-list[aria-busy="false"]', state="attached")
        for job in statuses:
            card = page.locator(f'[id="job-{job["id"]}"]')
            card.scroll_into_view_if_needed()
            buttons = card.evaluate(ROWS)
            delete = buttons[-1]
            assert delete["text"] == "Delete"
            assert any(b["top"] == delete["top"] for b in buttons[:-1]), (job["status"], buttons)
            if touch:
                assert all(b["height"] >= 44 for b in buttons), buttons
    finally:
        context.close()
