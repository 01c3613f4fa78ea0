"""The account's email: confirm the address, a note that it has an account, reset the
password, confirm a new address, tell the old one it changed.

Pages only queue (``queue_*``); the worker composes (``compose_*``) and sends. A link's
token is made when the message is composed, so its lifetime starts at sending.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from ..database import db
from ..mail import outbox
from ..mail.message import Email, compose
from ..models import Notification, User, utcnow
from ..web.urls import absolute_url
from .sessions import find_user
from .tokens import (
    CHANGE_MAX_AGE,
    RESET_MAX_AGE,
    VERIFY_MAX_AGE,
    email_change_token,
    reset_token,
    verification_token,
)


def _queue(user: User | None, kind: str, dedupe_key: str, now: datetime,
           payload: dict[str, str] | None = None) -> None:
    outbox.queue(db.session, user_id=user.id if user else None, kind=kind,
                 dedupe_key=dedupe_key, due_at=now, now=now, payload=payload)


def _numbered(user: User, kind: str) -> str:
    # Each resend or change gets a key of its own.
    return f"{kind}:{user.id}:{outbox.next_number(db.session, user.id, kind)}"


def queue_verification(user: User, now: datetime) -> None:
    """Queue a confirmation email for the learner's address."""
    db.session.flush()  # a new account needs its id for the key
    _queue(user, "verify", _numbered(user, "verify"), now)


def queue_account_exists(user: User, now: datetime) -> None:
    """Queue the "someone tried to sign up with your address" email, at most one an hour."""
    _queue(user, "account-exists", f"account-exists:{user.id}:{now:%Y-%m-%dT%H}", now)


def queue_reset(email: str, now: datetime) -> None:
    """Queue a reset email to an address; the worker sends it if an account has it.

    The page does this same work for any address, so its timing tells nothing. A
    double-click within a minute sends one.
    """
    email = email.strip().lower()
    digest = hashlib.sha256(email.encode()).hexdigest()[:16]
    _queue(None, "reset", f"reset:{digest}:{now:%Y-%m-%dT%H:%M}", now, {"email": email})


def queue_email_change(user: User, new_email: str, now: datetime) -> None:
    """Queue a link to the new address that moves the account there.

    Nothing is sent when another account has the address, yet the page says the same: it
    must not tell who has an account.
    """
    if find_user(new_email) is None:
        _queue(user, "email-change", _numbered(user, "email-change"), now, {"to": new_email})


def queue_email_changed(user: User, old_email: str, now: datetime) -> None:
    """Queue the notice to the old address that the account moved away from it."""
    _queue(user, "email-changed", _numbered(user, "email-changed"), now, {"to": old_email})


def compose_verification(notification: Notification, user: User) -> Email | None:
    """Compose the confirmation email; the token is made now, so its 3 days start at sending."""
    if user.is_verified:
        return None  # confirmed meanwhile: nothing to send
    link = absolute_url("accounts.verify", token=verification_token(user, utcnow()))
    return compose(to=user.address, subject="Confirm your email address for Roadmap Tracker",
                   template="verify",
                   context={"email": user.address, "link": link, "days": VERIFY_MAX_AGE.days})


def compose_account_exists(notification: Notification, user: User) -> Email | None:
    """Compose the note to an existing account that someone tried to sign up again."""
    return compose(to=user.address, subject="You already have a Roadmap Tracker account",
                   template="account_exists",
                   context={"email": user.address,
                            "login_link": absolute_url("accounts.login"),
                            "reset_link": absolute_url("accounts.reset_request")})


def compose_reset(notification: Notification, user: User) -> Email | None:
    """Compose the reset email; the token is made at sending, never stored."""
    link = absolute_url("accounts.reset", token=reset_token(user, utcnow()))
    return compose(to=user.address, subject="Reset your Roadmap Tracker password",
                   template="reset",
                   context={"email": user.address, "link": link,
                            "minutes": int(RESET_MAX_AGE.total_seconds() // 60)})


def compose_email_change(notification: Notification, user: User) -> Email | None:
    """Compose the link to the new address; it is signed for the account's address now."""
    new_email = notification.payload["to"]
    if user.address.lower() == new_email:
        return None  # moved there meanwhile
    token = email_change_token(user, new_email, utcnow())
    return compose(to=new_email, subject="Confirm your new address for Roadmap Tracker",
                   template="change_email",
                   context={"old": user.address, "new": new_email,
                            "link": absolute_url("accounts.change_email", token=token),
                            "hours": int(CHANGE_MAX_AGE.total_seconds() // 3600)})


def compose_email_changed(notification: Notification, user: User) -> Email | None:
    """Compose the notice to the old address that the account moved away from it."""
    return compose(to=notification.payload["to"],
                   subject="Your Roadmap Tracker address was changed",
                   template="email_changed",
                   context={"old": notification.payload["to"], "new": user.address})
