"""The mail outbox: queue a notification once, deliver it once, retry with back-off.

A notification is a row with a unique ``dedupe_key``: queueing it twice is a no-op, on
SQLite and PostgreSQL alike. Delivery claims due rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several workers can run; SQLite's write lock serialises them), asks the
composer registered for the row's kind for a message, sends it and records the result, one
commit per message. A claim carries a lease: rows of a worker killed mid-batch go back to
the pool when it runs out and are sent again under the same Message-ID, so a rare
duplicate folds in mail clients.
"""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import mail
from .db import db
from .models import Notification, Plan, User

# Minutes to wait after the 1st, 2nd, … failed attempt; the last attempt marks it failed.
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 360, 720)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
LEASE = timedelta(minutes=10)
BATCH = 50

Composer = Callable[[Notification, User], mail.Email | None]
_composers: dict[str, Composer] = {}


@dataclass
class Counts:
    """What a pass did: rows queued, mail sent, failed for good, skipped, to be retried."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __str__(self) -> str:
        text = (f"queued {self.queued}, sent {self.sent}, failed {self.failed}, "
                f"skipped {self.skipped}")
        return text + (f", retrying {self.retried}" if self.retried else "")


def register_composer(kind: str, fn: Composer) -> None:
    """Say how to build the message for notifications of ``kind``.

    ``fn(notification, user)`` returns the message, or None when there is nothing to send
    any more (the row is then marked skipped). It should pass ``notification.message_id``
    to ``mail.compose``; delivery enforces it.
    """
    _composers[kind] = fn


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    # The Table, not the class: a plain Core INSERT, no ORM bulk-insert bookkeeping.
    return (postgresql if dialect == "postgresql" else sqlite).insert(Notification.__table__)


def row(
    *,
    user_id: int,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
    status: str = "pending",
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Return the column values of a new notification, for ``queue`` or ``queue_many``."""
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
    """Insert the rows whose dedupe key is new; return the keys inserted.

    One statement, executed for many rows at once (SQLAlchemy's "insertmanyvalues"
    batches them into multi-row INSERTs without compiling a new statement per batch).
    """
    if not rows:
        return set()
    stmt = (
        _insert(session)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.__table__.c.dedupe_key)
    )
    return set(session.scalars(stmt, rows))


def queue(
    session: Session,
    *,
    user_id: int,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    now: datetime,
    expires_at: datetime | None = None,
) -> bool:
    """Add a notification unless one with this dedupe key exists; say whether it was added.

    Safe when two processes queue the same key at once. The caller commits.
    """
    new = row(user_id=user_id, kind=kind, dedupe_key=dedupe_key, due_at=due_at, now=now,
              payload=payload, expires_at=expires_at)
    return bool(queue_many(session, [new]))


_table = cast(sa.Table, Notification.__table__)
# Built once: Core UPDATEs with bound parameters, no per-message statement building.
_CLAIMED = (
    update(_table)
    .where(_table.c.id == sa.bindparam("notification_id"))
    # Counted at claim time, so a message that kills the worker cannot loop forever.
    .values(status="sending", claimed_until=sa.bindparam("until"),
            attempts=_table.c.attempts + 1, message_id=sa.bindparam("mid"))
)
_SENT = (
    update(_table)
    .where(_table.c.id == sa.bindparam("notification_id"))
    .values(status="sent", sent_at=sa.bindparam("sent_at"), last_error="", claimed_until=None)
)


