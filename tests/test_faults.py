"""Faults from outside, with real processes where a deployment has them: a mail server that
is down, refuses or hangs up; workers killed mid-batch; PostgreSQL restarted under load; a
three-day outage; a learner row with a zone that does not exist; a roadmap that lost a
milestone. Each shows that nothing is lost, nothing is sent twice, and the app recovers on
its own."""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import ROOT, Browser, SMTPSink, finished, outbox_rows
from pages import forms_on

from tracker.calendar.tokens import feed_token
from tracker.database import db
from tracker.jobs.worker import run_once
from tracker.mail import claims
from tracker.models import Milestone, Notification, User

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
MONDAY = datetime(2027, 1, 4, tzinfo=UTC)  # the plans start that day, a weekly-mail day


def make_learners(make_user: Any, make_plan: Any, n: int, zones: tuple[str, ...] = ZONES,
                  **fields: Any) -> list[str]:
    """Make ``n`` confirmed learners on the Go plan from MONDAY, in turn in ``zones``."""
    emails = []
    for i in range(n):
        user_id = make_user(f"l{i}@example.com", timezone=zones[i % len(zones)], **fields)
        make_plan(user_id, start=MONDAY.date(), now=MONDAY - timedelta(days=3))
        emails.append(f"l{i}@example.com")
    return emails


def once_each(sink: SMTPSink) -> Counter[str]:
    """Return how often each Message-ID arrived; fail if any arrived twice."""
    ids = Counter(m["Message-ID"] for m in sink.messages)
    assert set(ids.values()) == {1}, [i for i, n in ids.items() if n > 1]
    return ids


def send_due(cli: Any, sink: SMTPSink, now: datetime) -> subprocess.Popen[str]:
    return cli("send-due", "--now", now.isoformat(), MAIL_URL=sink.url)


# -- the mail server -------------------------------------------------------------------------

def test_a_day_of_451s_loses_and_doubles_nothing(app: Any, make_user: Any, make_plan: Any,
                                                  smtp_server: Any) -> None:
    learners = make_learners(make_user, make_plan, 20, nudge_days=0)
    smtp_server.refuse_every = 3
    # The worker's day: a pass every five minutes for 36 hours (433 passes, in-process:
    # each pass is what `send-due` runs).
    now = MONDAY - timedelta(hours=12)
    while now <= MONDAY + timedelta(hours=24):
        with app.app_context():
            run_once(now)
            db.session.close()
        now += timedelta(minutes=5)

    rows = outbox_rows(app)
    assert rows and {r.status for r in rows} == {"sent"}, Counter(r.status for r in rows)
    assert smtp_server.offered > len(rows)  # the server did refuse some
    assert len(once_each(smtp_server)) == len(rows)
    # Every learner heard from us: the due-day reminder and the weekly mail of their zone.
    assert {m["To"] for m in smtp_server.messages} == set(learners)
    assert {r.kind for r in rows} == {"due", "weekly"}
    assert all(r.attempts <= 3 for r in rows)  # a refusal costs a try, never the day


def test_a_mail_server_that_is_down_delays_mail_and_says_so(app, make_user, make_plan, serve,
                                                              cli):
    learners = make_learners(make_user, make_plan, 3, zones=("UTC",))
    sink = SMTPSink()  # not started: every connection is refused
    at = MONDAY + timedelta(hours=9)  # the weekly mail is due for all three
    down = send_due(cli, sink, at)
    out, _ = down.communicate(timeout=120)
    assert down.returncode == 2 and "unreachable" in out  # cron and monitors notice

    with serve() as port:  # what the learner and the operator see meanwhile
        status, page = Browser(port).request("GET", "/healthz")
        mail = json.loads(page)["mail"]
        assert mail["retrying"] == 3 and "Connection refused" in mail["last_error_detail"]
        assert mail["next_try"] == (at + claims.PAUSE).isoformat()
        browser = Browser(port)
        browser.login(learners[0], "/settings")
        _, settings = browser.request("GET", "/settings/mail")
        waiting = re.search(r'<table id="mail-waiting">.*?</table>', settings, re.S).group(0)
        assert "Weekly" in waiting and "Connection refused" in waiting
        assert (at + claims.PAUSE).strftime("%H:%M") in waiting  # the next try, shown

    assert "sent 0" in finished(send_due(cli, sink, at + timedelta(seconds=30)))  # backing off
    sink.start()
    try:
        assert "sent 3" in finished(send_due(cli, sink, at + timedelta(minutes=2)))
        assert "sent 0" in finished(send_due(cli, sink, at + timedelta(minutes=10)))
    finally:
        sink.stop()
    assert len(once_each(sink)) == 3 and {m["To"] for m in sink.messages} == set(learners)
    assert {r.status for r in outbox_rows(app)} == {"sent"}


