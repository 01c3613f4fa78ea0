"""Security headers on every response: no framing, no sniffing, scripts from this site only."""

from __future__ import annotations

from flask import Flask, Response

# Scripts, styles and images come from this site only; a style attribute is the one inline
# thing allowed (a progress bar sets its width with one). No page may be framed, so a
# one-click button ("Mark done", "Pause") cannot be clicked through another site's page.
POLICY = "; ".join((
    "default-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers older than CSP 2
    "Referrer-Policy": "same-origin",  # other sites learn nothing of a learner's pages
}


def _add(response: Response) -> Response:
    # setdefault: a view that must say more (the reset page: no-referrer) keeps its own.
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Add the security headers to every response Flask makes."""
    app.after_request(_add)