def _claim(now: datetime, size: int, only_ids: Collection[int] | None) -> list[int]:
    """Take up to ``size`` due rows for this worker; commit so the claim is visible."""
    session = db.session
    t = _table
    rows: list[sa.Row[int, str]] = []  # (id, Message-ID)
    # Two queries, each an ordered walk of ix_notification_pending that stops at ``size``:
    # claims a dead worker left behind (few), then pending rows in due order. One query
    # with an OR of the two reads and sorts every pending row on every claim instead.
    for ready in (
        sa.and_(t.c.status == "sending", t.c.claimed_until <= now),
        sa.and_(t.c.status == "pending", t.c.next_attempt_at <= now),
    ):
        query = select(t.c.id, t.c.message_id).where(ready)
        if only_ids is not None:
            query = query.where(t.c.id.in_(list(only_ids)))
        query = (
            query.order_by(t.c.next_attempt_at, t.c.id)
            .limit(size - len(rows))
            .with_for_update(skip_locked=True)  # ignored on SQLite, where BEGIN IMMEDIATE locks
        )
        rows += session.execute(query).all()
        if len(rows) >= size:
            break
    if rows:
        # A message keeps its first Message-ID: a re-send after a crash reuses it.
        session.execute(_CLAIMED, [
            {"notification_id": i, "until": now + LEASE, "mid": mid or mail.new_message_id()}
            for i, mid in rows
        ])
    session.commit()
    return [i for i, _ in rows]


def _sent(connection: sa.Connection, notification_id: int, now: datetime) -> None:
    with connection.begin():
        connection.execute(_SENT, {"notification_id": notification_id, "sent_at": now})


def _finish(notification_id: int, **values: Any) -> None:
    db.session.execute(
        update(_table).where(_table.c.id == notification_id).values(claimed_until=None, **values)
    )
    db.session.commit()


def _failure(
    notification_id: int, attempts: int, error: str, now: datetime, counts: Counts
) -> None:
    if attempts >= MAX_ATTEMPTS:
        counts.failed += 1
        _finish(notification_id, status="failed", last_error=error)
    else:
        counts.retried += 1
        wait = timedelta(minutes=BACKOFF_MINUTES[attempts - 1])
        _finish(notification_id, status="pending", last_error=error, next_attempt_at=now + wait)


def _compose(n: Notification, user: User) -> mail.Email | None:
    composer = _composers.get(n.kind)
    if composer is None:
        raise LookupError(f"no composer registered for kind {n.kind!r}")
    message = composer(n, user)
    # The outbox owns the Message-ID: the one stored before the first attempt.
    if message is not None and message.message_id != n.message_id:
        message = replace(message, message_id=n.message_id)
    return message


def _prepare(ids: list[int], now: datetime, counts: Counts) -> list[tuple[int, int, mail.Email]]:
    """Compose a claimed batch in one short transaction; return (id, attempts, message)s.

    Sending happens after the commit, with no lock held (on SQLite a transaction holds the
    write lock, and SMTP can be slow). The rows loaded here are dropped on return, so the
    per-message commits that follow have no objects to expire.
    """
    notifications = db.session.scalars(
        select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)
    ).all()
    users = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({n.user_id for n in notifications})))}
    # Composers of plan mail look their plan up: one query for the batch, kept referenced
    # while composing so the identity map holds on to them.
    plan_ids = {n.payload.get("plan_id") for n in notifications} - {None}
    plans = db.session.scalars(select(Plan).where(Plan.id.in_(plan_ids))).all() if plan_ids else []
    outgoing: list[tuple[int, int, mail.Email]] = []
    failures: list[tuple[int, int, str]] = []
    for n in notifications:
        if n.expires_at is not None and n.expires_at <= now:
            counts.skipped += 1
            n.status, n.claimed_until = "skipped", None
            n.last_error = "expired before it could be sent"
            continue
        try:
            message = _compose(n, users[n.user_id])
        except Exception as e:  # a broken template must not stop other mail
            current_app.logger.exception("composing notification %s failed", n.id)
            failures.append((n.id, n.attempts, f"compose: {type(e).__name__}: {e}"))
            continue
        if message is None:
            counts.skipped += 1
            n.status, n.claimed_until = "skipped", None
        else:
            outgoing.append((n.id, n.attempts, message))
    db.session.commit()
    del notifications, users, plans
    for notification_id, attempts, error in failures:
        _failure(notification_id, attempts, error, now, counts)
    return outgoing


# Errors that concern one message; anything else (refused connection, dropped link) means
# the server is unreachable, so the pass stops instead of failing every message in turn.
MESSAGE_ERRORS = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)
UNREACHABLE = (smtplib.SMTPException, OSError)


