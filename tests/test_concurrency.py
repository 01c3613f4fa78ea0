"""Concurrency: a threaded server on SQLite, and many mail workers on PostgreSQL."""

from __future__ import annotations

import asyncio
import email.policy
import re
import signal
import subprocess
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Browser, SMTPSink, outbox_rows
from werkzeug.serving import make_server

from tracker.catalog import get_catalog
from tracker.database import db
from tracker.mail import claims, outbox
from tracker.models import Milestone, Notification, Plan, User

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture
def server(app):
    """Serve the app from a real multi-threaded server, as `flask run` does."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_port
    srv.shutdown()
    thread.join()


THREADS = 8
ROUNDS = 8


def test_threaded_server_ticks_and_reads_without_lock_errors(app, server, make_user, make_plan):
    # Two browsers per learner, so ticks race on the same rows as well as on the lock.
    emails = [f"learner{i}@example.com" for i in range(THREADS // 2)]
    for address in emails:
        make_plan(make_user(address))
    with app.app_context():
        plans = {
            u.email: [m.id for m in db.session.get(Plan, u.plans[0].id).milestones]
            for u in db.session.scalars(sa.select(User))
        }
    statuses: Counter[int] = Counter()
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def browse(n: int) -> None:
        email = emails[n % len(emails)]
        browser = Browser(server)
        try:
            token = browser.login(email)
            start.wait()
            for r in range(ROUNDS):
                milestone = plans[email][(n + r) % len(plans[email])]
                for method, path, form in (
                    ("GET", "/dashboard", None),
                    (
                        "POST",
                        f"/milestones/{milestone}/done",
                        {"csrf_token": token, "note": f"round {r}"},
                    ),
                    ("GET", f"/milestones/{milestone}", None),
                    ("POST", f"/milestones/{milestone}/undo", {"csrf_token": token}),
                    # Views that read, then write in the same transaction: a deferred
                    # BEGIN fails them when another writer commits in between.
                    ("POST", "/pause", {"csrf_token": token}),
                    ("POST", "/resume", {"csrf_token": token}),
                ):
                    status, body = browser.request(method, path, form)
                    statuses[status] += 1
                    assert "database is locked" not in body
                    assert status in (200, 302), (method, path, status, body[:500])
        except BaseException as e:  # reported below, with every thread finished
            errors.append(e)
        finally:
            browser.close()

    threads = [threading.Thread(target=browse, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert sum(statuses.values()) == THREADS * ROUNDS * 6
    with app.app_context():
        # Every round ended with an undo; the notes of the last ticks are kept.
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Milestone.done_at.is_not(None))) == 0
        )


# -- Many mail workers on PostgreSQL ----------------------------------------------------

MESSAGES = 2000
LEARNERS = 100
WORKERS = 4
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
VICTIM = "victim@tracker.example"


def weekly_payload(plan_id: int, steps: list[str]) -> dict[str, Any]:
    """Return a weekly email's numbers, as the sweep would store them."""

    def section(n: int) -> dict[str, Any]:
        return {
            "count": n,
            "items": [[i + 1, step, "2027-03-01"] for i, step in enumerate(steps[:n])],
        }

    return {
        "plan_id": plan_id,
        "today": "2027-03-01",
        "week": 9,
        "weeks": 13,
        "done": 20,
        "total": 33,
        "percent": 60,
        "status": "behind",
        "label": "2 behind",
        "planned_finish": "2027-04-02",
        "projected_finish": "2027-04-06",
        "done_recently": section(3),
        "due_soon": section(2),
        "overdue": section(2),
    }


def fill_outbox(app, messages: int) -> None:
    """Queue weekly emails due at NOW, spread over LEARNERS learners (Core inserts)."""
    with app.app_context():
        steps = [m.id for m in get_catalog().roadmaps["go"].steps]
        created = NOW - timedelta(days=60)
        db.session.execute(
            sa.insert(User),
            [
                {
                    "id": i,
                    "email": f"learner{i}@example.com",
                    "password_hash": "x",
                    "created_at": created,
                    "email_verified_at": created,
                }
                for i in range(1, LEARNERS + 1)
            ],
        )
        db.session.execute(
            sa.insert(Plan),
            [
                {
                    "id": i,
                    "user_id": i,
                    "outcome": "go",
                    "recommended": "go",
                    "roadmaps": ["go"],
                    "answers": {},
                    "start_date": date(2027, 1, 4),
                    "study_days": "01234",
                    "created_at": created,
                    "updated_at": created,
                }
                for i in range(1, LEARNERS + 1)
            ],
        )
        outbox.queue_many(
            db.session,
            [
                outbox.row(
                    user_id=1 + n % LEARNERS,
                    kind="weekly",
                    dedupe_key=f"weekly:{1 + n % LEARNERS}:{n}",
                    due_at=NOW - timedelta(minutes=1),
                    now=created,
                    payload=weekly_payload(1 + n % LEARNERS, steps),
                )
                for n in range(messages)
            ],
        )
        db.session.commit()


