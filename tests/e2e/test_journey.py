"""The whole learner journey in Chromium, on a desktop and on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

from .conftest import LiveServer, check_a11y, log_in, screenshot, seed_learner, shift_plan
from .test_pages import answer_questions


def chart_done_path(page) -> str:
    return page.locator("#burn-up path.done").get_attribute("d")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_signup_to_replan_settings_feed_and_back(viewport, new_context, live_server):
    email = f"journey-{viewport}@example.com"
    context = new_context(viewport, timezone_id="Europe/Berlin",
                          permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()

    # Landing → sign up, signed in and straight into the decision flow.
    page.goto("/")
    expect(page.locator("h1")).to_contain_text("Go or Rust")
    page.get_by_role("link", name="Sign up — it's free").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # Signed in at once, straight into the questions; a banner says what the email is for.
    page.wait_for_url("**/decide")
    expect(page.locator("#verify-banner")).to_contain_text(f"We sent an email to {email}")
    expect(page.locator("#verify-banner")).to_contain_text("reminders and the weekly email")
    page.locator("#verify-banner").get_by_role("button", name="Resend confirmation").click()
    expect(page.locator(".flashes")).to_contain_text(f"We sent a new confirmation link to {email}")
    screenshot(page, "signed-up", viewport)
    assert check_a11y(page) == []

    # The questions, one a screen, then the recommendation with the reasons that decided it.
    expect(page.locator("#step-count")).to_have_text("Question 1 of 6")
    answer_questions(page)
    expect(page.get_by_role("heading", name="Why: what decided it")).to_be_visible()
    assert 1 <= page.locator("#deciding li").count() <= 3
    page.get_by_text("reasons from your answers").click()  # the full list, one click away
    assert page.locator("#all-reasons li").count() >= 4
    expect(page.locator("#outcome")).to_contain_text("(recommended)")
    # The browser's zone is filled in for the learner by the page script.
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Europe/Berlin")
    page.get_by_role("button", name="Start my plan").click()
    page.wait_for_url("**/dashboard")

    # Tick a milestone and watch the progress text and the chart follow; then undo it.
    done_count = page.locator("#done-count")
    chart = page.locator("#burn-up")
    expect(done_count).to_contain_text("0 of 33 milestones done")
    expect(chart).to_have_attribute("data-done", "0")
    expect(page.locator("#burn-up svg[role=img] title")).to_contain_text("planned and done")
    line_before = chart_done_path(page)
    first = page.locator(".milestones .milestone").first
    first.get_by_role("button", name="Mark done").click()
    expect(done_count).to_contain_text("1 of 33 milestones done (3%)")
    expect(chart).to_have_attribute("data-done", "1")
    expect(page.locator("#burn-up-desc")).to_contain_text("1 done")
    assert chart_done_path(page) != line_before
    expect(first).to_have_class(re.compile(r"\bdone\b"))
    first.get_by_role("button", name="Undo").click()
    expect(done_count).to_contain_text("0 of 33 milestones done")
    expect(chart).to_have_attribute("data-done", "0")
    assert chart_done_path(page) == line_before

    # Fall two weeks behind, then re-plan from today.
    shift_plan(live_server, email, -14)
    page.reload()
    expect(page.locator("#pace-status")).to_have_text(re.compile(r"\d+ milestones? behind"))
    page.get_by_role("link", name="Re-plan from today").click()
    expect(page.locator("h1")).to_have_text("Re-plan from today")
    expect(page.get_by_text("New finish date")).to_be_visible()
    page.get_by_role("button", name="Confirm re-plan").click()
    page.wait_for_url("**/dashboard")
    expect(page.locator(".flashes")).to_contain_text("Re-planned")
    expect(page.locator("#pace-status")).to_have_text("on track")

    change_settings_and_fetch_feed(page, live_server)

    # Log out, log back in: the plan is where we left it.
    page.get_by_role("button", name="Log out").click()
    expect(page.locator(".flashes")).to_contain_text("You are logged out.")
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")
    expect(done_count).to_contain_text("0 of 33 milestones done")
    expect(page.locator("#pace-status")).to_have_text("on track")


def change_settings_and_fetch_feed(page, live_server: LiveServer) -> None:
    """Change the time zone and reminder time, then copy the feed address and fetch it."""
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url("**/settings")
    page.get_by_label("Time zone", exact=True).fill("America/New_York")
    page.get_by_role("button", name="Save profile").click()
    page.get_by_role("link", name="Schedule and mail").click()
    page.get_by_label("Reminder time", exact=True).fill("07:30")
    page.get_by_role("button", name="Save email settings").click()
    page.goto("/settings")
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("America/New_York")
    page.goto("/settings/mail")
    expect(page.get_by_label("Reminder time", exact=True)).to_have_value("07:30")
    page.get_by_role("link", name="Calendar feed").click()

    # Every account gets its address when it is made: nothing to create.
    expect(page.get_by_role("button", name="Create my calendar address")).to_have_count(0)
    address = page.locator("#feed-url")
    url = address.input_value()
    assert url.startswith(f"{live_server.url}/calendar/") and url.endswith(".ics")
    page.get_by_role("button", name="Copy address").click()
    expect(page.locator(".copy-status")).to_contain_text("copied")
    assert page.evaluate("navigator.clipboard.readText()") == url

    feed = page.request.get(url)
    assert feed.status == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    body = feed.text()
    assert body.startswith("BEGIN:VCALENDAR") and body.count("BEGIN:VEVENT") == 33


def test_works_without_javascript(new_context, live_server):
    seed_learner(live_server, "no-js@example.com", started_days_ago=7, done=1)
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, "no-js@example.com")
    done_count = page.locator("#done-count")
    expect(done_count).to_contain_text("1 of 33 milestones done")
    page.locator(".due-now").get_by_role("button", name="Mark done").first.click()
    expect(done_count).to_contain_text("2 of 33 milestones done")
    expect(page.locator("#burn-up")).to_have_attribute("data-done", "2")
    page.get_by_role("button", name="Undo").first.click()
    expect(done_count).to_contain_text("1 of 33 milestones done")

    page.goto("/settings/calendar")
    expect(page.get_by_role("button", name="Create my calendar address")).to_have_count(0)
    # Without the script the copy button stays hidden; the address is there to select.
    expect(page.get_by_role("button", name="Copy address")).to_be_hidden()
    expect(page.locator("#feed-url")).to_have_value(re.compile(r"/calendar/.+\.ics$"))