def deliver(
    now: datetime,
    *,
    limit: int | None = None,
    only_ids: Collection[int] | None = None,
    stop: threading.Event | None = None,
) -> Counts:
    """Send the notifications due at ``now`` over one connection; return what happened.

    ``stop``, when set, ends the pass after the current batch (a worker shutting down).
    """
    counts = Counts()
    done = 0
    # A connection of its own for the commit after each message: the session's transaction
    # and bookkeeping cost more than the UPDATE. The session has no transaction open while
    # it is used (every step of a pass commits), so on SQLite they never wait for each other.
    with mail.connection() as transport, db.engine.connect() as connection:
        while (limit is None or done < limit) and not (stop and stop.is_set()):
            size = BATCH if limit is None else min(BATCH, limit - done)
            ids = _claim(now, size, only_ids)
            if not ids:
                break
            done += len(ids)
            if not _send(transport, connection, _prepare(ids, now, counts), now, counts):
                break  # unreachable: the rest waits for a later pass
    return counts


def _send(
    transport: mail.Transport,
    connection: sa.Connection,
    outgoing: list[tuple[int, int, mail.Email]],
    now: datetime,
    counts: Counts,
) -> bool:
    """Send a composed batch, one commit per message; say whether the server was reachable.

    Each message is rendered while the server still reads the one before it: the two take
    about as long (bench/weekly.py). Only one message is ever in flight, and it is marked
    sent in its own commit as soon as its answer is read, before the next is handed over.
    """
    in_flight: tuple[int, int] | None = None  # (id, attempts) of the message handed over
    for i, (notification_id, attempts, message) in enumerate(outgoing):
        try:
            data: bytes | Exception = message.as_bytes()
        except Exception as e:  # a broken template must not stop other mail
            current_app.logger.exception("rendering notification %s failed", notification_id)
            data = e
        if in_flight is not None:
            error = _settle(transport, connection, *in_flight, now, counts)
            in_flight = None
            if error is not None:
                return _unreachable(transport, outgoing[i:], error, now, counts)
        if isinstance(data, Exception):
            _failure(notification_id, attempts, f"compose: {type(data).__name__}: {data}", now,
                     counts)
            continue
        try:
            transport.start(message, data)
        except MESSAGE_ERRORS as e:
            _failure(notification_id, attempts, _describe(e), now, counts)
        except UNREACHABLE as e:
            return _unreachable(transport, outgoing[i:], e, now, counts)
        else:
            in_flight = (notification_id, attempts)
    if in_flight is not None:
        error = _settle(transport, connection, *in_flight, now, counts)
        if error is not None:
            return _unreachable(transport, [], error, now, counts)
    return True


def _settle(
    transport: mail.Transport,
    connection: sa.Connection,
    notification_id: int,
    attempts: int,
    now: datetime,
    counts: Counts,
) -> Exception | None:
    """Record the server's answer to the message in flight; return it if it is unreachable."""
    try:
        transport.finish()
    except MESSAGE_ERRORS as e:
        _failure(notification_id, attempts, _describe(e), now, counts)
    except UNREACHABLE as e:
        _failure(notification_id, attempts, _describe(e), now, counts)
        return e
    else:
        counts.sent += 1
        _sent(connection, notification_id, now)
    return None


def _unreachable(
    transport: mail.Transport,
    rest: list[tuple[int, int, mail.Email]],
    error: Exception,
    now: datetime,
    counts: Counts,
) -> bool:
    """Close the connection: the rest of the batch waits for a later pass."""
    transport.close()
    for notification_id, attempts, _ in rest:
        _failure(notification_id, attempts, _describe(error), now, counts)
    return False


def _describe(error: Exception) -> str:
    reply: bytes | str
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        code, reply = next(iter(error.recipients.values()))  # one recipient per message
    elif isinstance(error, smtplib.SMTPResponseException):
        code, reply = error.smtp_code, error.smtp_error
    else:
        return f"{type(error).__name__}: {error}"
    detail = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"SMTP {code}: {detail}"
