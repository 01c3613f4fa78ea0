"""Every main page, on a desktop and a phone: no serious accessibility problem, a screenshot
for the reviewer, and a first load under 200 KB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import check_a11y, log_in, screenshot, seed_learner

MAX_PAGE_BYTES = 200_000


def answer_questions(page: Any) -> None:
    """Pick the first answer of each question, a screen at a time, up to the recommendation."""
    while "/decide/result" not in page.url:
        page.locator("form.questions fieldset input").first.check()
        page.locator("form.questions button[value=next]").click()
        page.wait_for_load_state()


def tour(page: Any, email: str) -> Iterator[str]:
    """Visit each main page in turn, yielding its name once it is loaded."""
    page.goto("/")
    yield "landing"
    page.goto("/signup")
    yield "signup"
    page.goto("/login")
    yield "login"
    log_in(page, email)
    page.goto("/decide")
    yield "decide"
    answer_questions(page)
    yield "result"
    page.goto("/dashboard")
    yield "dashboard"
    page.locator(".milestone.done a").first.click()
    page.wait_for_url("**/milestones/*")
    yield "milestone"
    page.goto("/replan")
    yield "replan"
    for section in ("", "/mail", "/calendar", "/security", "/data"):
        page.goto("/settings" + section)
        yield "settings" + section.replace("/", "-")


def page_weight(responses: list[Any]) -> int:
    """Sum the bodies of the last page load: its document and everything after it."""
    first = max(i for i, r in enumerate(responses) if r.request.resource_type == "document")
    return sum(len(r.body()) for r in responses[first:] if r.ok)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_main_pages(viewport, scheme, new_context, live_server):
    """Check each main page in both colour schemes: axe finds nothing serious (contrast
    included), under 200 KB, all from this server."""
    email = f"tour-{viewport}-{scheme}@example.com"
    seed_learner(live_server, email, started_days_ago=21, done=6)  # three weeks in, a little behind
    page = new_context(viewport, color_scheme=scheme).new_page()
    suffix = "" if scheme == "light" else "-dark"
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    page.route("**/*", lambda route: route.continue_())  # routing turns the HTTP cache off
    elsewhere: list[str] = []  # nothing comes from a CDN or any other host
    page.on("request", lambda r: r.url.startswith(live_server.url) or elsewhere.append(r.url))
    problems: dict[str, list[str]] = {}
    weights: dict[str, int] = {}
    for name in tour(page, email):
        weights[name] = page_weight(responses)
        responses.clear()
        screenshot(page, name + suffix, viewport)
        if name == "dashboard":  # what the README shows: the first screen
            screenshot(page, name + suffix, viewport, full_page=False)
        found = check_a11y(page)
        if page.locator("main h1").count() != 1:
            found.append("not exactly one h1 in main")
        if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            found.append("wider than the screen: it scrolls sideways")
        if weights[name] > MAX_PAGE_BYTES:
            found.append(f"{weights[name]} bytes on first load, over {MAX_PAGE_BYTES}")
        if found:
            problems[name] = found
    print(f"{viewport} page weights (bytes):", weights)
    assert len(weights) == 13
    assert problems == {}
    assert elsewhere == []


def test_keyboard_skip_link_and_visible_focus(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0  # on screen once focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Sign up — it's free")
    style = focused.evaluate(
        "e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]"
    )
    assert style == ["solid", "3px"]


def test_the_policy_stops_an_injected_script_and_framing(browser, live_server):
    # What the policy is for: were an attacker's markup to reach a page, its inline script
    # would not run, and no other site can frame a page to trick a click on its buttons.
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/login")
        with page.expect_console_message(lambda message: "script-src" in message.text):
            ran = page.evaluate("""() => {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.head.appendChild(script);
                return window.injected === true;
            }""")
        assert ran is False
        with page.expect_console_message(lambda message: "frame-ancestors" in message.text):
            page.set_content(f'<iframe src="{live_server.url}/login"></iframe>')
        assert [frame.url for frame in page.frames[1:]] == ["chrome-error://chromewebdata/"]
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_an_error_page_is_in_the_sites_layout_and_accessible(viewport, scheme, new_context):
    page = new_context(viewport, color_scheme=scheme).new_page()
    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    screenshot(page, "error-404" + ("" if scheme == "light" else "-dark"), viewport)
    assert check_a11y(page) == []


def test_a_learner_picks_dark_on_a_light_device_and_back(new_context, live_server):
    seed_learner(live_server, "theme@example.com")
    page = new_context("desktop", color_scheme="light").new_page()
    log_in(page, "theme@example.com")

    def background() -> str:
        return page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")

    page.goto("/settings")
    light = background()
    page.get_by_label("Colour scheme").select_option("dark")
    page.get_by_role("button", name="Save profile").click()
    page.goto("/dashboard")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert background() != light and background() == "rgb(15, 20, 25)"
    assert check_a11y(page) == []
    page.goto("/settings")
    page.get_by_label("Colour scheme").select_option("auto")  # follow the device again
    page.get_by_role("button", name="Save profile").click()
    page.goto("/dashboard")
    assert page.locator("html").get_attribute("data-theme") is None and background() == light
