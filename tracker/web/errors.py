"""Error answers: a database that does not answer is a 503 the learner can wait out."""

from __future__ import annotations

from flask import Flask, current_app
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, OperationalError

RETRY_AFTER = 30  # seconds: a restart or a fail-over takes about that long


def database_unavailable(error: DBAPIError) -> ResponseReturnValue:
    """Answer 503 while the database is down or restarting, instead of a bare 500."""
    # Rendered without the context processors: they load the learner, from the database
    # that is down.
    page = current_app.jinja_env.get_template("errors/unavailable.html")
    return (page.render(retry_after=RETRY_AFTER), 503,
            {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """Answer lost database connections with 503 and Retry-After."""
    app.register_error_handler(OperationalError, database_unavailable)
