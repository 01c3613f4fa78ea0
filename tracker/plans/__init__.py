"""A learner's plan: the one current plan, every change to it, the dashboard's pages."""

from flask import Flask

from . import archive, completion, own, review_views, schedule, upload  # noqa: F401  (their pages join the blueprint)
from .views import bp


def init_app(app: Flask) -> None:
    """Add the dashboard and plan pages."""
    app.register_blueprint(bp)
