"""What every page shares: security headers, filters, links, form fields, error answers,
/healthz, /."""

from flask import Flask

from . import errors, filters, headers, health, landing


def init_app(app: Flask) -> None:
    """Add the headers, filters, error answers, health check and landing page."""
    errors.init_app(app)
    filters.init_app(app)
    headers.init_app(app)
    health.init_app(app)
    landing.init_app(app)
