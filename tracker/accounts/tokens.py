"""The signed tokens in every emailed link: confirm an address, reset a password, move an
account to a new address, unsubscribe from a mail stream, act on a milestone.

Each kind has its own salt, so a token of one kind is useless as another. Every token also
carries a mark of the account's own ``link_secret``, which deleting the account destroys:
no link sent to one account ever works for another. Time is a parameter: a token is made
and checked at ``now``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer

from ..database import db
from ..models import Milestone, User
from ..web.urls import absolute_url

VERIFY_MAX_AGE = timedelta(days=3)
RESET_MAX_AGE = timedelta(hours=1)
CHANGE_MAX_AGE = timedelta(days=1)
ACTION_MAX_AGE = timedelta(days=8)  # a weekly mail's links last until the next one
VERIFY_SALT = "email-verify"
RESET_SALT = "password-reset"
CHANGE_SALT = "email-change"
UNSUBSCRIBE_SALT = "unsubscribe"
ACTION_SALT = "milestone-action"
# What a reminder's links do to a milestone, as the pages name it.
ACTIONS = {"done": "Mark done", "skip": "Skip", "push": "Push by a week"}
# The mail streams a learner can unsubscribe from, as the pages name them.
STREAMS = {
    "due": "due-day reminders",
    "nudge": "overdue nudges",
    "weekly": "the weekly progress email",
}


class _ClockSigner(TimestampSigner):
    """A timestamp signer that reads the time from ``now``: time is a parameter."""

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        return int(self.now.timestamp())


def _serializer(salt: str, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt,
                                  signer=_ClockSigner, signer_kwargs={"now": now})


def account_mark(user: User) -> str:
    """Return a keyed digest of the account's link secret, for the tokens it is sent."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"links:{user.link_secret}".encode(), hashlib.sha256).hexdigest()[:16]


def _dumps(salt: str, now: datetime, user: User, **data: Any) -> str:
    return _serializer(salt, now).dumps({"user": user.id, "k": account_mark(user), **data})


def _account(user_id: Any, mark: Any) -> User | None:
    if not isinstance(user_id, int) or not isinstance(mark, str) or not 0 < user_id < 2**63:
        return None
    user = db.session.get(User, user_id)
    if user is None or not hmac.compare_digest(mark, account_mark(user)):
        return None
    return user


def load(salt: str, token: str, now: datetime, max_age: timedelta) -> tuple[User, dict[str, Any]]:
    """Return the learner a token names and its data; raise BadSignature if it is not valid."""
    data = _serializer(salt, now).loads(token, max_age=int(max_age.total_seconds()))
    user = _account(data.get("user"), data.get("k")) if isinstance(data, dict) else None
    if user is None:
        raise BadSignature("no such account")
    return user, data


# -- confirming an address ---------------------------------------------------------------

def verification_token(user: User, now: datetime) -> str:
    """Return a signed token that confirms the learner's current address."""
    return _dumps(VERIFY_SALT, now, user, email=(user.email or "").lower())


def verified_user(token: str, now: datetime) -> User:
    """Return the learner a verification token names; raise BadSignature if it is not valid now."""
    user, data = load(VERIFY_SALT, token, now, VERIFY_MAX_AGE)
    # A token for an address the account no longer has confirms nothing.
    if not user.email or user.email.lower() != data.get("email"):
        raise BadSignature("no such account")  # an account with no address confirms none
    return user


# -- resetting the password ----------------------------------------------------------------

def reset_token(user: User, now: datetime) -> str:
    """Return a signed token that lets the learner set a new password once."""
    # The password's mark is in it: setting a new password changes the mark, so a used
    # link dies.
    return _dumps(RESET_SALT, now, user, pw=user.password_mark)


def reset_user(token: str, now: datetime) -> User:
    """Return the learner a reset token names; raise BadSignature if expired, used or forged."""
    user, data = load(RESET_SALT, token, now, RESET_MAX_AGE)
    if not hmac.compare_digest(str(data.get("pw", "")), user.password_mark):
        raise BadSignature("used or unknown")
    return user


# -- moving to a new address ------------------------------------------------------------

def email_change_token(user: User, new_email: str, now: datetime) -> str:
    """Return a signed token that moves the account from its current address to another."""
    return _dumps(CHANGE_SALT, now, user, **{"from": user.address.lower(), "to": new_email})


def email_change(token: str, now: datetime) -> tuple[User, str]:
    """Return the learner and the new address a token names; raise BadSignature if it is
    not valid now, or the account has moved since it was made."""
    user, data = load(CHANGE_SALT, token, now, CHANGE_MAX_AGE)
    if user.address.lower() != data.get("from"):
        raise BadSignature("the account has moved since")
    return user, str(data["to"])


# -- acting on a milestone from a reminder --------------------------------------------------

def _version(milestone: Milestone) -> int:
    # Every change to a milestone moves updated_at: a link made before it is spent.
    return int(milestone.updated_at.timestamp() * 1_000_000)


def action_token(user: User, milestone: Milestone, action: str, now: datetime) -> str:
    """Return a signed token that does one action to one milestone of the learner, once."""
    if action not in ACTIONS:
        raise ValueError(f"unknown milestone action {action!r}")
    return _dumps(ACTION_SALT, now, user, m=milestone.id, a=action, v=_version(milestone))


def milestone_action(token: str, now: datetime) -> tuple[User, Milestone, str]:
    """Return the learner, milestone and action a token names; raise BadSignature if it is
    expired or forged, was used, or the milestone changed or left the current plan since."""
    user, data = load(ACTION_SALT, token, now, ACTION_MAX_AGE)
    milestone_id, action = data.get("m"), data.get("a")
    if not isinstance(milestone_id, int) or not 0 < milestone_id < 2**63 or action not in ACTIONS:
        raise BadSignature("malformed")
    milestone = db.session.get(Milestone, milestone_id)
    if (milestone is None or milestone.plan.user_id != user.id
            or milestone.plan.archived_at is not None
            or data.get("v") != _version(milestone)):
        raise BadSignature("used, changed or not the learner's")
    return user, milestone, str(action)


# -- unsubscribing ------------------------------------------------------------------------

def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(user: User, stream: str) -> str:
    """Return the absolute one-click unsubscribe URL for one of a learner's mail streams."""
    if stream not in STREAMS:
        raise ValueError(f"unknown mail stream {stream!r}")
    token = _unsubscribe_serializer().dumps([user.id, stream, account_mark(user)])
    return absolute_url("settings.unsubscribe", token=token)


def unsubscribe_target(token: str) -> tuple[User, str] | None:
    """Return the learner and the stream an unsubscribe token names, or None."""
    try:
        user_id, stream, mark = _unsubscribe_serializer().loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    user = _account(user_id, mark)
    return (user, stream) if user is not None and stream in STREAMS else None
