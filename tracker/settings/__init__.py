"""The learner's settings: mail times, address, password, calendar, their data, deletion,
unsubscribe."""

from flask import Flask

from . import data  # noqa: F401  (its pages join the blueprint)
from .views import bp


def init_app(app: Flask) -> None:
    """Add the settings and unsubscribe pages."""
    app.register_blueprint(bp)
