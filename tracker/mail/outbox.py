"""The mail outbox: a notification is queued once, by a unique ``dedupe_key``.

Queueing the same key twice is a no-op, on SQLite and PostgreSQL alike, so a sweep that
runs twice, or on two workers at once, queues each email once. Requests only queue; the
worker delivers (tracker.mail.delivery), so no page waits for, or tells anything by, SMTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import Notification


@dataclass
class Counts:
    """What a pass did: rows queued, mail sent, failed for good, skipped, to be retried, put
    back untried because the server was unreachable."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    deferred: int = 0
    unreachable: bool = field(default=False, compare=False)
    last_error: str = field(default="", compare=False)

    def __add__(self, other: Counts) -> Counts:
        numbers = {f.name: getattr(self, f.name) + getattr(other, f.name)
                   for f in fields(self) if f.compare}
        return Counts(**numbers, unreachable=self.unreachable or other.unreachable,
                      last_error=other.last_error or self.last_error)

    def __str__(self) -> str:
        text = (f"queued {self.queued}, sent {self.sent}, failed {self.failed}, "
                f"skipped {self.skipped}")
        text += f", retrying {self.retried}" if self.retried else ""
        text += f", waiting {self.deferred}" if self.deferred else ""
        return text + (f"; mail server unreachable: {self.last_error}" if self.unreachable
                       else "")


def row(
    *,
    user_id: int | None,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
    status: str = "pending",
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Return the column values of a new notification, for ``queue_many``."""
    return {
        "user_id": user_id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": payload or {},
        "due_at": due_at,
        "status": status,
        "attempts": 0,
        "last_error": "",
        "next_attempt_at": due_at,
        "message_id": "",
        "expires_at": expires_at,
        "created_at": now,
    }


def queue_many(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose dedupe key is new; return the keys inserted. The caller commits.

    One statement for many rows (SQLAlchemy batches them into multi-row INSERTs), safe when
    two processes queue the same key at once.
    """
    if not rows:
        return set()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(Notification)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.dedupe_key)
    )
    return set(session.scalars(stmt, rows))


def queue(
    session: Session,
    *,
    user_id: int | None,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
) -> bool:
    """Queue one email unless its key was queued before; say whether it was. The caller
    commits."""
    new = row(user_id=user_id, kind=kind, dedupe_key=dedupe_key, due_at=due_at, now=now,
              payload=payload, expires_at=expires_at)
    return bool(queue_many(session, [new]))


def next_number(session: Session, user_id: int, kind: str) -> int:
    """Return the number of the learner's next email of a kind, for a key of its own."""
    count = session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.kind == kind)
    )
    return (count or 0) + 1
