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

from flask import current_app
from sqlalchemy import func, select

from ..database import db
from ..heartbeats import beat
from ..models import Notification, Plan, User
from . import transport
from .claims import LEASE, claim, fail, finish, release, renew
from .message import Email
from .outbox import Counts

BATCH = 50
RENEW_EVERY = 30.0  # seconds between renewals of the claims still held

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


def _by_address(n: Notification) -> User | None:
    """Return the account a notification addressed by email belongs to, if any."""
    email = str(n.payload.get("email", "")).strip().lower()
    return db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None


# Kinds mailed to an address in their payload, not to the learner's own.
TO_ELSEWHERE = frozenset({"email-change", "email-changed"})


def _compose(n: Notification, user: User, composers: Mapping[str, Composer]) -> Email | None:
    composer = composers.get(n.kind)
    if composer is None:
        raise LookupError(f"no composer for kind {n.kind!r}")
    if user.email is None and n.kind not in TO_ELSEWHERE:
        return None  # an account with no address of its own (models.User.email): no mail
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
        fail(notification_id, attempts, error, now, counts)
    return outgoing


def _send(
    outgoing: transport.Transport, batch: list[Outgoing], now: datetime, counts: Counts
) -> bool:
    """Send a composed batch, one commit per message; say whether the server was reachable."""
    started = renewed = time.monotonic()
    for i, item in enumerate(batch):
        if time.monotonic() - renewed > RENEW_EVERY:
            renewed = time.monotonic()
            renew([o.id for o in batch[i:]], now + timedelta(seconds=renewed - started) + LEASE)
        try:
            message = item.email.as_message()
        except Exception as e:  # a broken template must not stop other mail
            current_app.logger.exception("rendering notification %s failed", item.id)
            fail(item.id, item.attempts, f"compose: {type(e).__name__}: {e}", now, counts)
            continue
        try:
            outgoing.send(message)
        except transport.Unreachable as e:  # no connection: no message was tried
            counts.unreachable = True
            release([o.id for o in batch[i:]], describe(e), now, counts)
            return False
        except MESSAGE_ERRORS as e:
            fail(item.id, item.attempts, describe(e), now, counts, item.expires_at)
            if getattr(e, "smtp_code", None) == 421:  # the server hung up: try later
                counts.unreachable = True
                release([o.id for o in batch[i + 1:]], describe(e), now, counts)
                return False
        except UNREACHABLE as e:  # the connection broke with this message in hand
            outgoing.close()
            counts.unreachable = True
            fail(item.id, item.attempts, describe(e), now, counts, item.expires_at)
            release([o.id for o in batch[i + 1:]], describe(e), now, counts)
            return False
        else:
            counts.sent += 1
            finish(item.id, status="sent", sent_at=now, last_error="")
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
