"""Error answers in the site's layout and plain words; a database that does not answer is a
503 the learner can wait out."""

from __future__ import annotations

from flask import Flask, current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

RETRY_AFTER = 30  # seconds: a restart or a fail-over takes about that long

# What each error says, as a person reads it: a title and what to do next.
PLAIN = {
    400: ("This page could not read what was sent",
          "A form may have been open for a long time, or sent twice. Go back, reload the "
          "page and try again."),
    403: ("That is not allowed", "This page is not for this account."),
    404: ("Page not found",
          "There is no page at this address, or it is not yours. Links in old emails stop "
          "working after a while."),
    405: ("This address does not take that request",
          "Go back and use the page's own buttons."),
    413: ("That is too large to send", "Shorten it, then send it again."),
    429: ("Too many tries for now",
          "To keep accounts safe, tries from here are limited for a while. Wait a little, "
          "then try again."),
    500: ("Something went wrong on our side",
          "Nothing you saved is lost. Try again in a minute."),
}


def http_error(error: HTTPException) -> ResponseReturnValue:
    """Answer an HTTP error with the site's page for it, keeping its status and headers."""
    code = error.code or 500
    title, text = PLAIN.get(code, (error.name, error.description or ""))
    response = error.get_response()  # keeps Allow, Retry-After and the like
    response.set_data(render_template("errors/error.html", code=code, title=title, text=text,
                                      home=url_for("index")))
    response.content_type = "text/html; charset=utf-8"
    return response


def database_unavailable(error: DBAPIError) -> ResponseReturnValue:
    """Answer 503 while the database is down or restarting, instead of a bare 500."""
    # Rendered without the context processors: they load the learner, from the database
    # that is down.
    page = current_app.jinja_env.get_template("errors/unavailable.html")
    return (page.render(retry_after=RETRY_AFTER), 503,
            {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """Answer HTTP errors in the site's layout, and lost database connections with 503."""
    # An unexpected exception reaches it as InternalServerError (its traceback is logged).
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(OperationalError, database_unavailable)
