"""Card actions: remix, run again, delete."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_remix_and_run_again_create_linked_jobs(studio, page, api, token):
    source = api.create(f"{token} a red kite over the dunes", size="720x1280", seconds=4)
    api.wait(source["id"])
    studio.open(token)
    card = studio.wait_status(source["id"], "completed")

    # Remix: the form opens prefilled and linked to the source.
    card.locator('[data-action="remix"]').click()
    expect(page.locator("#remix-note")).to_be_visible()
    expect(page.locator("#remix-source")).to_contain_text("a red kite over the dunes")
    expect(page.locator("#prompt")).to_have_value(source["prompt"])
    expect(page.locator("#prompt")).to_be_focused()
    expect(page.locator("#params")).to_be_hidden()
    expect(page.locator("#submit")).to_have_text("Remix video")

    page.fill("#prompt", f"{token} the same kite, at sunset")
    remix_url = f"/api/videos/{source['id']}/remix"
    with page.expect_response(lambda r: r.url.endswith(remix_url)) as info:
        page.click("#submit")
    response = info.value
    assert response.status == 201
    assert response.request.post_data_json == {"prompt": f"{token} the same kite, at sunset"}
    remix = response.json()["job"]
    assert remix["remixed_from"] == source["id"]
    remix_card = studio.card(remix["id"])
    expect(remix_card).to_be_visible()
    expect(remix_card.locator(".lineage")).to_be_visible()
    expect(remix_card.locator(".lineage-link")).to_contain_text("a red kite over the dunes")
    expect(remix_card.locator(".lineage-link")).to_have_attribute("href", f"#job-{source['id']}")
    expect(page.locator("#remix-note")).to_be_hidden()
    expect(page.locator("#params")).to_be_visible()

    # Run again: asks first, with the price, then the same parameters in a fresh POST.
    card.locator('[data-action="rerun"]').click()
    ask = page.get_by_role("dialog", name="Run this video again?")
    expect(ask).to_contain_text("a red kite over the dunes")
    expect(ask).to_contain_text("$0.40")
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/api/videos")
    ) as info:
        ask.get_by_role("button", name="Run again · $0.40").click()
    assert info.value.status == 201
    assert info.value.request.post_data_json == {
        "prompt": source["prompt"],
        "model": source["model"],
        "size": source["size"],
        "seconds": source["seconds"],
    }
    rerun = info.value.json()["job"]
    assert rerun["id"] not in (source["id"], remix["id"])
    assert rerun["remixed_from"] is None
    expect(studio.card(rerun["id"])).to_be_visible()
    # Newest first: the rerun, the remix, then the source.
    ids = page.eval_on_selector_all("#job-list > li", "els => els.map(e => e.dataset.id)")
    assert ids == [rerun["id"], remix["id"], source["id"]]

    studio.wait_status(remix["id"], "completed")
    studio.wait_status(rerun["id"], "completed")
    assert api.get(remix["id"])["remixed_from"] == source["id"]
    assert {j["id"] for j in api.list(q=token)} == {source["id"], remix["id"], rerun["id"]}


def test_delete_asks_first_then_removes_the_card_and_the_job(studio, page, api, token):
    keep = api.create(f"{token} keep me")
    doomed = api.create(f"{token} delete me")
    for job in (keep, doomed):
        api.wait(job["id"])  # nothing else announced while deleting
    studio.open(token)
    card = studio.card(doomed["id"])
    expect(card).to_be_visible()

    # A focused action says which video it is about.
    delete = card.locator('[data-action="delete"]')
    delete.focus()
    expect(delete).to_have_attribute("aria-describedby", f"prompt-{doomed['id']}")
    expect(page.locator(f'[id="prompt-{doomed["id"]}"]')).to_have_text(doomed["prompt"])

    # Cancel keeps it.
    delete.click()
    dialog = page.get_by_role("dialog", name="Delete this video?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("delete me")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(card).to_be_visible()

    # Confirm removes the card at once and the job on the server.
    card.locator('[data-action="delete"]').click()
    with page.expect_response(lambda r: r.request.method == "DELETE") as info:
        dialog.get_by_role("button", name="Delete").click()
    expect(card).to_have_count(0)
    assert info.value.status == 204
    assert api.get(doomed["id"]) is None
    expect(studio.card(keep["id"])).to_be_visible()
    expect(page.locator("#announcer")).to_have_text("Video deleted.")

    studio.open(token)
    expect(studio.card(keep["id"])).to_be_visible()
    expect(studio.card(doomed["id"])).to_have_count(0)
