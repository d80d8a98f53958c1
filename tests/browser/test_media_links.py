"""Signed media links last an hour: a page left open longer fetches the job for fresh ones."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.fakes import fake_job

pytestmark = pytest.mark.browser


def test_an_expired_media_link_is_replaced_by_a_fresh_one(studio, page):
    job = fake_job(1, status="completed", media_url="/api/videos/x/media?sig=stale")
    job["media_url"] = f"/api/videos/{job['id']}/media?sig=stale"
    fresh = {**job, "media_url": f"/api/videos/{job['id']}/media?sig=fresh"}
    page.route("**/api/videos?*", lambda r: r.fulfill(json={"jobs": [job], "next_cursor": None}))
    page.route(f"**/api/videos/{job['id']}", lambda r: r.fulfill(json={"job": fresh}))
    asked: list[str] = []

    def media(route):
        asked.append(route.request.url)
        if "sig=stale" in route.request.url:
            route.fulfill(
                status=401, json={"error": {"code": "unauthorized", "message": "expired"}}
            )
        else:
            route.fulfill(status=404, body=b"")

    page.route("**/media?sig=*", media)
    studio.open()
    video = page.locator("video").first
    expect(video).to_have_attribute("src", re.compile(r"sig=fresh$"), timeout=10_000)
    assert any("sig=stale" in url for url in asked)
