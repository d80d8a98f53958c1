"""Issue 14 in the browser: the creative controls (last frame, reference images, sound, seed,
extend) against `python -m devserver` with UPSTREAM_PROTOCOL=openrouter, whose
sim/veo-3.1-like takes every control. Each control shows only for a model that takes it and
a switch to one without it hides it and drops its value; a job with every input goes end to
end and its card shows them; "Run again" resends every input; Extend makes a new card that
says what it extends."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from playwright.sync_api import expect

from chalicelib.media.images import pixel_size
from tests.support.devserver import DevServer
from tests.support.images import solid_png

from .stack_api import Api

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

FULL = "sim/veo-3.1-like"  # every control
NO_LAST_NO_AUDIO = "sim/seedance-like"  # seed, no last frame, no sound
NO_SEED = "sim/wan-like"  # last frame and sound, no seed
# Reference images only where this says so (the OpenRouter listing has no field for them).
CAPABILITIES = {FULL: {"reference_images": 4, "extend": True}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {
        "UPSTREAM_PROTOCOL": "openrouter",
        "OPENROUTER_CAPABILITIES_JSON": json.dumps(CAPABILITIES),
    }
    with DevServer(tmp_path_factory.mktemp("creative-stack"), env, speed=20) as server:
        yield server


@pytest.fixture
def cpage(browser, stack):
    context = browser.new_context(base_url=stack.url, viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: d.accept())
    page.goto("/")
    page.wait_for_selector("#submit:not([disabled])")
    yield page
    context.close()
    assert not errors, errors


def image(name: str, w: int, h: int, rgb) -> dict:
    return {"name": name, "mimeType": "image/png", "buffer": solid_png(w, h, rgb)}


def is_create(response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/api/videos")


def png_url(w: int, h: int, rgb) -> str:
    return "data:image/png;base64," + base64.b64encode(solid_png(w, h, rgb)).decode()


def dims(data_url: str) -> tuple[int, int]:
    _type, w, h = pixel_size(base64.b64decode(data_url.split(",", 1)[1]))
    return w, h


def posts(page) -> list[dict]:
    bodies: list[dict] = []
    page.on(
        "request",
        lambda r: (
            bodies.append(r.post_data_json)
            if r.method == "POST" and r.url.endswith("/api/videos")
            else None
        ),
    )
    return bodies


def fill_every_control(page):
    page.select_option("#model", FULL)
    page.check('input[name="size"][value="1280x720"]')
    page.check('input[name="seconds"][value="4"]')
    page.set_input_files("#ref-field input", image("first.png", 1600, 900, (200, 200, 40)))
    page.wait_for_selector('#ref-field + .ref-crop[data-state="ready"]')
    page.set_input_files("#last-field input", image("last.png", 1600, 900, (20, 200, 40)))
    page.wait_for_selector('#last-field + .ref-crop[data-state="ready"]')
    page.set_input_files(
        "#ref-tray input[type=file]",
        [image("a.png", 3000, 1000, (200, 30, 30)), image("b.png", 800, 800, (30, 30, 200))],
    )
    expect(page.locator("#ref-tray li")).to_have_count(2)
    page.check("#audio")
    page.click(".more-options summary")
    page.fill("#seed", "4242")


def test_each_control_only_for_a_model_that_takes_it_and_dropped_on_a_switch(cpage):
    page = cpage
    page.select_option("#model", FULL)
    for sel in ("#last-field", "#ref-tray", "#audio", ".more-options"):
        expect(page.locator(sel)).to_be_visible()
    fill_every_control(page)
    # Sound shows its price: the cost line uses the sound price when on.
    expect(page.locator("#cost")).to_have_text("$1.60")  # 4 s x $0.40
    expect(page.locator("#audio-price")).to_contain_text("$0.40/s with sound, $0.20/s without")
    page.uncheck("#audio")
    expect(page.locator("#cost")).to_have_text("$0.80")
    page.check("#audio")

    # No last frame, no sound: both hidden, their values dropped; the seed stays.
    page.select_option("#model", NO_LAST_NO_AUDIO)
    expect(page.locator("#last-field")).to_be_hidden()
    expect(page.locator("#last-field + .ref-crop")).to_be_hidden()
    expect(page.locator("#audio")).to_be_hidden()
    expect(page.locator("#ref-tray")).to_be_hidden()  # no reference images either
    expect(page.locator("#seed")).to_have_value("4242")
    # No seed: hidden and emptied.
    page.select_option("#model", NO_SEED)
    expect(page.locator(".more-options")).to_be_hidden()
    expect(page.locator("#last-field")).to_be_visible()
    expect(page.locator("#audio")).to_be_visible()

    # Back to the full model: what was dropped is gone.
    page.select_option("#model", FULL)
    expect(page.locator("#last-field + .ref-crop")).to_be_hidden()
    expect(page.locator("#ref-tray li")).to_have_count(0)
    expect(page.locator("#seed")).to_have_value("")

    # And the request of a model without them carries none of them.
    page.select_option("#model", NO_SEED)
    bodies = posts(page)
    page.fill("#prompt", "A model switch drops what the model does not take")
    with page.expect_response(is_create) as info:
        page.click("#submit")
    assert info.value.status == 201, info.value.text()
    body = bodies[-1]
    assert "last_frame" not in body and "reference_images" not in body and "seed" not in body, body
    assert body["audio"] is True


def test_every_input_end_to_end_then_run_again_resends_them(cpage, stack):
    page = cpage
    bodies = posts(page)
    fill_every_control(page)
    # Reorder: the square one first, then remove nothing.
    page.click('#ref-tray li[data-index="0"] [data-move="1"]')
    expect(page.locator("#ref-tray li img").first).to_have_attribute(
        "alt", "Reference image 1: b.png"
    )
    page.fill("#prompt", "A lighthouse at dawn, every creative input")
    with page.expect_response(is_create) as info:
        page.click("#submit")
    assert info.value.status == 201, info.value.text()
    body = bodies[-1]
    assert body["model"] == FULL and body["audio"] is True and body["seed"] == 4242, {
        k: v for k, v in body.items() if k not in ("last_frame", "reference_images")
    }
    assert dims(body["input_reference"]) == (1280, 720)
    assert body["last_frame"].startswith("data:image/jpeg;base64,")
    assert dims(body["last_frame"]) == (1280, 720)
    assert len(body["reference_images"]) == 2
    assert all(u.startswith("data:image/jpeg;base64,") for u in body["reference_images"])
    # Scaled down in the page: the 3000 px wide one is at most 2048 on its longest side.
    sizes = [dims(u) for u in body["reference_images"]]
    assert sizes == [(800, 800), (2048, 683)], sizes
    job = info.value.json()["job"]
    done = Api(stack.url).wait(job["id"], timeout=90)
    assert done["reference_url"] and done["last_frame_url"] and len(done["reference_urls"]) == 2
    assert done["audio"] is True and done["seed"] == 4242

    card = page.locator(f'[id="job-{job["id"]}"]')
    card.and_(page.locator('[data-status="completed"]')).wait_for(timeout=60_000)
    inputs = card.locator(".inputs")
    expect(card.locator(".ref-card img")).to_have_count(1)  # the first frame
    expect(inputs.locator("img")).to_have_count(3)  # last frame + 2 references
    expect(inputs).to_contain_text("Ends on")
    expect(inputs).to_contain_text("2 reference images")
    expect(inputs).to_contain_text("Sound on")
    expect(inputs).to_contain_text("Seed 4242")

    # Run again: the same inputs, read back from storage and sent again.
    with page.expect_response(is_create) as again:
        card.locator('[data-action="rerun"]').click()
        page.locator("dialog button", has_text="Run again").click()
    assert again.value.status == 201, again.value.text()
    rerun = bodies[-1]
    assert rerun["prompt"] == body["prompt"] and rerun["model"] == FULL
    assert rerun["audio"] is True and rerun["seed"] == 4242
    assert dims(rerun["input_reference"]) == (1280, 720)
    assert rerun["last_frame"].startswith("data:image/")
    assert dims(rerun["last_frame"]) == (1280, 720)
    assert [dims(u) for u in rerun["reference_images"]] == sizes


def test_extend_end_to_end(cpage, stack):
    page = cpage
    api = Api(stack.url)
    source = api.wait(api.create("A paper boat on a stream", model=FULL)["id"], timeout=90)
    page.reload()
    page.wait_for_selector("#submit:not([disabled])")
    card = page.locator(f'[id="job-{source["id"]}"]')
    card.locator('[data-action="extend"]').click()
    expect(page.locator("#extend-note")).to_be_visible()
    expect(page.locator("#params")).to_be_hidden()
    choices = page.eval_on_selector_all("#extend-seconds option", "els => els.map(e => e.value)")
    models = requests.get(f"{stack.url}/api/config", timeout=10).json()["models"]
    model = next(m for m in models if m["id"] == FULL)
    assert choices == [str(s) for s in model["extend_seconds"]]
    page.select_option("#extend-seconds", choices[-1])
    page.fill("#prompt", "The boat drifts under a bridge")
    with page.expect_response(lambda r: r.request.method == "POST" and "/extend" in r.url) as info:
        page.click("#submit")
    assert info.value.status == 201, info.value.text()
    assert info.value.request.post_data_json == {
        "prompt": "The boat drifts under a bridge",
        "seconds": int(choices[-1]),
    }
    ext = info.value.json()["job"]
    assert ext["extended_from"] == source["id"]
    new_card = page.locator(f'[id="job-{ext["id"]}"]')
    expect(new_card).to_be_in_viewport()
    lineage = new_card.locator(".lineage.extended")
    expect(lineage).to_contain_text("Extends “A paper boat on a stream”")
    expect(lineage).to_have_attribute("data-from", source["id"])
    api.wait(ext["id"], timeout=90)
    new_card.and_(page.locator('[data-status="completed"]')).wait_for(timeout=60_000)
    expect(page.locator("#params")).to_be_visible()


def test_tray_paste_cap_remove_and_edit_and_run_loads_every_input(cpage, stack):
    page = cpage
    page.select_option("#model", FULL)
    # Five pasted at once into a tray of four: four kept, the fifth said.
    page.locator("#ref-tray").evaluate(
        """async (tray) => {
          const data = new DataTransfer();
          for (let i = 0; i < 5; i++) {
            const c = new OffscreenCanvas(320, 180);
            const ctx = c.getContext('2d');
            ctx.fillStyle = `rgb(${40 * i}, 90, 160)`;
            ctx.fillRect(0, 0, 320, 180);
            const blob = await c.convertToBlob({ type: 'image/png' });
            data.items.add(new File([blob], `p${i}.png`, { type: 'image/png' }));
          }
          tray.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
        }"""
    )
    expect(page.locator("#ref-tray li")).to_have_count(4)
    expect(page.locator("#ref-tray .ref-note")).to_contain_text(
        "up to 4 reference images: 1 not added"
    )
    expect(page.locator("#ref-field + .ref-crop .ref-box")).to_be_hidden()  # not the first frame
    page.click('#ref-tray li[data-index="1"] [data-remove]')
    expect(page.locator("#ref-tray li")).to_have_count(3)
    alts = page.eval_on_selector_all("#ref-tray li img", "els => els.map(e => e.alt)")
    assert alts == [
        "Reference image 1: p0.png",
        "Reference image 2: p2.png",
        "Reference image 3: p3.png",
    ]

    # Edit and run: a job's inputs back into the form.
    job = Api(stack.url).create(
        "A red kite, to edit",
        model=FULL,
        last_frame=png_url(1280, 720, (9, 9, 200)),
        reference_images=[png_url(64, 64, (200, 9, 9))],
        audio=False,
        seed=77,
    )
    page.select_option("#model", NO_SEED)
    page.reload()
    page.wait_for_selector("#submit:not([disabled])")
    page.locator(f'[id="job-{job["id"]}"] [data-action="edit"]').click()
    expect(page.locator("#prompt")).to_have_value("A red kite, to edit")
    expect(page.locator("#model")).to_have_value(FULL)
    page.wait_for_selector('#last-field + .ref-crop[data-state="ready"]')
    expect(page.locator("#ref-tray li")).to_have_count(1)
    expect(page.locator("#audio")).not_to_be_checked()
    expect(page.locator("#seed")).to_have_value("77")
    bodies = posts(page)
    with page.expect_response(is_create) as info:
        page.click("#submit")
    assert info.value.status == 201, info.value.text()
    sent = bodies[-1]
    assert sent["audio"] is False and sent["seed"] == 77
    assert dims(sent["last_frame"]) == (1280, 720)
    assert [dims(u) for u in sent["reference_images"]] == [(64, 64)]
