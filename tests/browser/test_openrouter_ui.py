"""Issue 12 in the browser: `python -m devserver` with UPSTREAM_PROTOCOL=openrouter (the
simulator's OpenRouter protocol and its five `sim/...` models). A creator picks an OpenRouter
model, sees its own sizes, durations and price, generates, plays the finished video and sees
what it actually cost (usage.cost), not the estimate."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.support.devserver import DevServer

from .test_protocols_ui import PLAY

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

MODEL = "sim/seedance-like"


@pytest.fixture(scope="module")
def openrouter_stack(tmp_path_factory):
    with DevServer(
        tmp_path_factory.mktemp("openrouter-stack"), {"UPSTREAM_PROTOCOL": "openrouter"}, speed=8
    ) as stack:
        yield stack


def test_an_openrouter_model_from_choice_to_playing_with_its_actual_cost(browser, openrouter_stack):
    base = openrouter_stack.url
    config = requests.get(f"{base}/api/config", timeout=10).json()
    model = next(m for m in config["models"] if m["id"] == MODEL)
    assert model["provider"] == "openrouter"
    context = browser.new_context(base_url=base, viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto("/")
        page.wait_for_selector("#submit:not([disabled])")
        expect(page.locator("#model option")).to_have_count(len(config["models"]))
        page.select_option("#model", MODEL)

        # Its own sizes and durations, each size with its price per second.
        sizes = page.eval_on_selector_all('input[name="size"]', "els => els.map(e => e.value)")
        assert sizes == model["sizes"]
        secs = page.eval_on_selector_all('input[name="seconds"]', "els => els.map(e => e.value)")
        assert secs == [str(s) for s in model["seconds"]]
        size, seconds = "854x480", 5
        rate = model["price_per_second_by_size"][size]
        label = page.locator(f'label:has(input[name="size"][value="{size}"])')
        expect(label).to_contain_text(f"854\u00d7480 · ${rate:.2f}/s")  # 854 times 480
        page.check(f'input[name="size"][value="{size}"]')
        page.check(f'input[name="seconds"][value="{seconds}"]')
        estimate = rate * seconds
        expect(page.locator("#cost")).to_have_text(f"${estimate:.2f}")

        page.fill("#prompt", "A kite festival on a windy beach, from OpenRouter")
        with page.expect_response(lambda r: r.request.method == "POST") as info:
            page.click("#submit")
        assert info.value.status == 201, info.value.text()
        assert info.value.request.post_data_json == {
            "prompt": "A kite festival on a windy beach, from OpenRouter",
            "model": MODEL,
            "size": size,
            "seconds": seconds,
        }
        job = info.value.json()["job"]
        card = page.locator(f'[id="job-{job["id"]}"]')
        expect(card.locator(".meta")).to_contain_text(f"est. ${estimate:.2f}")

        card.and_(page.locator('[data-status="completed"]')).wait_for(timeout=90_000)
        played = card.locator("video").evaluate(PLAY)
        assert played["readyState"] >= 2 and played["duration"] > seconds - 1, played
        done = requests.get(f"{base}/api/videos/{job['id']}", timeout=10).json()["job"]
        assert done["cost_usd"] is not None, done
        meta = card.locator(".meta")
        expect(meta).to_contain_text(f"· ${done['cost_usd']:.2f}")
        expect(meta).not_to_have_text(re.compile("est\\."))
        # The budget line counts the actual cost.
        usage = requests.get(f"{base}/api/usage", timeout=10).json()
        assert usage["spent_total_usd"] == round(done["cost_usd"], 2)
        expect(page.locator("#usage")).to_contain_text(f"All time ${done['cost_usd']:.2f}")
    finally:
        context.close()
    assert not errors, errors
