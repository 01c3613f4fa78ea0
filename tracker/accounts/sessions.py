"""Accounts and who is signed in: make an account, find one by address, start and end sessions.

Each signed-in browser is a ``LoginSession`` row. The session cookie (signed by Flask) holds
a random token whose SHA-256 is the row's key: logging out deletes the row, so a copy of
the cookie taken before is worth nothing after.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
from flask import Response, after_this_request, request, session
from flask_limiter.util import get_remote_address
from flask_login import login_user, logout_user
from sqlalchemy import bindparam, delete, func, select, update

from ..calendar.tokens import issue_token
from ..database import db
from ..extensions import login_manager
from ..models import LoginSession, User, utcnow

# How often "last seen" is written: often enough to tell a stale session, seldom enough
# that reading a page stays a read.
SEEN_EVERY = timedelta(minutes=5)


def new_account(email: str | None, password_hash: str, now: datetime, timezone: str = "UTC",
                locale: str = "en_001", signup_email: str | None = None) -> User:
    """Add an account with its calendar feed address; the caller commits."""
    user = User(email=email, password_hash=password_hash, created_at=now,
                calendar_changed_at=now, timezone=timezone, locale=locale,
                signup_email=signup_email)
    issue_token(user)
    db.session.add(user)
    return user


def find_user(email: str) -> User | None:
    """Return the account for an email address, matched case-insensitively."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def log_in(user: User, now: datetime, *, end_others: bool = False) -> None:
    """Start a fresh signed-in session for the learner in this browser; the caller commits.

    ``end_others`` signs every other browser out (a new password).
    """
    end_session()  # no fixation: whatever this browser had is over
    if end_others:
        db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(
        user_id=user.id, token_hash=_digest(token), created_at=now, last_seen_at=now,
        user_agent=request.headers.get("User-Agent", "")[:200],
        address=(request.remote_addr or "")[:64]))
    user.session_token = token
    login_user(user)


def end_session() -> None:
    """Sign this browser out: its session row goes, and the cookie's contents with it."""
    token = session.get("_user_id")
    if isinstance(token, str) and token:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))
    logout_user()
    session.clear()


def is_this_browser(row: LoginSession, user: User) -> bool:
    """Say whether a session row is the one this browser is signed in with."""
    return bool(user.session_token) and row.token_hash == _digest(user.session_token)


# Every signed-in request runs it: one statement, built once.
_SIGNED_IN = (
    select(User, LoginSession.id, LoginSession.last_seen_at)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(LoginSession.token_hash == bindparam("token_hash"))
)


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Return the learner this browser's session belongs to; None once it has ended."""
    if len(token) != 43:  # 32 random bytes, base64url
        return None
    row = db.session.execute(_SIGNED_IN, {"token_hash": _digest(token)}).first()
    if row is None:
        return None
    user, session_id, last_seen = row
    user.session_token = token
    now = utcnow()
    if now - last_seen > SEEN_EVERY:
        _mark_seen_after_response(session_id, now)
    return user


def _mark_seen_after_response(session_id: int, now: datetime) -> None:
    # After the response, on a connection of its own: the page's own transaction may be a
    # read-only snapshot, and on SQLite a second writer beside its write lock would wait
    # for itself.
    engine = db.engine

    @after_this_request
    def later(response: Response) -> Response:
        response.call_on_close(partial(_mark_seen, engine, session_id, now))
        return response


def _mark_seen(engine: sa.Engine, session_id: int, now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(update(LoginSession).where(LoginSession.id == session_id)
                           .values(last_seen_at=now))


def email_key() -> str:
    """Return the rate-limit key of a form that names an account: its address."""
    return request.form.get("email", "").strip().lower() or get_remote_address()
