"""The plan bends without starting over, in Chromium, light and dark, desktop and phone:
new study days after a preview; answering again asks before replacing; the old plan stays
readable under Your plans."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in, seed_learner
from .test_adapt import check
from .test_pages import answer_questions


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_change_days_then_replace_and_read_the_old_plan(viewport, scheme, new_context,
                                                        live_server):
    email = f"plans-{viewport}-{scheme}@example.com"
    seed_learner(live_server, email, started_days_ago=7, done=3)
    page = new_context(viewport, color_scheme=scheme).new_page()
    log_in(page, email)
    suffix = "-dark" if scheme == "dark" else ""
    problems: dict[str, list[str]] = {}

    page.locator("#change-schedule").click()
    page.wait_for_url("**/plan/schedule")
    expect(page.locator("#start-kept")).to_contain_text("with work done, the start stays")
    for day in ("Tuesday", "Thursday"):
        page.get_by_label(day).uncheck()
    page.get_by_role("button", name="Show what would change").click()
    expect(page.locator("#new-days")).to_have_text("Monday, Wednesday, Friday")
    check(page, "schedule-preview" + suffix, viewport, problems)
    page.get_by_role("button", name="Change my schedule").click()
    page.wait_for_url("**/dashboard")
    expect(page.locator(".flashes")).to_contain_text(re.compile(r"Schedule changed: \d+"))
    expect(page.locator("#why")).to_contain_text("Mon, Wed, Fri")

    page.goto("/decide")
    answer_questions(page)
    page.get_by_label("Start with Rust").check()
    page.get_by_role("button", name="Start my plan").click()
    expect(page.locator("h1")).to_have_text("Replace your plan with Start with Rust?")
    expect(page.locator("#now-plan")).to_contain_text("3 of 33 milestones finished")
    check(page, "replace-plan" + suffix, viewport, problems)
    page.get_by_role("button", name="Replace my plan").click()
    page.wait_for_url("**/dashboard")

    page.locator("#your-plans").click()
    page.wait_for_url("**/plans")
    check(page, "your-plans" + suffix, viewport, problems)
    page.get_by_role("link", name="Start with Go").click()
    expect(page.locator(".eyebrow").first).to_contain_text("read only")
    expect(page.locator("main")).to_contain_text("3 of 33 milestones finished")
    check(page, "old-plan" + suffix, viewport, problems)
    assert not problems, problems
