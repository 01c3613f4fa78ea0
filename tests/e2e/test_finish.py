"""The end of a plan in Chromium, light and dark, desktop and phone: the last tick leads to
the completion page, which tells what was done, offers a summary to copy and the next plan."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import log_in, seed_learner
from .test_adapt import check


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_last_tick_celebrates_and_offers_what_next(viewport, scheme, new_context,
                                                       live_server):
    email = f"finish-{viewport}-{scheme}@example.com"
    seed_learner(live_server, email, started_days_ago=100, done=32)
    page = new_context(viewport, color_scheme=scheme).new_page()
    log_in(page, email)
    problems: dict[str, list[str]] = {}
    page.goto("/dashboard?phase=3")
    page.locator("ol.milestones button", has_text="Mark done").click()
    page.wait_for_url("**/plan/complete")
    expect(page.locator("h1")).to_have_text("You did it: Start with Go")
    assert page.locator("#share-text").input_value().startswith(
        "I finished “Start with Go” with Roadmap Tracker: 33 milestones")
    expect(page.get_by_role("button", name="Copy summary")).to_be_visible()  # copy.js ran
    check(page, "complete" + ("-dark" if scheme == "dark" else ""), viewport, problems)
    page.locator("#next-plan").click()
    page.wait_for_url("**/plan/switch?to=rust")
    assert not problems, problems


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_tick_moves_the_progress_in_place(viewport, new_context, live_server):
    email = f"in-place-{viewport}@example.com"
    seed_learner(live_server, email, started_days_ago=3, done=1)
    page = new_context(viewport).new_page()
    log_in(page, email)
    page.evaluate("window.stillHere = true")  # gone if the page reloads
    done = page.locator("#done-count")
    expect(done).to_contain_text("1 of 33 milestones done")
    page.locator("ol.milestones button", has_text="Mark done").first.click()
    expect(done).to_contain_text("2 of 33 milestones done")
    expect(page.locator(".flashes")).to_contain_text("Next up:")
    expect(page.locator(".flashes")).to_be_focused()
    assert page.evaluate("window.stillHere") is True  # no reload: the progress moved in place
    page.locator("ol.milestones button", has_text="Undo").first.click()
    expect(done).to_contain_text("1 of 33 milestones done")
    assert page.evaluate("window.stillHere") is True
