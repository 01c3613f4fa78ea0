"""The learner's settings: mail times, address, password, calendar, deletion, unsubscribe."""

from flask import Flask

from .views import bp


def init_app(app: Flask) -> None:
    """Add the settings and unsubscribe pages."""
    app.register_blueprint(bp)