class CountingSink(SMTPSink):
    """An SMTP server that keeps only each message's Message-ID (parsing whole messages
    would cost the test more CPU than the workers), and can hold one worker's message until
    that worker is killed."""

    def __init__(self, hold_after: int) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hold_after = hold_after  # hold the victim's message after this many went through
        self.victim_started = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()
        self.held_id: str | None = None
        self._victim_count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(envelope.content)
        self.ids.append(headers["Message-ID"])
        if envelope.mail_from == VICTIM and self.held_id is None:
            self.victim_started.set()
            self._victim_count += 1
            if self._victim_count > self.hold_after:
                # The message has arrived, but the worker never hears so: it is in flight.
                self.held_id = headers["Message-ID"]
                self.held.set()
                while not self.release.is_set():
                    await asyncio.sleep(0.01)
        return "250 OK"


@pytest.fixture
def smtp_sink():
    sink = CountingSink(hold_after=2)
    sink.start()
    yield sink
    sink.release.set()
    sink.stop()


@pytest.fixture
def start_worker(cli, database_url, smtp_sink):
    """Start ``flask tracker send-due`` in a process of its own, as a deployment would."""

    def start(now: datetime, mail_from: str | None = None) -> subprocess.Popen[str]:
        return cli("send-due", "--now", now.isoformat(), MAIL_URL=smtp_sink.url,
                   MAIL_FROM=mail_from or "Roadmap Tracker <tracker@tracker.example>")

    return start


def finish(worker: Any) -> int:
    """Wait for a worker; return how many messages it says it sent."""
    try:
        out, err = worker.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        worker.kill()
        out, err = worker.communicate()
        pytest.fail(f"worker {worker.pid} timed out:\n{out}\n{err}")
    assert worker.returncode == 0, err
    return int(re.search(r"sent (\d+)", out).group(1))


def received_ids(sink: CountingSink) -> Counter[str]:
    return Counter(sink.ids)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_many_workers_send_every_message_exactly_once(app, smtp_sink, start_worker):
    fill_outbox(app, MESSAGES)
    workers = [start_worker(NOW) for _ in range(WORKERS)]
    sent = [finish(w) for w in workers]

    assert sum(sent) == MESSAGES
    assert sum(1 for n in sent if n) >= 2, sent  # the workers really ran side by side
    rows = outbox_rows(app)
    assert {r.status for r in rows} == {"sent"}
    ids = received_ids(smtp_sink)
    assert len(ids) == MESSAGES and max(ids.values()) == 1  # none lost, none twice
    by_id = {r.message_id: r.dedupe_key for r in rows}
    assert set(ids) == set(by_id)
    assert len({by_id[i] for i in ids}) == MESSAGES  # one message per dedupe key


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_worker_loses_nothing(app, smtp_sink, start_worker):
    # Fewer messages than above: the property does not depend on the count, the run time does.
    fill_outbox(app, MESSAGES // 4)
    victim = start_worker(NOW, mail_from=VICTIM)
    assert smtp_sink.victim_started.wait(60), (
        victim.stderr.read() if victim.poll() is not None else ""
    )
    others = [start_worker(NOW) for _ in range(WORKERS - 1)]
    assert smtp_sink.held.wait(60)
    victim.send_signal(signal.SIGKILL)  # mid-batch: one message in flight, the rest claimed
    victim.wait()
    smtp_sink.release.set()
    for w in others:
        finish(w)

    stranded = [r for r in outbox_rows(app) if r.status == "sending"]
    # Left behind: the message in flight and the rest of the victim's batch.
    assert smtp_sink.held_id in {r.message_id for r in stranded} and len(stranded) > 1
    # Its claims come back once their lease runs out: a later pass sends them.
    later = NOW + claims.LEASE + timedelta(minutes=1)
    assert finish(start_worker(later)) == len(stranded)

    rows = outbox_rows(app)
    assert {r.status for r in rows} == {"sent"}
    ids = received_ids(smtp_sink)
    assert set(ids) == {r.message_id for r in rows}  # nothing lost
    assert len({r.dedupe_key for r in rows}) == len(rows) == MESSAGES // 4
    twice = [i for i, n in ids.items() if n > 1]
    assert twice == [smtp_sink.held_id]  # only the message in flight, under the same Message-ID
    assert ids[smtp_sink.held_id] == 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_sweeping_workers_split_the_learners(app, database_url, make_user, make_plan, monkeypatch):
    from tracker.reminders import sweep

    monkeypatch.setattr(sweep, "USER_BATCH", 2)
    ids = [make_user(f"learner{i}@example.com") for i in range(6)]
    for user_id in ids:
        make_plan(user_id)
    now = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # Monday: everyone's weekly email is due
    # Another worker is in the middle of the second batch (learners 3 and 4, all due at the
    # same instant: read in id order), which is named by its last learner.
    other = sa.create_engine(database_url)
    with other.connect() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sweep.SWEEP_LOCK, ids[3])))
        with app.app_context():
            sweep.sweep(now)
            queued = {n.user_id for n in db.session.scalars(sa.select(Notification))}
        assert queued == {ids[0], ids[1], ids[4], ids[5]}  # it skipped the batch in progress
        conn.rollback()
    other.dispose()
    with app.app_context():
        sweep.sweep(now)  # the next pass finds what the other worker would have queued
        queued = {n.user_id for n in db.session.scalars(sa.select(Notification))}
    assert queued == set(ids)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pages_read_beside_a_writer_on_sqlite(
    app, client, auth, make_user, make_plan, database_url
):
    import sqlite3
    import time

    make_plan(make_user())
    auth.login()
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another worker is in the middle of a write
    try:
        started = time.monotonic()
        assert client.get("/dashboard").status_code == 200
        assert time.monotonic() - started < 5  # did not wait for the lock (busy_timeout: 10 s)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
