"""Reminders: the sweep that queues what is due, the reminder and weekly mail, and the
pages their links open."""

from flask import Flask

from .views import bp


def init_app(app: Flask) -> None:
    """Add the pages a reminder's Mark done, Skip and Push links open."""
    app.register_blueprint(bp)
