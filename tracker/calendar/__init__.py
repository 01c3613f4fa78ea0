"""The calendar feed: a secret address per learner, the cached iCalendar it serves."""

from flask import Flask

from . import feed
from .polls import FastPolls
from .views import bp


def init_app(app: Flask) -> None:
    """Add the feed's pages and put the fast path for cached polls in front of Flask."""
    feed.init_app(app)
    app.register_blueprint(bp)
    app.wsgi_app = FastPolls(app, app.wsgi_app)  # type: ignore[method-assign]
