"""Security headers on every response: no framing, no sniffing, scripts from this site only;
and no copy kept anywhere of a private page."""

from __future__ import annotations

from flask import Flask, Response, request

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


# Every page of these shows a learner's data (the settings page: the secret feed address),
# and so does every page an emailed link opens, to whoever holds the link.
PRIVATE_BLUEPRINTS = frozenset({"plans", "settings", "decide"})
LINK_PAGES = frozenset({"accounts.verify", "accounts.verify_confirm", "accounts.reset",
                        "actions.confirm", "actions.act",
                        "accounts.change_email", "accounts.change_email_confirm"})


def _add(response: Response) -> Response:
    # setdefault: a view that must say more (the reset page: no-referrer) keeps its own.
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # No browser history, shared computer or proxy may keep a copy of a private page.
    if "Cache-Control" not in response.headers and (
        request.blueprint in PRIVATE_BLUEPRINTS or request.endpoint in LINK_PAGES
    ):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Add the security headers to every response Flask makes."""
    app.after_request(_add)
