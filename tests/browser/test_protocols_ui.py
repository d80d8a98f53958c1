"""One video through the studio for each wire protocol the simulator speaks
(`UPSTREAM_PROTOCOL`): the default model of its catalog, created in the form, completed on
its card and played."""

from __future__ import annotations

import pytest
import requests

from tests.support.devserver import DevServer

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PLAY = """
async (video) => {
  video.muted = true;
  await video.play();
  if (video.readyState < 2) {
    await new Promise((r) => video.addEventListener('playing', r, { once: true }));
  }
  video.pause();
  return { readyState: video.readyState, duration: video.duration };
}
"""


@pytest.mark.parametrize("protocol", ["openai", "openrouter", "fal", "vertex", "veo"])
def test_one_video_through_each_protocol(browser, tmp_path, protocol):
    with DevServer(tmp_path, {"UPSTREAM_PROTOCOL": protocol}, speed=50) as stack:
        config = requests.get(f"{stack.url}/api/config", timeout=10).json()
        context = browser.new_context(base_url=stack.url, viewport={"width": 1360, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto("/")
            page.wait_for_selector("#submit:not([disabled])")
            model = page.input_value("#model")
            assert model in {m["id"] for m in config["models"]}
            page.fill("#prompt", f"A lantern festival on a river, through {protocol}")
            with page.expect_response(
                lambda r: r.request.method == "POST" and r.url.endswith("/api/videos")
            ) as info:
                page.click("#submit")
            assert info.value.status == 201, info.value.text()
            job = info.value.json()["job"]
            card = page.locator(f'[id="job-{job["id"]}"]')
            card.and_(page.locator('[data-status="completed"]')).wait_for(timeout=90_000)
            played = card.locator("video").evaluate(PLAY)
            assert played["readyState"] >= 2 and played["duration"] > job["seconds"] - 1, played
        finally:
            context.close()
    assert not errors, errors
