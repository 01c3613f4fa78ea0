"""One-click unsubscribe from a mail stream: a page that asks, a POST that does it.

Registered on the settings blueprint (tracker.settings.views)."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from ..accounts.tokens import STREAMS, unsubscribe_target
from ..database import db
from ..extensions import csrf
from ..models import User


def _turn_off(user: User, stream: str) -> None:
    if stream == "due":
        user.due_reminders = False
    elif stream == "nudge":
        user.nudge_days = 0
    else:
        user.weekly_enabled = False


def _invalid_link() -> ResponseReturnValue:
    return render_template("settings/unsubscribe/invalid.html"), 404


def unsubscribe_confirm(token: str) -> ResponseReturnValue:
    """Ask before unsubscribing: link scanners follow GETs, so a GET changes nothing."""
    target = unsubscribe_target(token)
    if target is None:
        return _invalid_link()
    user, stream = target
    return render_template("settings/unsubscribe/confirm.html", email=user.email,
                           what=STREAMS[stream])


@csrf.exempt  # RFC 8058: mail clients POST without cookies or a form; the signature protects it
def unsubscribe(token: str) -> ResponseReturnValue:
    """Turn one mail stream off for the learner the signed token names."""
    target = unsubscribe_target(token)
    if target is None:
        return _invalid_link()
    user, stream = target
    _turn_off(user, stream)
    db.session.commit()
    return render_template("settings/unsubscribe/done.html", email=user.email,
                           what=STREAMS[stream])
