"""Deliver the outbox: claim due rows, compose each by its kind, send it, record the result.

Delivery claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers can
run; SQLite's write lock serialises them), composes them in one short transaction, then
sends one at a time with a commit per message. A claim carries a short lease, renewed while
the worker sends: rows of a worker killed mid-batch go back to the pool within about a
minute and are sent again under the same Message-ID, so a rare duplicate folds in mail
clients.

A message's attempts count its own refusals (a 4xx or 5xx answer to it, or the connection
dropping while it was in hand). A server that cannot be reached spends nobody's attempts:
the pass stops, the rest waits a minute, and ``Counts.unreachable`` says so.
"""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import Table, func, select, update

from ..database import db
from ..heartbeats import beat
from ..models import Notification, Plan, User
from . import transport
from .message import Email, new_message_id
from .outbox import Counts

# Minutes to wait after the 1st, 2nd, … failed attempt; the last attempt marks it failed.
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 360, 720)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
LEASE = timedelta(seconds=90)  # renewed every RENEW_EVERY while the worker sends
RENEW_EVERY = 30.0  # seconds
PAUSE = timedelta(minutes=1)  # after the server could not be reached
LAST_TRY = timedelta(minutes=5)  # before a message expires, however long its back-off
BATCH = 50

# Builds the message for a notification, or returns None when there is nothing to send
# any more (the row is then marked skipped). tracker.jobs.composers has one per kind.
Composer = Callable[[Notification, User], Email | None]

# Errors that concern one message; anything else (refused connection, dropped link) means
# the server is unreachable, so the pass stops instead of failing every message in turn.
MESSAGE_ERRORS = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)
UNREACHABLE = (smtplib.SMTPException, OSError)


@dataclass(frozen=True)
class Outgoing:
    """A claimed, composed message and what its retry depends on."""

    id: int
    attempts: int  # this one included: counted at claim time
    expires_at: datetime | None
    email: Email


def deliver(
    now: datetime,
    composers: Mapping[str, Composer],
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
    with transport.connection() as outgoing:
        while (limit is None or done < limit) and not (stop and stop.is_set()):
            size = BATCH if limit is None else min(BATCH, limit - done)
            ids = claim(now, size, only_ids)
            if not ids:
                break
            done += len(ids)
            if not _send(outgoing, _prepare(ids, now, composers, counts), now, counts):
                break  # unreachable: the rest waits for a later pass
    record_pass(now, counts)
    return counts


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


def _finish(notification_id: int, **values: Any) -> None:
    # The table, not the class: a plain UPDATE, without the ORM's bulk-update bookkeeping
    # (half the cost of recording a sent message, bench/weekly.py --profile).
    table = cast(Table, Notification.__table__)
    db.session.execute(
        update(table).where(table.c.id == notification_id).values(claimed_until=None, **values)
    )
    db.session.commit()


def _failure(
    notification_id: int, attempts: int, error: str, now: datetime, counts: Counts,
    expires_at: datetime | None = None,
) -> None:
    counts.last_error = error
    if attempts >= MAX_ATTEMPTS:
        counts.failed += 1
        _finish(notification_id, status="failed", last_error=error)
        return
    counts.retried += 1
    retry_at = now + timedelta(minutes=BACKOFF_MINUTES[attempts - 1])
    if expires_at is not None and retry_at > expires_at - LAST_TRY:
        # A long back-off would let a due-day reminder expire untried: one last try first.
        retry_at = max(now + timedelta(minutes=1), expires_at - LAST_TRY)
    _finish(notification_id, status="pending", last_error=error, next_attempt_at=retry_at)


def _release(rest: list[Outgoing], error: Exception, now: datetime, counts: Counts) -> None:
    """Put claimed messages back, their claim's attempt not spent: the server was not there."""
    counts.last_error = describe(error)
    if not rest:
        return
    table = cast(Table, Notification.__table__)
    db.session.execute(
        update(table).where(table.c.id.in_([o.id for o in rest]))
        .values(status="pending", claimed_until=None, attempts=table.c.attempts - 1,
                next_attempt_at=now + PAUSE, last_error=describe(error))
    )
    db.session.commit()
    counts.deferred += len(rest)


def _renew(rest: list[Outgoing], until: datetime) -> None:
    """Extend this worker's claim on the messages it still holds."""
    table = cast(Table, Notification.__table__)
    db.session.execute(
        update(table).where(table.c.id.in_([o.id for o in rest]), table.c.status == "sending")
        .values(claimed_until=until)
    )
    db.session.commit()


def _by_address(n: Notification) -> User | None:
    """Return the account a notification addressed by email belongs to, if any."""
    email = str(n.payload.get("email", "")).strip().lower()
    return db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None


def _compose(n: Notification, user: User, composers: Mapping[str, Composer]) -> Email | None:
    composer = composers.get(n.kind)
    if composer is None:
        raise LookupError(f"no composer for kind {n.kind!r}")
    message = composer(n, user)
    # The outbox owns the Message-ID: the one stored before the first attempt.
    if message is not None and message.message_id != n.message_id:
        message = replace(message, message_id=n.message_id)
    return message


def _prepare(
    ids: list[int], now: datetime, composers: Mapping[str, Composer], counts: Counts
) -> list[Outgoing]:
    """Compose a claimed batch in one short transaction; return what is to be sent.

    Sending happens after the commit, with no lock held (on SQLite a transaction holds the
    write lock, and SMTP can be slow).
    """
    notifications = db.session.scalars(
        select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)
    ).all()
    users = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({n.user_id for n in notifications} - {None})))}
    # Composers of plan mail look their plan up: one query for the batch, kept referenced
    # while composing so the session's identity map holds on to them.
    plan_ids = {n.payload.get("plan_id") for n in notifications} - {None}
    plans = db.session.scalars(select(Plan).where(Plan.id.in_(plan_ids))).all() if plan_ids else []
    outgoing: list[Outgoing] = []
    failures: list[tuple[int, int, str]] = []
    for n in notifications:
        if n.expires_at is not None and n.expires_at <= now:
            counts.skipped += 1
            n.status, n.claimed_until = "skipped", None
            n.last_error = "expired before it could be sent"
            continue
        user = users.get(n.user_id) if n.user_id is not None else _by_address(n)
        if user is None:  # mail to an address with no account: nothing to send, silently
            counts.skipped += 1
            n.status, n.claimed_until, n.last_error = "skipped", None, "no such account"
            continue
        try:
            message = _compose(n, user, composers)
        except Exception as e:  # a broken template must not stop other mail
            current_app.logger.exception("composing notification %s failed", n.id)
            failures.append((n.id, n.attempts, f"compose: {type(e).__name__}: {e}"))
            continue
        if message is None:
            counts.skipped += 1
            n.status, n.claimed_until = "skipped", None
        else:
            outgoing.append(Outgoing(n.id, n.attempts, n.expires_at, message))
    db.session.commit()
    del notifications, users, plans
    for notification_id, attempts, error in failures:
        _failure(notification_id, attempts, error, now, counts)
    return outgoing


