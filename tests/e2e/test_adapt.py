"""Plans that adapt, in Chromium on a desktop and a phone: skip, a month at once, a milestone
of one's own, a switch with its preview, an uploaded roadmap with its problems, and acting
from a reminder's link. Each page: axe finds nothing serious, nothing scrolls sideways, and
a screenshot is saved."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from samples import ROADMAP
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.accounts.tokens import action_token
from tracker.models import Milestone, Plan, User, utcnow

from .conftest import check_a11y, log_in, screenshot, seed_learner


def check(page: Any, name: str, viewport: str, problems: dict[str, list[str]]) -> None:
    screenshot(page, name, viewport)
    found = check_a11y(page)
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
        found.append("wider than the screen: it scrolls sideways")
    if found:
        problems[name] = found


def a_reminder_link(session: Session, email: str) -> str:
    """Return the Push link a due-day reminder would carry for the first open milestone."""
    user = session.scalar(select(User).where(User.email == email))
    m = session.scalars(select(Milestone).join(Plan).where(
        Plan.user_id == user.id, Plan.archived_at.is_(None), Milestone.done_at.is_(None),
        Milestone.skipped_at.is_(None)).order_by(Milestone.position)).first()
    return "/act/" + action_token(user, m, "push", utcnow())


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_plan_that_adapts(viewport, new_context, live_server):
    email = f"adapt-{viewport}@example.com"
    seed_learner(live_server, email, started_days_ago=10, done=2)
    page = new_context(viewport).new_page()
    log_in(page, email)
    problems: dict[str, list[str]] = {}

    # Skip one milestone from its page, with a reason, then the rest of the month.
    page.goto("/dashboard")
    page.locator("ol.milestones li.milestone:not(.done) a.m-title").first.click()
    page.wait_for_url("**/milestones/*")
    page.get_by_label("Why skip it? (optional)").fill("I use this at work")
    page.get_by_role("button", name="Skip this milestone").click()
    page.goto("/dashboard")
    expect(page.locator("ol.milestones li.skipped")).to_have_count(1)
    expect(page.locator("ol.milestones li.skipped")).to_contain_text("I use this at work")
    expect(page.locator("#skipped-count")).to_contain_text("1 of them skipped")
    check(page, "skip", viewport, problems)
    page.get_by_role("button", name="I know this month: skip the rest").click()
    expect(page.locator(".flash, [role=status]").first).to_contain_text("Skipped")

    # A milestone of one's own, with a problem first.
    page.goto("/plan/milestones/new")
    page.get_by_label("Links (optional)").fill("not a link")
    page.get_by_role("button", name="Add to my plan").click()
    expect(page.locator("#title-error")).to_have_text("Give it a title.")
    expect(page.locator("#error-summary a[href=\"#title\"]")).to_have_text("Give it a title.")
    expect(page.get_by_label("Links (optional)")).to_have_value("not a link")
    check(page, "own-milestone-errors", viewport, problems)
    page.get_by_label("Title").fill("Build a URL shortener")
    page.get_by_label("Links (optional)").fill("Go by Example https://gobyexample.com/")
    page.get_by_role("button", name="Add to my plan").click()
    page.wait_for_url("**/milestones/*")
    expect(page.locator("h1")).to_have_text("Build a URL shortener")
    check(page, "own-milestone", viewport, problems)

    # Act from a reminder: the link opens a page that asks; its button pushes.
    link = live_server.db(lambda s: a_reminder_link(s, email))
    page.goto(link)
    expect(page.get_by_role("button", name="Push by a week")).to_be_visible()
    check(page, "act-from-email", viewport, problems)
    page.get_by_role("button", name="Push by a week").click()
    expect(page.locator("h1")).to_contain_text("Pushed by a week")

    # Switch to Go then Rust, with the preview first.
    page.goto("/dashboard")
    page.locator("#switch").get_by_role("link", name="Go first, then Rust").click()
    expect(page.locator("#switch-kept")).to_contain_text("with your work on")
    check(page, "switch-preview", viewport, problems)
    page.get_by_role("button", name="Switch to").click()
    page.wait_for_url("**/dashboard")
    expect(page.locator("#skipped-count")).to_be_visible()  # the skips came along

    # A roadmap of one's own: a problem is listed, the text kept, then it goes through.
    page.goto("/plan/upload")
    page.get_by_label("Or paste it here").fill(ROADMAP.replace("days = 14\n\n[[phases]]",
                                                               "days = 20\n\n[[phases]]", 1))
    page.get_by_role("button", name="Start this roadmap").click()
    expect(page.locator("#upload-problems")).to_contain_text("days: is 20")
    expect(page.get_by_label("Or paste it here")).to_have_value(
        ROADMAP.replace("days = 14\n\n[[phases]]", "days = 20\n\n[[phases]]", 1))
    check(page, "upload-problems", viewport, problems)
    page.get_by_label("Or paste it here").fill(ROADMAP)
    page.get_by_role("button", name="Start this roadmap").click()
    page.wait_for_url("**/dashboard")
    expect(page.locator("#why")).to_contain_text("Kotlin for backend work")
    check(page, "uploaded-dashboard", viewport, problems)
    assert problems == {}
