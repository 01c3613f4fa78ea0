"""The calendar feed's pages: the feed and the download, Rotate, the alarm switch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..database import db
from ..models import User
from ..web.forms import ActionForm
from ..web.urls import next_or_dashboard
from . import polls
from .card import AlarmForm
from .feed import Feed, user_feed
from .tokens import issue_token

bp = Blueprint("calendar", __name__)

DOWNLOAD_HEADERS = {"Cache-Control": "private, no-cache",
                    "Content-Disposition": "attachment; filename=roadmap.ics"}


class _FeedResponse(Response):
    def get_wsgi_headers(self, environ: Any) -> Any:
        headers = super().get_wsgi_headers(environ)
        # Werkzeug drops Last-Modified from a 304 as an "entity header" (RFC 2616); RFC 9110
        # lets a 304 carry it, and clients that revalidate by date need it repeated.
        if self.status_code == 304 and "Last-Modified" in self.headers:
            headers["Last-Modified"] = self.headers["Last-Modified"]
        return headers


def _respond(feed: Feed, extra: Mapping[str, str]) -> Response:
    if_none_match = request.headers.get("If-None-Match")
    if_modified_since = request.headers.get("If-Modified-Since")
    if not polls.not_modified(feed.etag, feed.modified_at, if_none_match, if_modified_since):
        feed = feed.with_body(db.engine) or user_feed(_user(feed.user_id))
    status, headers, body = polls.answer(feed, if_none_match, if_modified_since, extra)
    response = _FeedResponse(body, status, headers)
    if status == 304:
        del response.headers["Content-Type"]
    return response


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    assert user is not None
    return user


@bp.get("/calendar/<token>.ics")
def feed(token: str) -> ResponseReturnValue:
    """Serve a learner's feed; unknown, malformed and rotated tokens are the same 404."""
    conditional = "If-None-Match" in request.headers or "If-Modified-Since" in request.headers
    row = polls.lookup(db.engine, token, conditional)
    if row is None:  # calendar apps read no page: the same few bytes for every bad token
        return "No such calendar.\n", 404, {"Content-Type": "text/plain; charset=utf-8"}
    feed = polls.cached(current_app, row) or user_feed(_user(row.id))
    return _respond(feed, polls.FEED_HEADERS)


@bp.get("/plan/roadmap.ics")
@login_required
def download() -> ResponseReturnValue:
    """Download the same calendar as a file, for a one-off import."""
    return _respond(user_feed(current_user), DOWNLOAD_HEADERS)


@bp.post("/calendar/rotate")
@login_required
def rotate() -> ResponseReturnValue:
    """Replace the feed address; the old one answers 404 from now on."""
    if ActionForm().validate():
        had = current_user.feed_token_hash is not None
        issue_token(current_user)
        db.session.commit()
        flash("New calendar address made. The old one no longer works: subscribe again "
              "with the new one." if had else "Calendar address made.")
    return redirect(next_or_dashboard(request.form.get("next")))


@bp.post("/calendar/alarm")
@login_required
def alarm() -> ResponseReturnValue:
    """Turn the alarm on the feed's events on or off."""
    form = AlarmForm()
    if form.validate():
        if form.feed_alarm.data != current_user.feed_alarm:
            # The setting is part of the feed's cache key: the next poll rebuilds it.
            current_user.feed_alarm = form.feed_alarm.data
            db.session.commit()
        flash("Calendar alarms are on: your calendar app shows them after its next refresh."
              if form.feed_alarm.data else "Calendar alarms are off.")
    return redirect(next_or_dashboard(request.form.get("next")))
