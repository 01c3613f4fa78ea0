"""Accounts and who is signed in: make an account, find one by address, start a session."""

from __future__ import annotations

import hmac
from datetime import datetime

from flask import request, session
from flask_limiter.util import get_remote_address
from flask_login import login_user
from sqlalchemy import bindparam, func, select

from ..calendar.tokens import issue_token
from ..database import db
from ..extensions import login_manager
from ..models import User


def new_account(email: str, password_hash: str, now: datetime) -> User:
    """Add an account with its calendar feed address; the caller commits."""
    user = User(email=email, password_hash=password_hash, created_at=now,
                calendar_changed_at=now)
    issue_token(user)
    db.session.add(user)
    return user


def find_user(email: str) -> User | None:
    """Return the account for an email address, matched case-insensitively."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def log_in(user: User) -> None:
    """Start a fresh session for the learner: no fixation, and their password's mark."""
    session.clear()
    login_user(user)


# Every signed-in request runs it: a built statement costs two thirds of Session.get, whose
# identity-map lookup never hits in a session that lives for one request.
_USER_BY_ID = select(User).where(User.id == bindparam("id"))


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Return the logged-in learner for the session, unless the password changed since."""
    user_id, _, _mark = session_id.partition(":")
    if not user_id.isdigit() or len(user_id) > 18:  # ids are 64-bit
        return None
    user = db.session.scalars(_USER_BY_ID, {"id": int(user_id)}).first()
    return user if user and hmac.compare_digest(user.get_id(), session_id) else None


def email_key() -> str:
    """Return the rate-limit key of a form that names an account: its address."""
    return request.form.get("email", "").strip().lower() or get_remote_address()
