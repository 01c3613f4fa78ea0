"""The calendar feed's pages: the feed and download views, Rotate, the alarm switch.

Tokens are never stored. A token is derived from SECRET_KEY and a random per-learner salt,
so the settings page can show the URL again; only its SHA-256 is kept, for the lookup.
Every account gets one when it is created (Rotate issues one for an account without);
a new SECRET_KEY changes every token, and learners then press Rotate for a new address.
How the feed is cached and answered is in tracker.feeds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    has_app_context,
    redirect,
    request,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField

from . import feeds
from .db import db
from .feeds import FEED_HEADERS, Feed, load_user, user_feed
from .forms import ActionForm, local_target
from .models import User, utcnow

bp = Blueprint("calendar", __name__)

DOWNLOAD_HEADERS = {"Cache-Control": "private, no-cache",
                    "Content-Disposition": "attachment; filename=roadmap.ics"}


# -- tokens -------------------------------------------------------------------------------

def _derive(salt: str) -> str:
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else bytes(key or b"")
    mac = hmac.new(key, f"feed:{salt}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def issue_token(user: User) -> str:
    """Give the learner a new feed token (the old URL stops working) and return it."""
    user.feed_token_salt = secrets.token_urlsafe(16)
    token = _derive(user.feed_token_salt)
    user.feed_token_hash = feeds.digest(token)
    return token


def feed_token(user: User) -> str | None:
    """Return the learner's feed token; None without one, or after SECRET_KEY changed."""
    if not user.feed_token_salt or not user.feed_token_hash:
        return None
    token = _derive(user.feed_token_salt)
    return token if hmac.compare_digest(feeds.digest(token), user.feed_token_hash) else None


def feed_url(token: str) -> str:
    """Return the absolute https (or http) feed URL for a token."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/calendar/{token}.ics"


def webcal_url(url: str) -> str:
    """Return the webcal:// form of a feed URL, which calendar apps open as a subscription."""
    return "webcal://" + url.partition("://")[2]


@sa.event.listens_for(User, "before_insert")
def _token_for_new_user(_mapper: Any, _connection: Any, user: User) -> None:
    # Every account gets its feed address at sign-up. Inserts outside an app (seeding
    # scripts) leave it to the Rotate button.
    if user.feed_token_hash is None and has_app_context():
        issue_token(user)


# -- views ------------------------------------------------------------------------------

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
    if not feeds.not_modified(feed.etag, feed.modified_at, if_none_match, if_modified_since):
        feed = feed.read_body(db.engine) or user_feed(load_user(feed.user_id))
    status, headers, body = feeds.answer(feed, if_none_match, if_modified_since, extra)
    response = _FeedResponse(body, status, headers)
    if status == 304:
        del response.headers["Content-Type"]
    return response


@bp.get("/calendar/<token>.ics")
def feed(token: str) -> ResponseReturnValue:
    """Serve a learner's feed; unknown, malformed and rotated tokens are the same 404."""
    conditional = "If-None-Match" in request.headers or "If-Modified-Since" in request.headers
    row = feeds.lookup(db.engine, token, conditional)
    if row is None:
        abort(404)
    return _respond(feeds.cached(current_app, row) or user_feed(load_user(row.id)), FEED_HEADERS)


@bp.get("/plan/roadmap.ics")
@login_required
def download() -> ResponseReturnValue:
    """Download the same calendar as a file, for a one-off import."""
    return _respond(user_feed(current_user), DOWNLOAD_HEADERS)


# -- settings ----------------------------------------------------------------------------

class AlarmForm(FlaskForm):
    feed_alarm = BooleanField("Add an alarm to each calendar event at my reminder time")


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
    return redirect(local_target(request.form.get("next")))


@bp.post("/calendar/alarm")
@login_required
def alarm() -> ResponseReturnValue:
    """Turn the alarm on the feed's events on or off."""
    form = AlarmForm()
    if form.validate():
        if form.feed_alarm.data != current_user.feed_alarm:
            current_user.feed_alarm = form.feed_alarm.data
            current_user.calendar_changed_at = max(utcnow(), current_user.calendar_changed_at)
            db.session.commit()
        flash("Calendar alarms are on: your calendar app shows them after its next refresh."
              if form.feed_alarm.data else "Calendar alarms are off.")
    return redirect(local_target(request.form.get("next")))


def calendar_feed() -> dict[str, Any]:
    """Return what the settings partial shows: the addresses and the forms."""
    token = feed_token(current_user)
    url = feed_url(token) if token else None
    return {
        "url": url,
        "webcal": webcal_url(url) if url else None,
        # formdata=None: on a page re-rendered after another form's POST, show the saved value.
        "alarm": AlarmForm(formdata=None, feed_alarm=current_user.feed_alarm),
        "reminder_time": current_user.reminder_time,
    }


def init_app(app: Flask) -> None:
    """Register the feed's pages, the fast path for polls and the settings partial's context."""
    feeds.init_app(app)
    app.register_blueprint(bp)
    app.context_processor(lambda: {"calendar_feed": calendar_feed})
