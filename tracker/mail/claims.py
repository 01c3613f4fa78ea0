"""Claims on outbox rows: take due ones with a lease, then record what became of each.

A claim counts an attempt up front, so a message that kills its worker cannot loop forever;
a message's own refusals keep it (``fail``), an unreachable server gives it back
(``release``). The lease is renewed while the worker sends (``renew``): a dead worker's
claims return to the pool within about a minute.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select, update

from ..database import db
from ..models import Notification
from .message import new_message_id
from .outbox import Counts

# Minutes to wait after the 1st, 2nd, … failed attempt; the last attempt marks it failed.
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 360, 720)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
LEASE = timedelta(seconds=90)  # renewed while the worker sends (delivery.RENEW_EVERY)
PAUSE = timedelta(minutes=1)  # after the server could not be reached
LAST_TRY = timedelta(minutes=5)  # before a message expires, however long its back-off


def claim(now: datetime, size: int, only_ids: Collection[int] | None = None) -> list[int]:
    """Take up to ``size`` due rows for this worker; commit so the claim is visible."""
    session = db.session
    n = Notification
    rows: list[Any] = []  # (id, Message-ID)
    # Two queries, each an ordered walk of ix_notification_pending that stops at ``size``:
    # claims a dead worker left behind (few), then pending rows in due order. One query
    # with an OR of the two reads and sorts every pending row on every claim instead.
    for ready in ((n.status == "sending") & (n.claimed_until <= now),
                  (n.status == "pending") & (n.next_attempt_at <= now)):
        query = select(n.id, n.message_id).where(ready)
        if only_ids is not None:
            query = query.where(n.id.in_(list(only_ids)))
        query = (
            query.order_by(n.next_attempt_at, n.id)
            .limit(size - len(rows))
            .with_for_update(skip_locked=True)  # ignored on SQLite, where BEGIN IMMEDIATE locks
        )
        rows += session.execute(query).all()
        if len(rows) >= size:
            break
    ids = [notification_id for notification_id, _ in rows]
    if ids:
        # Attempts are counted at claim time, so a message that kills the worker cannot
        # loop forever.
        session.execute(
            update(n).where(n.id.in_(ids))
            .values(status="sending", claimed_until=now + LEASE, attempts=n.attempts + 1)
        )
        # A message keeps its first Message-ID, so a re-send after a crash reuses it.
        new_ids = [{"id": i, "message_id": new_message_id()} for i, mid in rows if not mid]
        if new_ids:
            session.execute(update(n), new_ids)
    session.commit()
    return ids


def finish(notification_id: int, **values: Any) -> None:
    """Record what became of a claimed message, in its own commit."""
    # The table, not the class: a plain UPDATE, without the ORM's bulk-update bookkeeping
    # (half the cost of recording a sent message, bench/weekly.py --profile).
    table = cast(Table, Notification.__table__)
    db.session.execute(
        update(table).where(table.c.id == notification_id).values(claimed_until=None, **values)
    )
    db.session.commit()


def fail(
    notification_id: int, attempts: int, error: str, now: datetime, counts: Counts,
    expires_at: datetime | None = None,
) -> None:
    """Record a message's own failure: retry after its back-off, or give up after the last."""
    counts.last_error = error
    if attempts >= MAX_ATTEMPTS:
        counts.failed += 1
        finish(notification_id, status="failed", last_error=error)
        return
    counts.retried += 1
    retry_at = now + timedelta(minutes=BACKOFF_MINUTES[attempts - 1])
    if expires_at is not None and retry_at > expires_at - LAST_TRY:
        # A long back-off would let a due-day reminder expire untried: one last try first.
        retry_at = max(now + timedelta(minutes=1), expires_at - LAST_TRY)
    finish(notification_id, status="pending", last_error=error, next_attempt_at=retry_at)


def release(ids: list[int], error: str, now: datetime, counts: Counts) -> None:
    """Put claimed messages back, their claim's attempt not spent: the server was not there."""
    counts.last_error = error
    if not ids:
        return
    table = cast(Table, Notification.__table__)
    db.session.execute(
        update(table).where(table.c.id.in_(ids))
        .values(status="pending", claimed_until=None, attempts=table.c.attempts - 1,
                next_attempt_at=now + PAUSE, last_error=error)
    )
    db.session.commit()
    counts.deferred += len(ids)


def renew(ids: list[int], until: datetime) -> None:
    """Extend this worker's claim on the messages it still holds."""
    table = cast(Table, Notification.__table__)
    db.session.execute(
        update(table).where(table.c.id.in_(ids), table.c.status == "sending")
        .values(claimed_until=until)
    )
    db.session.commit()
