"""The cached feed: built once per change, found by token, answered with validators.

The serialized calendar is kept in ``feed_cache`` under a key made of everything its bytes
depend on (``calendar_changed_at``, the alarm setting, the base URL, the roadmap text) and
rebuilt by the first request after a change, so a poll with nothing new costs one indexed
SELECT. ``Last-Modified`` comes from that row and only ever moves forward. Polls that hit
the cache are answered by ``FastPolls``, a WSGI middleware in front of Flask; everything
else goes through the views in tracker.calendar, which give the same answers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session
from werkzeug.http import HTTP_STATUS_CODES, http_date, parse_date, parse_etags

from . import ical, progress
from .catalog import get_catalog
from .db import db, read
from .headers import HEADERS
from .models import FeedCache, Milestone, Plan, User, utcnow

CONTENT_TYPE = "text/calendar; charset=utf-8"
# Bump when build_calendar makes different bytes from the same data: every cached feed is
# then rebuilt on its next poll.
FORMAT = "1"
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes of HMAC-SHA256, base64url, no padding
# Private: the URL is a secret. no-cache: clients may keep a copy but must revalidate it.
# The security headers too, which polls answered in front of Flask would otherwise lack.
FEED_HEADERS = {"Cache-Control": "private, no-cache", "X-Robots-Tag": "noindex", **HEADERS}


def digest(token: str) -> str:
    """Return what is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


# -- building and caching ----------------------------------------------------------------

def calendar_bytes(user: User) -> bytes:
    """Build the learner's calendar from the current plan (an empty calendar without one)."""
    catalog = get_catalog()
    plan = progress.current_plan(user)
    name = "Roadmap Tracker"
    entries: list[ical.Entry] = []
    if plan is not None:
        outcome = catalog.decision.outcomes.get(plan.outcome)
        name = f"Roadmap Tracker: {outcome.title if outcome else plan.outcome}"
        for m in plan.milestones:
            step = catalog.milestone(m.step_id)
            roadmap = catalog.roadmaps.get(m.step_id.partition("/")[0])
            entries.append(ical.Entry(
                uid=m.uid,
                sequence=m.sequence,
                due=m.due_date,
                updated_at=m.updated_at,
                plan=roadmap.language if roadmap else plan.outcome,
                title=step.title if step else m.step_id,
                path=f"/milestones/{m.id}",
                done=m.is_done,
                topic=step.topic if step else "",
                learn=step.learn if step else "",
                done_when=step.done_when if step else (),
                links=tuple((link.title, link.url) for link in step.links) if step else (),
                note=m.note,
                evidence_url=m.evidence_url,
            ))
    alarm_at = user.reminder_time if user.feed_alarm else None
    return ical.build_calendar(name, entries, base_url=current_app.config["BASE_URL"],
                               alarm_at=alarm_at)


def _cache_key(app: Flask, changed_at: datetime, alarm: bool, reminder_time: Any) -> str:
    parts = (FORMAT, changed_at.isoformat(), str(alarm), str(reminder_time),
             app.config["BASE_URL"], app.extensions["feeds"]["catalog"])
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Feed:
    """What a response needs: the validators, and the body when it is already at hand."""

    user_id: int
    etag: str
    modified_at: datetime
    body: bytes | None = None

    def read_body(self, engine: sa.Engine) -> Feed | None:
        """Return this feed with its body; None if the cache row has moved on since."""
        if self.body is not None:
            return self
        row = read(engine, _BODY, user_id=self.user_id, etag=self.etag)
        return Feed(self.user_id, self.etag, self.modified_at, row.body) if row else None


def load_user(user_id: int) -> User:
    """Return a learner by id, in the request's session."""
    user = db.session.get(User, user_id)
    assert user is not None
    return user


def user_feed(user: User) -> Feed:
    """Return the learner's feed, from the cache when it is current, else rebuilt."""
    cache = db.session.get(FeedCache, user.id)
    key = _cache_key(current_app, user.calendar_changed_at, user.feed_alarm, user.reminder_time)
    if cache is not None and cache.key == key:
        return Feed(user.id, cache.etag, cache.modified_at, cache.body)
    body = calendar_bytes(user)
    etag = hashlib.sha256(body).hexdigest()[:32]
    changed = _second(user.calendar_changed_at)
    if cache is None:
        modified = changed
        cache = FeedCache(user_id=user.id)
        db.session.add(cache)
    elif cache.etag == etag:
        modified = max(_second(cache.modified_at), changed)
    else:
        # The bytes changed: Last-Modified must move on even if calendar_changed_at did
        # not (a new base URL, roadmap text or reminder time), or If-Modified-Since lies.
        modified = max(changed, _second(cache.modified_at) + timedelta(seconds=1))
    cache.key, cache.etag, cache.modified_at, cache.body = key, etag, modified, body
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # another worker stored the same feed first
    return Feed(user.id, etag, modified, body)


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)  # HTTP dates have whole seconds


