"""The Jinja filters the pages share."""

from __future__ import annotations

from datetime import date

from tracker.web.filters import day


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
