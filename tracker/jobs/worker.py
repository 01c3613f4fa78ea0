"""The clock for background mail: ``tracker send-due`` runs one pass, ``tracker worker`` runs on.

APScheduler only supplies the ticks (a few fixed-id jobs, no per-learner jobs): the
database holds what is due. Every minute an idempotent sweep queues what fell due; every
few seconds a delivery sends what is queued, so the mail a page queued (a confirmation
link) leaves within seconds, without the page waiting for SMTP.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import delete, exists

from ..database import db
from ..heartbeats import beat
from ..mail.delivery import deliver
from ..mail.outbox import Counts
from ..models import LoginSession, Notification, User, utcnow
from ..reminders.sweep import sweep
from .composers import COMPOSERS

RETENTION = timedelta(days=90)  # finished outbox rows older than this are deleted
# An account with no address of its own (signed up with a taken one) that nobody is signed
# in to can never be reached again: it goes this long after it was made.
UNREACHABLE = timedelta(days=30)
TICK_SECONDS = 60
DELIVER_SECONDS = 5
BEAT_SECONDS = 30

log = logging.getLogger(__name__)


def run_once(now: datetime, stop: threading.Event | None = None) -> Counts:
    """Queue what is due at ``now`` and deliver it over one connection, until done or stopped."""
    return sweep(now) + deliver(now, COMPOSERS, stop=stop)


def clean_up(now: datetime) -> int:
    """Delete finished outbox rows past the retention period, and accounts nobody can reach
    any more; return how many rows went.

    The outbox rows' dedupe keys are never looked at again: the sweep only considers today,
    yesterday and the latest weekly slot.
    """
    outbox = db.session.execute(
        delete(Notification).where(Notification.status.in_(("sent", "skipped", "failed")),
                                   Notification.created_at < now - RETENTION)
    )
    unreachable = db.session.execute(
        delete(User).where(User.email.is_(None), User.created_at < now - UNREACHABLE,
                           ~exists().where(LoginSession.user_id == User.id))
    )
    db.session.commit()
    return sum(int(getattr(r, "rowcount", 0) or 0) for r in (outbox, unreachable))


def parse_now(_ctx: Any, _param: Any, value: str | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, like 2027-01-04T08:00:00Z") from None
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


@click.command("send-due")
@click.option("--now", callback=parse_now, metavar="ISO-8601",
              help="Run the pass as if it were this instant (default: now; naive means UTC).")
@with_appcontext
def send_due_command(now: datetime) -> None:
    """Queue and send the reminders and weekly emails due now, once.

    Exits with status 2 when the mail server could not be reached (what it would have sent
    waits for the next pass), so cron or a monitor notices.
    """
    counts = run_once(now)
    click.echo(str(counts))
    if counts.unreachable:
        sys.exit(2)


def _in_app(app: Flask, fn: Callable[[], Any]) -> Callable[[], None]:
    def job() -> None:
        with app.app_context():
            result = fn()
        if isinstance(result, Counts) and result != Counts():
            log.info("%s: %s", fn.__name__, result)

    return job


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Send reminders and weekly emails on time (runs in the foreground until stopped)."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()

    def tick() -> Counts:
        return sweep(utcnow())

    def delivery() -> Counts:
        return deliver(utcnow(), COMPOSERS, stop=stop)

    def heartbeat() -> None:
        beat("worker", utcnow())

    def retention() -> int:
        return clean_up(utcnow())

    scheduler = BlockingScheduler(timezone=UTC)
    start = datetime.now(UTC)
    # Each job: one run at a time, a missed run is folded into the next, and a run more
    # than the grace time late (the machine slept) is dropped: the next tick catches up.
    for fn, seconds, grace in ((tick, TICK_SECONDS, 50), (delivery, DELIVER_SECONDS, 4),
                               (heartbeat, BEAT_SECONDS, 20), (retention, 24 * 3600, 3600)):
        scheduler.add_job(_in_app(app, fn), "interval", seconds=seconds, id=fn.__name__,
                          name=fn.__name__, next_run_time=start, misfire_grace_time=grace,
                          coalesce=True, max_instances=1, replace_existing=True)

    def shut_down(signum: int, _frame: Any) -> None:
        log.info("%s: stopping after the current message", signal.Signals(signum).name)
        stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    log.info("worker started: sweep every %ss, delivery every %ss, heartbeat every %ss",
             TICK_SECONDS, DELIVER_SECONDS, BEAT_SECONDS)
    scheduler.start()  # blocks until shut_down; running jobs finish before the process exits
    log.info("worker stopped")
