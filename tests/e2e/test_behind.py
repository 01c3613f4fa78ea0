"""Falling behind in Chromium, light and dark, desktop and phone: a calm card with the one
thing for today, pushing the rest a week, and a pause that stops the count."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in, seed_learner
from .test_adapt import check


def ink(page, name: str) -> str:
    """Return the colour a CSS custom property resolves to on this page."""
    return page.evaluate("""name => {
        const probe = document.createElement("span");
        probe.style.color = `var(${name})`;
        document.body.append(probe);
        const colour = getComputedStyle(probe).color;
        probe.remove();
        return colour;
    }""", name)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_behind_is_a_plan_not_a_verdict(viewport, scheme, new_context, live_server):
    email = f"behind-{viewport}-{scheme}@example.com"
    seed_learner(live_server, email, started_days_ago=14, done=2)
    page = new_context(viewport, color_scheme=scheme).new_page()
    log_in(page, email)
    suffix = "-dark" if scheme == "dark" else ""
    problems: dict[str, list[str]] = {}
    behind = page.locator("#behind")
    expect(behind).to_contain_text(re.compile(r"\d+ study days behind\. It happens"))
    expect(behind.get_by_role("button", name=re.compile("^Mark done"))).to_have_count(1)
    # Amber, not the red of an error: the badge is in the warning ink of this scheme.
    badge = page.locator("#pace-status").evaluate("e => getComputedStyle(e).color")
    assert badge == ink(page, "--warn") != ink(page, "--bad")
    check(page, "behind" + suffix, viewport, problems)

    behind.get_by_role("button", name="Push the rest a week").click()
    expect(page.locator(".flashes")).to_contain_text(
        re.compile(r"Pushed a week: \d+ milestones moved"))
    page.get_by_role("button", name="Pause for a break").click()
    expect(page.locator("#paused")).to_contain_text("nothing counts as late while you are away")
    expect(page.locator("#behind")).to_have_count(0)
    check(page, "paused" + suffix, viewport, problems)
    assert not problems, problems
