"""What the settings say about a learner's mail: the last sent, what waits for another try,
and what could not be delivered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..database import db
from ..models import Notification, User

REMINDER_KINDS = ("due", "nudge")
KIND_NAMES = {
    "due": "Due-day reminder",
    "nudge": "Overdue nudge",
    "weekly": "Weekly progress email",
    "verify": "Address confirmation",
    "reset": "Password reset",
    "account-exists": "Sign-up notice",
    "email-change": "New address confirmation",
    "email-changed": "Address change notice",
}
FAILURES_SHOWN = 10


def mail_status(user: User) -> dict[str, Any]:
    """Return what the settings page says about the learner's mail: last sends and failures."""

    def last_sent(kinds: tuple[str, ...]) -> datetime | None:
        return db.session.scalar(
            select(Notification.sent_at)
            .where(Notification.user_id == user.id, Notification.kind.in_(kinds),
                   Notification.status == "sent")
            .order_by(Notification.sent_at.desc())
            .limit(1)
        )

    failures = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id,
               (Notification.status == "failed")
               | ((Notification.status == "skipped")
                  & Notification.last_error.startswith("expired")))
        .order_by(Notification.due_at.desc(), Notification.id.desc())
        .limit(FAILURES_SHOWN)
    ).all()
    # Refused or not answered, and not given up on: each waits for its next try (backoff).
    waiting = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id, Notification.status == "pending",
               Notification.last_error != "")
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(FAILURES_SHOWN)
    ).all()
    return {"last_reminder": last_sent(REMINDER_KINDS), "last_weekly": last_sent(("weekly",)),
            "failures": failures, "waiting": waiting}
