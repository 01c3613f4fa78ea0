"""What every page shares: security headers, filters, links, form fields, /healthz, /."""

from flask import Flask

from . import filters, headers, health, landing


def init_app(app: Flask) -> None:
    """Add the headers, filters, health check and landing page."""
    filters.init_app(app)
    headers.init_app(app)
    health.init_app(app)
    landing.init_app(app)
