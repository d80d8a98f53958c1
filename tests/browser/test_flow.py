"""The main path: write a prompt, watch the job progress, play, seek and download it."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# Records every (status, progress text) a card shows, as the page renders it.
RECORD_STATES = """
() => {
  window.__states = {};
  const seen = window.__states;
  const record = () => {
    for (const li of document.querySelectorAll('#job-list > li')) {
      const list = seen[li.dataset.id] ||= [];
      const state = [li.dataset.status, li.querySelector('.pct')?.textContent ?? ''];
      const last = list[list.length - 1];
      if (!last || last[0] !== state[0] || last[1] !== state[1]) list.push(state);
    }
  };
  new MutationObserver(record).observe(document.getElementById('job-list'),
    { subtree: true, childList: true, attributes: true, characterData: true });
}
"""

PLAY = """
async (id) => {
  const v = document.querySelector(`[id="job-${id}"] video`);
  v.muted = true;
  await v.play();
  if (v.readyState < 2) await new Promise((r) => v.addEventListener('playing', r, { once: true }));
  v.pause();
  return { readyState: v.readyState, duration: v.duration, width: v.videoWidth,
           height: v.videoHeight, paused: v.paused, src: v.currentSrc };
}
"""

SEEK = """
async (id) => {
  const v = document.querySelector(`[id="job-${id}"] video`);
  const target = v.duration / 2;
  const seeked = new Promise((r) => v.addEventListener('seeked', r, { once: true }));
  v.currentTime = target;
  await seeked;
  if (v.readyState < 2) await new Promise((r) => v.addEventListener('canplay', r, { once: true }));
  return { target, currentTime: v.currentTime, readyState: v.readyState };
}
"""


def test_create_watch_seek_and_download(studio, page, api, token):
    studio.open()
    page.evaluate(RECORD_STATES)

    response = studio.submit(f"{token} a paper boat drifting on a pond", size="720x1280", seconds=8)
    assert response.status == 201
    assert UUID.match(response.request.headers["idempotency-key"])
    job = response.json()["job"]
    assert job["status"] == "queued"

    card = studio.card(job["id"])
    expect(card).to_be_visible()
    expect(card.locator(".prompt")).to_have_text(f"{token} a paper boat drifting on a pond")
    expect(card.locator(".meta")).to_contain_text("9:16")
    expect(card.locator(".meta")).to_contain_text("8 s")
    expect(card.locator(".meta")).to_contain_text("$0.80")
    expect(page.locator("#form-note")).to_contain_text("Queued")

    studio.wait_status(job["id"], "completed")
    states = page.evaluate("(id) => window.__states[id]", job["id"])
    assert states[0][0] == "queued", states
    assert states[-1][0] == "completed", states
    order = {"queued": 0, "in_progress": 1, "completed": 2}
    assert [order[s] for s, _ in states] == sorted(order[s] for s, _ in states), states
    percents = [int(p[:-1]) for s, p in states if s == "in_progress" and p.endswith("%")]
    assert percents == sorted(percents), states
    assert percents or any(s == "in_progress" for s, _ in states), f"no progress seen: {states}"

    expect(card.locator(".badge")).to_have_text("Ready")
    expect(card.locator(".progress-row")).to_be_hidden()
    video = card.locator("video")
    expect(video).to_have_attribute("preload", "metadata")
    expect(video).to_have_attribute("controls", "")

    played = page.evaluate(PLAY, job["id"])
    assert played["readyState"] >= 2, played
    assert abs(played["duration"] - 8) <= 0.5, played
    assert (played["width"], played["height"]) == (720, 1280), played

    seek = page.evaluate(SEEK, job["id"])
    assert abs(seek["currentTime"] - seek["target"]) < 0.5, seek
    assert seek["readyState"] >= 2, seek

    download = card.locator("a.download")
    href = download.get_attribute("href")
    assert href == f"/api/videos/{job['id']}/media?download=1"
    with page.expect_download() as info:
        download.click()
    path = info.value.path()
    data = path.read_bytes()
    assert data[4:8] == b"ftyp", data[:16]
    assert info.value.suggested_filename.endswith(".mp4")

    media = page.request.get(href)
    assert media.status == 200
    assert media.headers["content-type"].startswith("video/mp4")
    assert "attachment" in media.headers.get("content-disposition", "")
    assert media.body() == data

    assert api.get(job["id"])["status"] == "completed"

    # The finished page, with whatever history the suite has made so far.
    studio.open()
    studio.screenshot()
