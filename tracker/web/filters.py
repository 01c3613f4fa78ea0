"""Jinja filters (and the error summary's one global) the pages share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import ua_parser
from babel.dates import format_skeleton
from flask import Flask
from flask_login import current_user
from markupsafe import Markup, escape

from ..core.scheduling import WEEKDAYS
from .forms import form_errors

# Every date on every page reads one way, the learner's: "Sun, 6 Dec 2026" in en_GB,
# "Sun, Dec 6, 2026" in en_US, "So., 6. Dez. 2026" in de_DE (CLDR, through Babel).
DATE_SKELETON = "yMMMEd"


def learners_locale() -> str:
    """Return the locale the signed-in learner reads dates in (en_001 for anyone else)."""
    return getattr(current_user, "locale", None) or "en_001"


def day_text(value: date, locale: str | None = None) -> str:
    """Write a date as the learner reads it: for flash messages and other plain text."""
    return _day_text(value, locale or learners_locale())


@lru_cache(maxsize=8192)
def _day_text(value: date, locale: str) -> str:
    return format_skeleton(DATE_SKELETON, value, locale=locale)


def day(value: date) -> Markup:
    """Render a date as a ``<time>`` element: the learner's way for people, ISO for machines."""
    return _day(value, learners_locale())


# A page shows a few dozen dates out of the few hundred a plan spans, and formatting is the
# costliest call in a dashboard row: the rendered element is kept by date and locale.
@lru_cache(maxsize=8192)
def _day(value: date, locale: str) -> Markup:
    # A filter rather than a macro, and no Markup.format: either cost more than the row.
    return Markup(f'<time datetime="{value.isoformat()}">{escape(_day_text(value, locale))}'
                  '</time>')


def weekdays(days: Iterable[int]) -> str:
    """Name study days as a list: "Monday, Wednesday, Friday"."""
    return ", ".join(WEEKDAYS[d] for d in sorted(days))


def masked(email: str) -> str:
    """Show an address so its owner knows it and a stranger holding a link learns little:
    l•••@example.com."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


@lru_cache(maxsize=256)
def browser(user_agent: str) -> str:
    """Name a browser the way a person would: "Chrome on Linux", "Mobile Safari on iOS"."""
    parsed = ua_parser.parse(user_agent) if user_agent else None
    if parsed is None or parsed.user_agent is None:
        return "An unknown browser"
    name = parsed.user_agent.family
    return f"{name} on {parsed.os.family}" if parsed.os and parsed.os.family != "Other" else name


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(day)
    app.add_template_filter(masked)
    app.add_template_filter(weekdays)
    app.add_template_filter(browser)
    app.add_template_global(form_errors)
