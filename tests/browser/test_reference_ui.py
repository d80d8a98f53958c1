"""Image-to-video in the UI: a photo is cropped and scaled in the page to the job's exact size,
sent as input_reference, shown on the card and kept by "Run again"."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest
from playwright.sync_api import expect

from chalicelib.media.images import pixel_size

from .fakes import fake_job

pytestmark = pytest.mark.browser

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

# A synthetic paste of a w x h PNG (what pasting a copied image delivers).
PASTE_IMAGE = """
async ([w, h]) => {
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#d03030';
  ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = '#3060d0';
  ctx.fillRect(0, 0, w / 2, h);
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  const data = new DataTransfer();
  data.items.add(new File([blob], 'pasted.png', { type: 'image/png' }));
  document.getElementById('prompt').dispatchEvent(
    new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
}
"""

# The encoder's fallback: a noisy image that is too big at quality 0.9 for the given limit.
ENCODE_UNDER_LIMIT = """
async () => {
  const { toDataUrl } = await import('/js/reference/image.js');
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const ctx = canvas.getContext('2d');
  const pixels = ctx.createImageData(640, 360);
  for (let i = 0; i < pixels.data.length; i++) pixels.data[i] = (i * 7919) % 251;
  ctx.putImageData(pixels, 0, 0);
  const best = await new Promise((r) => canvas.toBlob(r, 'image/jpeg', 0.9));
  const url = await toDataUrl(canvas, 640, 360, best.size - 1);
  let error = null;
  try { await toDataUrl(canvas, 640, 360, 100); } catch (e) { error = e.message; }
  return { best: best.size, url, error };
}
"""


def run_ffmpeg(*args: str) -> bytes:
    return subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", *args],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout


def average_colour(path: Path, *filters: str) -> tuple[int, ...]:
    """The mean RGB of the first frame of an image or video, after the given filters."""
    chain = ",".join([*filters, "scale=1:1:flags=area"])
    raw = run_ffmpeg(
        "-i", str(path), "-frames:v", "1", "-vf", chain, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"
    )
    return tuple(raw[:3])


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def decode(data_url: str) -> bytes:
    head, _, encoded = data_url.partition(",")
    assert head == "data:image/jpeg;base64", head
    return base64.b64decode(encoded)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A real 4000x3000 JPEG, as a camera makes them."""
    path = tmp_path_factory.mktemp("photos") / "photo.jpg"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=4000x3000", "-frames:v", "1", "-q:v", "3", str(path)
    )
    return path


def posted(response) -> dict:
    assert response.status == 201, response.text()
    return response.request.post_data_json


def test_a_photo_is_cropped_to_the_video_size_in_the_page(
    studio, page, api, token, photo, tmp_path
):
    studio.open()
    page.check('input[name="size"][value="720x1280"]')
    expect(page.locator("#ref-field")).to_be_visible()

    # The photo is decoded and scaled in a worker, off the main thread. How fast, and whether
    # the page keeps drawing frames meanwhile, is measured against budgets in
    # bench/bench_frontend.py; here only what happens.
    page.set_input_files("#ref-field input", str(photo))
    expect(page.locator(".ref-crop")).to_have_attribute("data-state", "ready", timeout=60_000)
    assert [w.url.rsplit("/js/", 1)[-1] for w in page.workers] == ["reference/worker.js"]

    frame = page.locator(".ref-frame").bounding_box()
    assert abs(frame["width"] / frame["height"] - 720 / 1280) < 0.02, frame
    expect(page.locator(".ref-note").first).to_contain_text("720\u00d71280")

    body = posted(studio.submit(f"{token} a lighthouse from a photo"))
    sent = decode(body["input_reference"])
    assert pixel_size(sent) == ("image/jpeg", 720, 1280)
    assert len(sent) <= 8 * 1024 * 1024
    job = api.list(q=token)[0]
    assert job["reference_url"] == f"/api/videos/{job['id']}/media?variant=reference"

    # The upload is the centre of the photo at the video's ratio (nothing moved or zoomed).
    upload = tmp_path / "upload.jpg"
    upload.write_bytes(sent)
    expected = average_colour(photo, "crop=1688:3000")
    assert close(average_colour(upload), expected, 10), (average_colour(upload), expected)

    card = studio.wait_status(job["id"], "completed")
    reference = card.locator(".ref-card img")
    expect(reference).to_be_visible()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=reference.element_handle()
    )
    assert reference.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [720, 1280]
    expect(card.locator("video")).to_be_attached()

    # The video starts on that image (the simulator shows it for the first half second).
    video = tmp_path / "video.mp4"
    video.write_bytes(page.request.get(job["media_url"] or f"/api/videos/{job['id']}/media").body())
    first = average_colour(video)
    assert close(first, average_colour(upload), 16), (first, average_colour(upload))


