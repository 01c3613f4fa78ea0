"""Bad input in the browser: the message appears by the field and what was typed stays."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.conftest import PASSWORD

from .conftest import LiveServer, log_in, seed_learner
from .test_pages import answer_questions


def focused(page: Any) -> str:
    """Return the id of the element with focus, once the page's deferred scripts ran."""
    page.wait_for_load_state()
    return page.evaluate("() => document.activeElement ? document.activeElement.id : ''")


def error_by(page: Any, field_id: str) -> str:
    """Return the error shown for a field, checking it sits right below it and is linked to it,
    and that the error summary at the top of the page has focus and links to the field."""
    field, error = page.locator(f"#{field_id}"), page.locator(f"#{field_id}-error")
    expect(error).to_be_visible()
    summary = page.locator("#error-summary")
    # The page's script moved focus there (headless pages are never "focused" windows, so
    # ask the document, not to_be_focused).
    assert focused(page) == "error-summary"
    expect(summary.locator(f'a[href="#{field_id}"]').first).to_have_text(error.inner_text())
    assert f"{field_id}-error" in (field.get_attribute("aria-describedby") or "").split()
    box, at = field.bounding_box(), error.bounding_box()
    if field.evaluate("e => e.tagName") == "FIELDSET":  # a group of choices: the error is inside it
        assert box["y"] <= at["y"] and at["y"] + at["height"] <= box["y"] + box["height"]
    else:
        assert field.get_attribute("aria-invalid") == "true"
        below = at["y"] - (box["y"] + box["height"])
        assert 0 <= below < 80, f"the error for #{field_id} is {below:.0f}px away from it"
    return error.inner_text()


def test_signup_invalid_email_and_short_password(page):
    page.goto("/signup")
    page.get_by_label("Email").fill("learner-at-example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    assert "Invalid email address" in error_by(page, "email")
    expect(page.get_by_label("Email")).to_have_value("learner-at-example.com")
    page.locator('#error-summary a[href="#email"]').click()  # the summary's link: to the field
    assert focused(page) == "email"

    page.get_by_label("Email").fill("short@example.com")
    page.get_by_label("Password").fill("tiny")
    page.get_by_role("button", name="Create account").click()
    assert "at least 10 characters" in error_by(page, "password")
    expect(page.get_by_label("Email")).to_have_value("short@example.com")
    # The password itself is never sent back into the page.
    expect(page.get_by_label("Password")).to_have_value("")


def test_unanswered_questions_are_marked_and_back_keeps_answers(page, live_server: LiveServer):
    seed_learner(live_server, "questions@example.com", outcome=None)
    log_in(page, "questions@example.com")
    page.goto("/decide")
    page.get_by_role("button", name="Next question").click()
    first_id = page.locator("form.questions fieldset").get_attribute("id")
    assert error_by(page, first_id) == "Pick one answer."
    page.locator("form.questions fieldset input").nth(1).check()
    page.get_by_role("button", name="Next question").click()
    expect(page.locator("#step-count")).to_have_text("Question 2 of 6")
    page.locator("form.questions fieldset input").nth(2).check()
    page.get_by_role("button", name="Back").click()
    expect(page.locator("#step-count")).to_have_text("Question 1 of 6")
    expect(page.locator("form.questions fieldset input").nth(1)).to_be_checked()
    page.get_by_role("button", name="Next question").click()
    expect(page.locator("form.questions fieldset input").nth(2)).to_be_checked()


def test_start_plan_past_date_and_unknown_zone(page, live_server: LiveServer):
    seed_learner(live_server, "start@example.com", outcome=None)
    log_in(page, "start@example.com")
    page.goto("/decide")
    answer_questions(page)

    page.get_by_label("Start with Rust").check()
    page.get_by_label("Start date").fill("2001-01-01")
    page.get_by_label("Saturday").check()
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Start my plan").click()

    assert "or a later date" in error_by(page, "start_date")
    assert "Unknown time zone" in error_by(page, "timezone")
    expect(page.get_by_label("Start date")).to_have_value("2001-01-01")
    # Kept as typed: the page script fills in the browser's zone only on a fresh form.
    expect(page.get_by_label("Time zone")).to_have_value("Mars/Olympus")
    expect(page.get_by_label("Start with Rust")).to_be_checked()
    expect(page.get_by_label("Saturday")).to_be_checked()
    expect(page.get_by_label("Monday")).to_be_checked()


def test_settings_unknown_zone(page, live_server: LiveServer):
    seed_learner(live_server, "zone@example.com")
    log_in(page, "zone@example.com")
    page.goto("/settings")
    page.get_by_label("Time zone", exact=True).fill("Europe/Atlantis")
    page.get_by_label("Colour scheme").select_option("dark")
    page.get_by_role("button", name="Save profile").click()
    assert "Unknown time zone" in error_by(page, "timezone")
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Europe/Atlantis")
    expect(page.get_by_label("Colour scheme")).to_have_value("dark")

    page.goto("/settings/mail")
    page.get_by_label("Reminder time", exact=True).fill("06:45")
    page.get_by_label("Overdue nudge after (days)").fill("99")
    page.get_by_role("button", name="Save email settings").click()
    assert "from 0 to 14" in error_by(page, "nudge_days")
    expect(page.get_by_label("Reminder time", exact=True)).to_have_value("06:45")


def test_delete_account_with_a_wrong_password_then_the_right_one(page, live_server: LiveServer):
    seed_learner(live_server, "leaving@example.com")
    log_in(page, "leaving@example.com")
    page.goto("/settings/security")
    page.get_by_role("link", name="Delete my account…").click()
    expect(page.locator("#what-stops")).to_contain_text("calendar address stops working")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Delete my account and all my data").click()
    assert "That is not your password." in error_by(page, "delete-password")
    expect(page.locator("#what-stops")).to_be_visible()  # still asking, still here

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account and all my data").click()
    page.wait_for_url(live_server.url + "/")
    expect(page.locator(".flashes")).to_contain_text("Your account and all its data are deleted.")
    page.goto("/login")  # the account is gone: logging in fails like any wrong password
    page.get_by_label("Email").fill("leaving@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert "Email or password is incorrect." in error_by(page, "password")
