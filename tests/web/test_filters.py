"""The Jinja filters the pages share."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.web.filters import browser, day, masked


def test_day_is_a_time_element_with_an_iso_date() -> None:
    assert day(date(2027, 1, 4)) == '<time datetime="2027-01-04">Mon 4 Jan</time>'
    assert (
        day(date(2027, 1, 4), "%A %-d %B %Y")
        == '<time datetime="2027-01-04">Monday 4 January 2027</time>'
    )


def test_day_escapes_what_the_format_adds() -> None:
    assert day(date(2027, 1, 4), "<%d>") == '<time datetime="2027-01-04">&lt;04&gt;</time>'


def test_templates_use_it(app) -> None:
    with app.app_context():
        html = app.jinja_env.from_string("{{ d | day('%-d %b') }}").render(d=date(2027, 2, 1))
    assert html == '<time datetime="2027-02-01">1 Feb</time>'


def test_day_is_kept_by_date_and_format() -> None:
    first = day(date(2027, 3, 1))
    assert day(date(2027, 3, 1)) is first  # the same element, not formatted again
    assert day(date(2027, 3, 1), "%d %B") == '<time datetime="2027-03-01">01 March</time>'
    assert day(date(2027, 3, 2)) == '<time datetime="2027-03-02">Tue 2 Mar</time>'


@pytest.mark.parametrize(("user_agent", "name"), [
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "Chrome on Linux"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Mobile Safari on iOS"),
    ("", "An unknown browser"),
    ("curl/8.5.0", "curl"),
])
def test_browser_names_what_signed_in(user_agent: str, name: str) -> None:
    assert browser(user_agent) == name


def test_masked_keeps_the_domain() -> None:
    assert masked("learner@example.com") == "l•••@example.com"