def test_size_and_model_changes_recrop_and_remove_sends_no_image(studio, page, token):
    studio.open()
    expect(page.locator('input[name="size"]:checked')).to_have_value("1280x720")
    page.evaluate(PASTE_IMAGE, [1000, 1000])  # pasting works as well as picking
    expect(page.locator(".ref-crop")).to_have_attribute("data-state", "ready")
    frame = page.locator(".ref-frame")
    ratio = "(el) => el.getBoundingClientRect().width / el.getBoundingClientRect().height"
    assert abs(frame.evaluate(ratio) - 16 / 9) < 0.02

    # Move and zoom with the keyboard and the wheel: the crop changes, the size does not.
    frame.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("+")
    frame.hover()
    page.mouse.wheel(0, -200)
    assert float(page.locator(".ref-zoom input").input_value()) > 1.2

    page.select_option("#model", "sora-2-pro")
    page.check('input[name="size"][value="1024x1792"]')
    assert abs(frame.evaluate(ratio) - 1024 / 1792) < 0.02
    body = posted(studio.submit(f"{token} portrait pro"))
    assert pixel_size(decode(body["input_reference"])) == ("image/jpeg", 1024, 1792)

    page.check('input[name="size"][value="1792x1024"]')
    body = posted(studio.submit(f"{token} landscape pro"))
    assert pixel_size(decode(body["input_reference"])) == ("image/jpeg", 1792, 1024)

    page.click("text=Remove image")
    expect(page.locator(".ref-box")).to_be_hidden()
    expect(page.locator("#ref-field input")).to_be_focused()
    body = posted(studio.submit(f"{token} no image"))
    assert "input_reference" not in body


def test_offered_only_where_the_model_takes_it_and_not_in_remix(studio, page):
    def config(route):
        data = route.fetch().json()
        for model in data["models"]:
            model["supports_reference"] = model["id"] == "sora-2"
        route.fulfill(json=data)

    done = fake_job(
        1,
        status="completed",
        prompt="Remix source",
        reference_url="/api/videos/x/media?variant=reference",
    )
    page.route("**/api/config", config)
    page.route("**/api/videos?*", lambda r: r.fulfill(json={"jobs": [done], "next_cursor": None}))
    studio.open()
    expect(page.locator("#ref-field")).to_be_visible()
    page.select_option("#model", "sora-2-pro")
    expect(page.locator("#ref-field")).to_be_hidden()
    page.select_option("#model", "sora-2")
    expect(page.locator("#ref-field")).to_be_visible()

    studio.card(done["id"]).locator('[data-action="remix"]').click()
    expect(page.locator("#remix-note")).to_contain_text("A remix takes no first-frame image")
    expect(page.locator("#ref-field")).to_be_hidden()
    page.click("#remix-cancel")
    expect(page.locator("#ref-field")).to_be_visible()


def colour_frame(image: Path, colour: str) -> str:
    """A 1280x720 PNG of one colour written to `image`, as an input_reference data: URL."""
    run_ffmpeg("-f", "lavfi", "-i", f"color=c={colour}:size=1280x720", "-frames:v", "1", str(image))
    return "data:image/png;base64," + base64.b64encode(image.read_bytes()).decode()


def test_run_again_keeps_the_reference_unless_unticked(studio, page, api, token, tmp_path):
    image = tmp_path / "first.png"
    job = api.create(f"{token} harbour at dawn", input_reference=colour_frame(image, "0x2080c0"))

    studio.open(token)
    card = studio.card(job["id"])
    keep = card.get_by_label("Use it when running again")
    expect(keep).to_be_checked()
    expect(card.locator(".ref-card img")).to_be_visible()

    with page.expect_response(lambda r: r.request.method == "POST") as info:
        card.locator('[data-action="rerun"]').click()
        page.get_by_role("button", name="Run again · $0.40").click()
    body = posted(info.value)
    sent = decode(body["input_reference"])
    assert pixel_size(sent) == ("image/jpeg", 1280, 720)
    again = tmp_path / "again.jpg"
    again.write_bytes(sent)
    assert close(average_colour(again), average_colour(image), 6)
    new = info.value.json()["job"]
    assert new["reference_url"]
    expect(studio.card(new["id"]).locator(".ref-card img")).to_be_visible()
    expect(card.locator('[data-action="rerun"]')).to_have_text("Run again")

    keep.uncheck()
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        card.locator('[data-action="rerun"]').click()
        page.get_by_role("button", name="Run again · $0.40").click()
    body = posted(info.value)
    assert "input_reference" not in body
    assert info.value.json()["job"]["reference_url"] is None


def test_the_encoder_lowers_the_quality_to_fit_the_limit(studio, page):
    studio.open()
    result = page.evaluate(ENCODE_UNDER_LIMIT)
    sent = decode(result["url"])
    assert len(sent) < result["best"]
    assert pixel_size(sent) == ("image/jpeg", 640, 360)
    assert result["error"] and "small enough" in result["error"]
