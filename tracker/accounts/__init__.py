"""Accounts: sign-up, log-in, sessions, the emailed links and the mail they come in."""

from flask import Flask

from .views import bp


def init_app(app: Flask) -> None:
    """Add the account pages."""
    app.register_blueprint(bp)
