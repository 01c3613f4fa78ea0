"""Settings in sections, in Chromium: each section its own page and save; a new calendar
address and deleting the account ask first and say what stops; sign-up suggests the
browser's time zone and the zone field searches as one types."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tracker.models import User

from .conftest import PASSWORD, log_in, seed_learner
from .test_adapt import check


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_sections_and_confirmations(viewport, scheme, new_context, live_server):
    email = f"sections-{viewport}-{scheme}@example.com"
    seed_learner(live_server, email)
    page = new_context(viewport, color_scheme=scheme).new_page()
    log_in(page, email)
    suffix = "-dark" if scheme == "dark" else ""
    problems: dict[str, list[str]] = {}
    page.goto("/settings")
    menu = page.get_by_role("navigation", name="Settings sections")
    expect(menu.get_by_role("link")).to_have_text(
        ["Profile", "Schedule and mail", "Calendar feed", "Security", "Your data"])
    expect(menu.get_by_role("link", name="Profile")).to_have_attribute("aria-current", "page")

    menu.get_by_role("link", name="Calendar feed").click()
    page.wait_for_url("**/settings/calendar")
    address = page.locator("#feed-url").input_value()
    page.get_by_role("link", name="Make a new calendar address…").click()
    expect(page.locator("#what-stops")).to_contain_text("stops updating")
    check(page, "settings-new-address" + suffix, viewport, problems)
    page.get_by_role("link", name="Cancel, keep this one").click()
    expect(page.locator("#feed-url")).to_have_value(address)  # asking changed nothing
    page.get_by_role("link", name="Make a new calendar address…").click()
    page.get_by_role("button", name="Make a new address").click()
    page.wait_for_url("**/settings/calendar")
    expect(page.locator(".flashes")).to_contain_text("The old one no longer works")
    assert page.locator("#feed-url").input_value() != address
    assert live_server.url and page.request.get(address).status == 404  # the old one is dead

    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Security").click()
    page.get_by_role("link", name="Delete my account…").click()
    expect(page.locator("#what-stops")).to_contain_text("no more email")
    check(page, "settings-delete" + suffix, viewport, problems)
    page.get_by_role("link", name="Cancel, keep my account").click()
    page.wait_for_url("**/settings/security")
    assert not problems, problems


def test_sign_up_suggests_the_browsers_time_zone(new_context, live_server):
    page = new_context("phone", timezone_id="Asia/Tokyo").new_page()
    page.goto("/signup")
    zone = page.get_by_label("Time zone", exact=True)
    expect(zone).to_have_value("Asia/Tokyo")  # from Intl.DateTimeFormat, by timezone.js
    assert page.locator("datalist#zones option[value='Europe/Berlin']").count() == 1
    zone.fill("America/Sao_Paulo")  # the learner knows better: what they type is kept
    page.get_by_label("Email").fill("tokyo@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    stored = live_server.db(lambda s: s.scalar(
        select(User.timezone).where(User.email == "tokyo@example.com")))
    assert stored == "America/Sao_Paulo"
    log_in(page, "tokyo@example.com")
    page.goto("/settings")
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("America/Sao_Paulo")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_dates_and_holidays_follow_the_learners_country(viewport, new_context, live_server):
    email = f"country-{viewport}@example.com"
    seed_learner(live_server, email, started_days_ago=3)
    page = new_context(viewport).new_page()
    log_in(page, email)
    today_text = page.locator("#today-h").inner_text()
    assert "," in today_text  # Sun, 6 Dec 2026: international English by default
    page.goto("/settings")
    page.get_by_label("Country").select_option("de_DE")
    page.get_by_role("button", name="Save profile").click()
    page.goto("/dashboard")
    german = page.locator("#today-h").inner_text()
    assert german != today_text and "." in german  # So., 6. Dez. 2026
    page.goto("/settings/mail")
    expect(page.get_by_label("Keep public holidays free of milestones")).to_be_checked()
    page.goto("/plan/schedule")
    page.get_by_label("Hours a week").select_option("5")
    page.get_by_role("button", name="Show what would change").click()
    expect(page.locator("#new-hours")).to_have_text("5")
    screenshot_problems: dict[str, list[str]] = {}
    check(page, "schedule-hours", viewport, screenshot_problems)
    assert not screenshot_problems, screenshot_problems
