"""Jinja filters (and the error summary's one global) the pages share."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import ua_parser
from flask import Flask
from markupsafe import Markup, escape

from .forms import form_errors


# A page shows a few dozen dates out of the few hundred a plan spans, and strftime is the
# costliest call in a dashboard row: the rendered element is kept by date and format.
@lru_cache(maxsize=4096)
def day(value: date, fmt: str = "%a %-d %b") -> Markup:
    """Render a date as a ``<time>`` element: text for people, ISO date for machines."""
    # A filter rather than a macro, and no Markup.format: either cost more than the row.
    return Markup(f'<time datetime="{value.isoformat()}">{escape(value.strftime(fmt))}</time>')


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
    app.add_template_filter(browser)
    app.add_template_global(form_errors)
