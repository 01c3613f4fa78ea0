"""Remembering what was learned, in Chromium on a desktop and a phone: a tick brings the
milestone back for review, the review is answered from its page, the dashboard shows the
streak and the history, and the learner's data goes out as a file and into a new account.
Each page: axe finds nothing serious, nothing scrolls sideways, and a screenshot is saved."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from tracker.models import Review, User

from .conftest import log_in, seed_learner, today
from .test_adapt import check


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_review_history_and_your_data(viewport, new_context, live_server, tmp_path):
    email = f"review-{viewport}@example.com"
    user_id = seed_learner(live_server, email, started_days_ago=10)
    mine = Review.user_id == user_id
    page = new_context(viewport).new_page()
    log_in(page, email)
    problems: dict[str, list[str]] = {}

    # A tick schedules a review; two days on (moved here), the dashboard lists it.
    page.goto("/dashboard")
    page.locator("ul.due-now button", has_text="Mark done").first.click()
    expect(page.locator("#streaks")).to_contain_text("1 study day in a row")
    expect(page.locator("#due-reviews")).to_have_count(0)
    live_server.db(lambda s: s.execute(update(Review).where(mine).values(due_on=today())))
    page.goto("/dashboard")
    expect(page.locator("#due-reviews li")).to_have_count(1)
    expect(page.locator("figure.heatmap rect[data-count='1']")).to_have_count(1)
    check(page, "dashboard-review-due", viewport, problems)

    # The review page: what to check, four answers, each with its next date.
    page.locator("#due-reviews a").first.click()
    page.wait_for_url("**/reviews/*")
    expect(page.get_by_role("heading", name="How well do you still know it?")).to_be_visible()
    expect(page.locator(".answers .hint")).to_have_count(4)
    check(page, "review", viewport, problems)
    page.get_by_role("button", name="Good", exact=True).click()
    page.wait_for_url("**/dashboard")
    expect(page.locator(".flash, [role=status]").first).to_contain_text("Next review on")
    expect(page.locator("#due-reviews")).to_have_count(0)
    due = live_server.db(lambda s: s.scalar(select(Review.due_on).where(mine)))
    assert due > today()  # FSRS: a review soon after finishing adds little, but some

    # Your data: download it, then bring it into a new account on the same tracker.
    page.goto("/settings/data")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data (.json)").click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    data = json.loads(saved.read_text())
    assert data["format"] == "roadmap-tracker-export" and data["plans"][0]["outcome"] == "go"
    check(page, "your-data", viewport, problems)

    other = f"import-{viewport}@example.com"
    seed_learner(live_server, other, outcome=None)
    page = new_context(viewport).new_page()
    log_in(page, other)
    page.goto("/settings/data")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**data, "version": 7}))
    page.get_by_label("Your export file (.json)").set_input_files(bad)
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-problems")).to_contain_text("version: 1 was expected")
    check(page, "import-problems", viewport, problems)
    page.get_by_label("Your export file (.json)").set_input_files(saved)
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/dashboard")
    expect(page.locator(".flash, [role=status]").first).to_contain_text("Imported")
    expect(page.locator("#done-count")).to_contain_text("1 of 33")
    assert live_server.db(lambda s: s.scalar(select(User.timezone).where(User.email == other))
                          ) == "UTC"
    assert not problems, problems