@sa.event.listens_for(Session, "before_flush")
def _deletions_change_the_calendar(session: Session, _context: Any, _instances: Any) -> None:
    # A deleted plan or milestone changes the feed, but no row is left to say when: bump
    # calendar_changed_at so the cache key moves on (and with it Last-Modified).
    for obj in list(session.deleted):
        if isinstance(obj, Milestone):
            user = obj.plan.user if obj.plan is not None else None
        elif isinstance(obj, Plan):
            user = obj.user
        else:
            continue
        if user is not None and user not in session.deleted:
            user.calendar_changed_at = max(utcnow(),
                                           user.calendar_changed_at + timedelta(microseconds=1))


# The poll's one SELECT: the learner's state and the cache's validators, by the token's hash.
_POLL_SELECT = (
    sa.select(User.id, User.feed_token_hash, User.calendar_changed_at, User.feed_alarm,
              User.reminder_time, FeedCache.key, FeedCache.etag, FeedCache.modified_at)
    .outerjoin(FeedCache, FeedCache.user_id == User.id)
    .where(User.feed_token_hash == sa.bindparam("digest"))
)
_POLL_WITH_BODY = _POLL_SELECT.add_columns(FeedCache.body)
_BODY = sa.select(FeedCache.body).where(FeedCache.user_id == sa.bindparam("user_id"),
                                        FeedCache.etag == sa.bindparam("etag"))


def lookup(engine: sa.Engine, token: str, conditional: bool) -> Any:
    """Return the poll row for a current token, or None for any other token."""
    if not TOKEN.fullmatch(token):
        return None
    hashed = digest(token)
    # A poll without validators wants the body anyway: fetch it in the same SELECT.
    row = read(engine, _POLL_SELECT if conditional else _POLL_WITH_BODY, digest=hashed)
    if row is None or not hmac.compare_digest(row.feed_token_hash, hashed):
        return None
    return row


def cached(app: Flask, row: Any) -> Feed | None:
    """Return the cached feed for a poll row, or None when it must be rebuilt."""
    if row.key != _cache_key(app, row.calendar_changed_at, row.feed_alarm, row.reminder_time):
        return None
    return Feed(row.id, row.etag, row.modified_at, getattr(row, "body", None))


# -- HTTP --------------------------------------------------------------------------------

def not_modified(etag: str, modified_at: datetime, if_none_match: str | None,
                 if_modified_since: str | None) -> bool:
    """Say whether a conditional GET gets a 304, by RFC 9110 13.2.2."""
    # If-None-Match wins; If-Modified-Since counts only without it, and is ignored when it
    # is not a valid date or lies in the future.
    if if_none_match is not None:
        return if_none_match == f'"{etag}"' or parse_etags(if_none_match).contains_weak(etag)
    since = parse_date(if_modified_since)
    if since is None or since > utcnow():
        return False
    return _second(modified_at) <= since


def answer(feed: Feed, if_none_match: str | None, if_modified_since: str | None,
            extra: Mapping[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Return the status, headers and body for a feed request (the body None-free)."""
    headers = [("ETag", f'"{feed.etag}"'), ("Last-Modified", http_date(feed.modified_at)),
               *extra.items()]
    if not_modified(feed.etag, feed.modified_at, if_none_match, if_modified_since):
        return 304, headers, b""
    assert feed.body is not None
    headers += [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(feed.body)))]
    return 200, headers, feed.body


class FastPolls:
    """Answer feed polls that hit the cache in WSGI, in front of Flask.

    Polls are most of the app's traffic and need no request context, session, CSRF check,
    login or routing: here one cached poll costs a SELECT and a few header lines, less
    than a bare Flask route. Anything else (an unknown token, a feed to rebuild, an error)
    goes on to the ``feed`` view in tracker.calendar, which gives the same answers.
    """

    def __init__(self, app: Flask, wsgi_app: Any) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        with app.app_context():
            self.engine = db.engine

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if path.startswith("/calendar/") and path.endswith(".ics") and method in ("GET", "HEAD"):
            try:
                result = self._poll(path[len("/calendar/"):-len(".ics")], environ)
            except Exception:
                self.app.logger.warning("feed fast path failed; the view answers", exc_info=True)
                result = None
            if result is not None:
                status, headers, body = result
                start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
                return [body] if body and method == "GET" else []
        return self.wsgi_app(environ, start_response)

    def _poll(self, token: str, environ: dict[str, Any]) -> Any:
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
        conditional = if_none_match is not None or if_modified_since is not None
        row = lookup(self.engine, token, conditional)
        feed = cached(self.app, row) if row is not None else None
        if feed is None:
            return None
        if not not_modified(feed.etag, feed.modified_at, if_none_match, if_modified_since):
            feed = feed.read_body(self.engine)
            if feed is None:
                return None
        return answer(feed, if_none_match, if_modified_since, FEED_HEADERS)




def init_app(app: Flask) -> None:
    """Fingerprint the roadmap text the feeds show, and put the fast path in front of Flask."""
    # The roadmap text goes into every feed: a changed catalog must rebuild them.
    catalog = repr(sorted(app.extensions["catalog"].roadmaps.items()))
    app.extensions["feeds"] = {"catalog": hashlib.sha256(catalog.encode()).hexdigest()}
    app.wsgi_app = FastPolls(app, app.wsgi_app)  # type: ignore[method-assign]
