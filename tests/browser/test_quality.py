"""Form behaviour, accessibility, security headers, the page weight budget, long lists.

Speed budgets (render time, long tasks) are measured in bench/bench_frontend.py, not here.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .fakes import fake_history

pytestmark = pytest.mark.browser

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function(")
MEDIA_SOURCES = ("'self'", "blob:", "data:", "https:", "http://127.0.0.1:*", "http://localhost:*")
NOT_FOUND = {"error": {"code": "not_found", "message": "No such video"}}


def test_choices_follow_the_model_and_the_cost_follows_the_choices(studio, page):
    studio.open()
    cost = page.locator("#cost")
    expect(page.locator("#model")).to_have_value("sora-2")
    expect(page.locator('input[name="size"]:checked')).to_have_value("1280x720")
    expect(page.locator('input[name="seconds"]:checked')).to_have_value("4")
    expect(cost).to_have_text("$0.40")
    expect(page.locator('input[name="size"][value="1792x1024"]')).to_have_count(0)

    page.check('input[name="seconds"][value="12"]')
    expect(cost).to_have_text("$1.20")

    page.select_option("#model", "sora-2-pro")
    expect(page.locator('input[name="size"]')).to_have_count(4)
    expect(page.locator('input[name="seconds"]:checked')).to_have_value("12")
    expect(cost).to_have_text("$3.60")
    page.check('input[name="size"][value="1792x1024"]')
    expect(cost).to_have_text("$6.00")
    labels = page.locator("#size-options").inner_text()
    assert "16:9" in labels and "9:16" in labels and "Landscape" in labels and "Portrait" in labels

    # Back to a model without that size: the default size is chosen again.
    page.select_option("#model", "sora-2")
    expect(page.locator('input[name="size"]:checked')).to_have_value("1280x720")
    expect(cost).to_have_text("$1.20")

    page.fill("#prompt", "x" * 1234)
    expect(page.locator("#prompt-counter")).to_have_text("1,234 / 32,000")
    assert page.get_attribute("#prompt", "maxlength") == "32000"


def test_keyboard_only_submission_with_visible_focus(studio, page, api, token):
    studio.open()
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.locator("#prompt").focus()
    page.keyboard.type(f"{token} typed without a mouse")
    page.keyboard.press("Tab")
    expect(page.locator("#model")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator('input[name="size"][value="1280x720"]')).to_be_focused()
    ring = page.evaluate("getComputedStyle(document.activeElement.closest('.choice')).outlineStyle")
    assert ring != "none"
    page.keyboard.press("ArrowRight")
    expect(page.locator('input[name="size"]:checked')).to_have_value("720x1280")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    expect(page.locator('input[name="seconds"]:checked')).to_have_value("8")
    expect(page.locator("#cost")).to_have_text("$0.80")
    page.keyboard.press("Tab")
    expect(page.locator("#submit")).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.keyboard.press("Enter")
    assert info.value.request.post_data_json["size"] == "720x1280"
    assert info.value.request.post_data_json["seconds"] == 8
    assert len(api.list(q=token)) == 1


def test_every_control_has_a_label(studio, page):
    studio.open()
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
          .filter((el) => el.offsetParent !== null || el.type === 'radio')
          .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.textContent.trim())
          .map((el) => el.outerHTML)"""
    )
    assert unlabelled == []
    assert page.locator("[aria-live]").count() >= 2


def test_content_security_policy_and_no_html_injection_sinks(studio, page):
    studio.open()
    csp = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for name in ("media-src", "img-src"):
        for source in MEDIA_SOURCES:
            assert source in directives[name].split(), (name, source)

    html = (FRONTEND / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script in index.html"
    assert not re.search(r"\sstyle=", html), "inline style attribute in index.html"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler in index.html"
    for js in (FRONTEND / "js").rglob("*.js"):
        name = js.relative_to(FRONTEND).as_posix()
        source = js.read_text()
        for sink in SINKS:
            assert sink not in source, f"{sink} in {name}"
        assert not re.search(r"\bsetInterval\s*\(", source), f"setInterval in {name}"


def test_page_weight_before_any_video_is_under_60_kb(studio, page):
    sizes = {}

    def record(response):
        kind = response.request.resource_type
        if kind in ("document", "stylesheet", "script"):
            sizes[response.url] = len(response.body())

    page.on("response", record)
    page.route("**/api/videos?*", lambda r: r.fulfill(json={"jobs": [], "next_cursor": None}))
    studio.open()
    total = sum(sizes.values())
    assert any(u.endswith(".css") for u in sizes) and any(u.endswith(".js") for u in sizes)
    assert total < 60_000, sizes


def test_renders_500_jobs(studio, page):
    jobs = fake_history(500)
    by_id = {job["id"]: job for job in jobs}
    page.route("**/api/videos?*", lambda r: r.fulfill(json={"jobs": jobs, "next_cursor": None}))
    page.route(
        "**/api/videos/*",
        lambda r: r.fulfill(json={"job": by_id[r.request.url.rsplit("/", 1)[-1]]}),
    )
    studio.open()
    expect(page.locator("#job-list > li")).to_have_count(500)
    assert page.locator("#job-list b").count() == 0
    expect(page.locator("#spend")).to_have_text("500 videos shown")


def test_layout_fits_a_phone_and_a_wide_screen(studio, page):
    for width, height in ((375, 740), (768, 1000), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        studio.open()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (width, overflow)
        side_by_side = page.evaluate(
            "document.querySelector('.compose').getBoundingClientRect().right"
            " <= document.querySelector('.history').getBoundingClientRect().left"
        )
        assert side_by_side == (width >= 960), width
