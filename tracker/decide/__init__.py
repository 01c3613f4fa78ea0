"""The decision flow: the questions, the recommendation and why, starting the plan."""

from flask import Flask

from .views import bp


def init_app(app: Flask) -> None:
    """Add the decision flow's pages."""
    app.register_blueprint(bp)