def test_a_server_that_hangs_up_mid_message_loses_and_doubles_nothing(
        app, make_user, make_plan, cli):
    learners = make_learners(make_user, make_plan, 6, zones=("UTC",), nudge_days=0)
    sink = SMTPSink()
    sink.hang_up_every = 3  # the third message of every three never gets its answer
    sink.start()
    try:
        at, outputs = MONDAY + timedelta(hours=9), []
        while any(r.status != "sent" for r in outbox_rows(app)) or not outputs:
            assert len(outputs) < 8, outputs
            run = send_due(cli, sink, at)
            out, err = run.communicate(timeout=120)
            # 2: the pass stopped where the connection broke, as for a server that is down.
            assert run.returncode in (0, 2), err
            outputs.append(out)
            at += timedelta(minutes=6)  # past the first backoffs (1 and 5 minutes)
    finally:
        sink.stop()
    rows = outbox_rows(app)
    assert sink.offered > len(rows) == 6  # six weekly mails; some were cut off and retried
    assert set(once_each(sink)) == {r.message_id for r in rows}
    assert {m["To"] for m in sink.messages} == set(learners)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_workers_killed_mid_batch_lose_nothing(app, make_user, make_plan, cli):
    # Several workers claim with SKIP LOCKED, which SQLite has no need of: PostgreSQL only.
    make_learners(make_user, make_plan, 40, zones=("UTC",), nudge_days=0)
    sink = SMTPSink()
    sink.hold_at = 10  # the tenth message arrives, and its worker never hears so
    sink.start()
    at = MONDAY + timedelta(hours=9)
    try:
        workers = [send_due(cli, sink, at) for _ in range(2)]
        assert sink.held.wait(120), [w.communicate() for w in workers if w.poll() is not None]
        for worker in workers:
            worker.send_signal(signal.SIGKILL)  # every worker, mid-batch
            worker.wait()
        sink.release.set()
        stranded = [r for r in outbox_rows(app) if r.status != "sent"]
        assert sink.held_id in {r.message_id for r in stranded}
        # Restarted: claims of the dead come back once their lease has run out.
        finished(send_due(cli, sink, at + claims.LEASE + timedelta(minutes=1)))
    finally:
        sink.stop()
    rows = outbox_rows(app)
    assert {r.status for r in rows} == {"sent"} and len(rows) == 40
    ids = Counter(m["Message-ID"] for m in sink.messages)
    assert set(ids) == {r.message_id for r in rows}  # everything arrived
    # At most the message in flight twice, under the same Message-ID.
    assert {i: n for i, n in ids.items() if n > 1} in ({}, {sink.held_id: 2})


def test_a_three_day_outage_is_caught_up_without_spam(app, make_user, make_plan, cli):
    zones = ("UTC", "Europe/Berlin", "America/New_York")
    learners = make_learners(make_user, make_plan, 6, zones=zones, nudge_days=2)
    sink = SMTPSink()
    sink.start()
    try:
        finished(send_due(cli, sink, MONDAY + timedelta(hours=16)))  # the weekly mail
        before = len(sink.messages)
        # The worker is down from Monday evening to Thursday afternoon, then one pass. The
        # first milestone fell due on Tuesday, the second falls due on Thursday.
        finished(send_due(cli, sink, MONDAY + timedelta(days=3, hours=16)))
    finally:
        sink.stop()
    once_each(sink)
    rows = {r.message_id: r for r in outbox_rows(app)}
    caught_up = [rows[m["Message-ID"]] for m in sink.messages[before:]]
    # One mail of each kind at most, about today only: Thursday's due-day reminder and the
    # nudge for Tuesday's milestone. Tuesday's own reminder is not sent two days late.
    assert Counter((r.user_id, r.kind) for r in caught_up) == {
        (user_id, kind): 1 for user_id in range(1, 7) for kind in ("due", "nudge")}
    assert {r.payload["date"] for r in caught_up if r.kind == "due"} == {"2027-01-07"}
    assert {r.payload["date"] for r in caught_up if r.kind == "nudge"} == {"2027-01-05"}
    assert {m["To"] for m in sink.messages[before:]} == set(learners)


# -- the database -----------------------------------------------------------------------------