def _send(
    outgoing: transport.Transport, batch: list[Outgoing], now: datetime, counts: Counts
) -> bool:
    """Send a composed batch, one commit per message; say whether the server was reachable."""
    started = renewed = time.monotonic()
    for i, item in enumerate(batch):
        if time.monotonic() - renewed > RENEW_EVERY:
            renewed = time.monotonic()
            _renew(batch[i:], now + timedelta(seconds=renewed - started) + LEASE)
        try:
            message = item.email.as_message()
        except Exception as e:  # a broken template must not stop other mail
            current_app.logger.exception("rendering notification %s failed", item.id)
            _failure(item.id, item.attempts, f"compose: {type(e).__name__}: {e}", now, counts)
            continue
        try:
            outgoing.send(message)
        except transport.Unreachable as e:  # no connection: no message was tried
            counts.unreachable = True
            _release(batch[i:], e, now, counts)
            return False
        except MESSAGE_ERRORS as e:
            _failure(item.id, item.attempts, describe(e), now, counts, item.expires_at)
            if getattr(e, "smtp_code", None) == 421:  # the server hung up: try later
                counts.unreachable = True
                _release(batch[i + 1:], e, now, counts)
                return False
        except UNREACHABLE as e:  # the connection broke with this message in hand
            outgoing.close()
            counts.unreachable = True
            _failure(item.id, item.attempts, describe(e), now, counts, item.expires_at)
            _release(batch[i + 1:], e, now, counts)
            return False
        else:
            counts.sent += 1
            _finish(item.id, status="sent", sent_at=now, last_error="")
    return True


def record_pass(now: datetime, counts: Counts) -> None:
    """Keep when mail last went out and what last went wrong, for /healthz."""
    if counts.sent:
        beat("mail-sent", now)
    if counts.unreachable or counts.retried or counts.failed:
        beat("mail-error", now, counts.last_error)


def describe(error: Exception) -> str:
    """Say what went wrong with a message, as the settings page and the logs show it."""
    reply: bytes | str
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        code, reply = next(iter(error.recipients.values()))  # one recipient per message
    elif isinstance(error, smtplib.SMTPResponseException):
        code, reply = error.smtp_code, error.smtp_error
    else:
        return f"{type(error).__name__}: {error}"
    detail = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"SMTP {code}: {detail}"
