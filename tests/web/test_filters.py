"""The Jinja filters the pages share."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.web.filters import browser, day, day_text, masked


def test_day_is_a_time_element_with_an_iso_date() -> None:
    # Outside a request nobody is signed in: the international English way.
    assert day(date(2027, 1, 4)) == '<time datetime="2027-01-04">Mon, 4 Jan 2027</time>'


@pytest.mark.parametrize(("locale", "text"), [
    ("en_GB", "Mon, 4 Jan 2027"),
    ("en_US", "Mon, Jan 4, 2027"),
    ("de_DE", "Mo., 4. Jan. 2027"),
    ("fr_FR", "lun. 4 janv. 2027"),
    ("ja_JP", "2027年1月4日(月)"),
])
def test_every_date_reads_the_learners_way(locale: str, text: str) -> None:
    assert day_text(date(2027, 1, 4), locale) == text


def test_pages_write_dates_the_signed_in_learners_way(client, auth, make_user,
                                                     make_plan) -> None:
    make_plan(make_user(locale="de_DE"), start=date(2027, 1, 4))
    auth.login()
    page = client.get("/dashboard").get_data(as_text=True)
    assert '<time datetime="2027-01-04">Mo., 4. Jan. 2027</time>' in page


def test_day_is_kept_by_date_and_locale() -> None:
    first = day(date(2027, 3, 1))
    assert day(date(2027, 3, 1)) is first  # the same element, not formatted again
    assert day(date(2027, 3, 2)) == '<time datetime="2027-03-02">Tue, 2 Mar 2027</time>'


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