def restart_postgresql() -> None:
    [version] = [Path(p).name for p in glob.glob("/etc/postgresql/*")]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=120)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_restarts_under_load_and_the_app_recovers(app, make_user, make_plan,
                                                              serve, cli):
    if os.geteuid() != 0 or not glob.glob("/etc/postgresql/*"):
        pytest.skip("restarting PostgreSQL needs root and a local cluster")
    make_learners(make_user, make_plan, 2, zones=("UTC",))
    sink = SMTPSink()
    sink.start()
    worker = cli("worker", MAIL_URL=sink.url)
    results: list[tuple[float, float, int]] = []  # (started, ended, status; 0: no answer)
    stop, quiet = threading.Event(), threading.Event()
    with serve(workers=2) as port:
        def load() -> None:
            browser = Browser(port)
            browser.login("l0@example.com")
            while not stop.is_set():
                if quiet.is_set():
                    time.sleep(0.01)
                    continue
                started = time.monotonic()
                try:
                    status = browser.request("GET", "/dashboard")[0]
                except OSError:
                    status, browser = 0, browser.copy()
                results.append((started, time.monotonic(), status))
                time.sleep(0.02)

        def ask_for_reset(email: str) -> None:
            browser = Browser(port)
            [form] = forms_on(browser, "/reset")
            assert browser.request("POST", "/reset", form.filled(email=email))[0] == 200

        def mail_to(email: str, timeout: float = 60) -> bool:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if sink.by_recipient(email):
                    return True
                time.sleep(0.2)
            return False

        def between(start: float, end: float) -> Counter[int]:
            return Counter(s for began, _, s in results if start < began < end)

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        ask_for_reset("l0@example.com")
        assert mail_to("l0@example.com")  # the worker sends
        # A restart while nobody asks: every pooled connection is dead when the next request
        # comes, and that request must not be the one to find out.
        quiet.set()
        time.sleep(0.5)
        restart_postgresql()
        quiet_end = time.monotonic()
        quiet.clear()
        time.sleep(2)
        # A restart under load.
        outage_start = time.monotonic()
        restart_postgresql()
        outage_end = time.monotonic()
        time.sleep(3)
        ask_for_reset("l1@example.com")  # after the restarts, through the same web processes
        assert mail_to("l1@example.com"), worker.poll()  # and the same worker, never restarted
        stop.set()
        thread.join(30)
    sink.stop()

    assert set(between(0, quiet_end)) == {200}
    assert set(between(quiet_end, outage_start)) == {200}, between(quiet_end, outage_start)
    # Under load: a calm 503 with Retry-After while it is down, never a 500; then all well,
    # without restarting the app.
    assert set(between(outage_start - 1, outage_end + 1)) <= {200, 503}
    after = between(outage_end + 1, time.monotonic())
    assert after and set(after) == {200}, after
    assert worker.poll() is None  # the worker lived through both


# -- the data ---------------------------------------------------------------------------------

def test_a_learner_row_with_an_unknown_zone_breaks_nothing(app, make_user, make_plan, serve,
                                                           cli):
    make_learners(make_user, make_plan, 3, zones=("UTC", "Europe/Berlin", "Asia/Kolkata"))
    with app.app_context():  # an old release, a hand edit, or tzdata that dropped a name
        db.session.execute(sa.update(User).where(User.email == "l0@example.com")
                           .values(timezone="Mars/Olympus"))
        db.session.commit()
        token = feed_token(db.session.scalar(sa.select(User).filter_by(email="l0@example.com")))
    with serve() as port:
        browser = Browser(port)
        browser.login("l0@example.com")
        for path in ("/dashboard", "/settings", "/replan", f"/calendar/{token}.ics"):
            assert browser.request("GET", path)[0] == 200, path
        _, settings = browser.request("GET", "/settings")
        assert "Mars/Olympus" in settings  # shown as stored, for the learner to correct
    sink = SMTPSink()
    sink.start()
    try:
        finished(send_due(cli, sink, MONDAY + timedelta(hours=12)))  # read as UTC
    finally:
        sink.stop()
    assert {m["To"] for m in sink.messages} == {"l0@example.com", "l1@example.com",
                                                "l2@example.com"}


def test_a_milestone_removed_from_plans_keeps_the_rest(app, make_user, make_plan, serve, cli,
                                                       tmp_path):
    [learner] = make_learners(make_user, make_plan, 1, zones=("UTC",))
    with app.app_context():
        first, gone, third = db.session.execute(
            sa.select(Milestone.id, Milestone.step_id).order_by(Milestone.position).limit(3)
        ).all()
        for m_id, _ in (first, gone):
            db.session.get(Milestone, m_id).done_at = MONDAY
        db.session.commit()
    plans = tmp_path / "plans"
    plans.mkdir()
    for path in (ROOT / "plans").glob("*.toml"):
        text = path.read_text()
        step = gone.step_id.split("/")[1]
        # The block of that milestone, up to the next table.
        text = re.sub(rf'\[\[phases\.milestones\]\]\nid = "{step}".*?(?=\n\[\[)', "", text,
                      flags=re.S)
        (plans / path.name).write_text(text)
    assert gone.step_id.split("/")[1] not in (plans / "go.toml").read_text()

    with serve(PLANS_DIR=plans) as port:  # the app starts
        browser = Browser(port)
        token = browser.login(learner)
        status, page = browser.request("GET", "/dashboard")
        assert status == 200 and "1 of " in page  # the first milestone is still done
        assert browser.request("GET", f"/milestones/{first.id}")[0] == 200
        status, page = browser.request("GET", f"/milestones/{gone.id}")
        assert status == 200 and "no longer part of the roadmap" in page
        status, _ = browser.request("POST", f"/milestones/{third.id}/done",
                                    {"csrf_token": token})
        assert status == 302
        status, page = browser.request("GET", "/dashboard")
        assert status == 200 and "2 of " in page
    sink = SMTPSink()
    sink.start()
    try:
        out = finished(cli("send-due", "--now", (MONDAY + timedelta(hours=9)).isoformat(),
                           MAIL_URL=sink.url, PLANS_DIR=plans))
    finally:
        sink.stop()
    assert "failed 0" in out and [m["To"] for m in sink.messages] == [learner]
    with app.app_context():
        assert db.session.get(Milestone, gone.id).done_at is not None  # its row is kept
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                 .where(Notification.status == "failed")) == 0
