"""The "done when" checklist in Chromium, light and dark, desktop and phone: boxes save as
they are ticked, the page offers "mark done" once all are; without JavaScript, Save does it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in, seed_learner
from .test_adapt import check


def open_first_milestone(page) -> None:
    page.goto("/dashboard?phase=1")
    page.locator("ol.milestones .m-title").first.click()
    page.wait_for_url("**/milestones/*")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_checklist_saves_as_it_is_ticked(viewport, scheme, new_context, live_server):
    email = f"checklist-{viewport}-{scheme}@example.com"
    seed_learner(live_server, email)
    page = new_context(viewport, color_scheme=scheme).new_page()
    log_in(page, email)
    open_first_milestone(page)
    boxes = page.locator("#checklist input[type=checkbox]")
    total = boxes.count()
    assert total >= 2
    expect(page.locator("#save-checklist")).to_be_hidden()  # the script saves on its own
    expect(page.locator("#checklist-early")).to_be_visible()
    for i in range(total):
        with page.expect_response(re.compile(r"/checklist$")) as saved:
            boxes.nth(i).check()
        assert saved.value.ok
    expect(page.locator("#checklist-count")).to_have_text(f"{total} of {total} checked")
    expect(page.locator("#checklist-ready")).to_be_visible()
    problems: dict[str, list[str]] = {}
    check(page, "checklist" + ("-dark" if scheme == "dark" else ""), viewport, problems)
    page.reload()  # saved: the boxes come back ticked, and no stale message shows
    expect(page.locator("#checklist input:checked")).to_have_count(total)
    expect(page.locator(".flashes")).to_have_count(0)
    page.get_by_role("button", name="Mark done", exact=True).click()
    expect(page.locator(".flashes")).to_contain_text("Done:")
    assert not problems, problems


def test_without_javascript_the_save_button_keeps_the_ticks(new_context, live_server):
    seed_learner(live_server, "checklist-nojs@example.com")
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, "checklist-nojs@example.com")
    open_first_milestone(page)
    page.locator("#checklist input[type=checkbox]").first.check()
    page.get_by_role("button", name="Save checklist").click()
    expect(page.locator(".flashes")).to_contain_text(re.compile(r"Checklist saved: 1 of \d+"))
    expect(page.locator("#checklist input:checked")).to_have_count(1)
