"""Exactly once, nobody missed, from outside: learners sign up through the served pages,
confirm from their inbox and start a plan; then several `tracker send-due` processes run
the same minute at once against one SMTP server."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from conftest import PASSWORD, Browser, SMTPSink, finished, outbox_rows
from pages import forms_on

from tracker.database import db
from tracker.models import Milestone

ZONES = ("UTC", "Europe/Berlin", "America/New_York")
LINK = re.compile(r"https://tracker\.example(/verify/[\w.-]+)")


def next_monday() -> date:
    """Return the Monday after today in every zone of the test: a weekly-mail day."""
    today = datetime.now(UTC).date() + timedelta(days=1)  # New York may be a day behind
    return today + timedelta(days=7 - today.weekday())


# Each person signs up from an address of their own, as people do: eleven from one address
# inside a minute would meet the log-in limit (10 a minute per address) when the run is fast.
ADDRESSES = (f"127.0.0.{n}" for n in itertools.count(10))


def sign_up(port: int, email: str) -> Browser:
    """Sign up through the pages, as a person would: signed in, on to the questions."""
    browser = Browser(port, source=next(ADDRESSES))
    [form] = forms_on(browser, "/signup")
    status, _ = browser.request("POST", "/signup",
                                form.filled(email=email, password=PASSWORD))
    assert status == 302 and browser.location == "/decide", status
    return browser


def start_plan(browser: Browser, zone: str, start: date) -> None:
    """Answer the decision flow and start the plan it recommends on ``start``."""
    [questions] = [f for f in forms_on(browser, "/decide?step=all") if f.action == "/decide"]
    assert browser.request("POST", "/decide", questions.answered())[0] == 302
    [plan] = [f for f in forms_on(browser, "/decide/result") if f.action == "/decide/result"]
    status, page = browser.request("POST", "/decide/result", plan.filled(
        timezone=zone, start_date=start.isoformat(), study_days=["0", "1", "2", "3", "4"]))
    assert status == 302 and browser.location == "/dashboard", page[:2000]


def confirm(port: int, sink: SMTPSink, email: str) -> None:
    """Open the confirmation link from the inbox and press its button."""
    [message] = sink.by_recipient(email)
    path = LINK.search(message.get_body(("plain",)).get_content()).group(1)
    browser = Browser(port)  # the phone's mail app: no session
    [form] = forms_on(browser, path)
    status, page = browser.request("POST", path, form.fields)
    assert status == 200 and "is confirmed" in page


def test_every_learner_gets_each_mail_exactly_once(app, app_config, serve, cli):
    postgres = app_config["DATABASE_URL"].startswith("postgresql")
    passes = 3 if postgres else 2  # SQLite: one writer at a time, two passes are plenty
    sink = SMTPSink()
    sink.start()
    monday = next_monday()
    confirmed = [f"learner{i}@example.com" for i in range(9)]
    unconfirmed = ["later0@example.com", "later1@example.com"]
    with serve(MAIL_URL=sink.url) as port:
        for i, email in enumerate(confirmed + unconfirmed):
            start_plan(sign_up(port, email), ZONES[i % len(ZONES)], monday)
        finished(cli("send-due", MAIL_URL=sink.url))  # the confirmation links go out
        assert {m["To"] for m in sink.messages} == set(confirmed + unconfirmed)
        for email in confirmed:
            confirm(port, sink, email)
    sink.messages.clear()

    # Two days of the plan, each at 16:00 UTC: past 08:00 in every zone and less than the
    # twelve hours after it that a due-day reminder waits. On Monday the weekly mail is due
    # for every confirmed learner, on the first due date the due-day mail. Each day's passes
    # start together.
    with app.app_context():
        first_due = db.session.scalar(sa.select(sa.func.min(Milestone.due_date)))
    outputs = []
    for day in sorted({monday, first_due}):
        when = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=16)
        runs = [cli("send-due", "--now", when.isoformat(), MAIL_URL=sink.url)
                for _ in range(passes)]
        outputs += [finished(run) for run in runs]
    sink.stop()

    rows = {r.message_id: r for r in outbox_rows(app) if r.kind in ("due", "weekly")}
    arrived = Counter(m["Message-ID"] for m in sink.messages)
    assert arrived and set(arrived.values()) == {1}, arrived  # nothing twice
    assert set(arrived) == set(rows), outputs  # nothing left behind
    got = Counter((m["To"], rows[m["Message-ID"]].kind) for m in sink.messages)
    assert got == {(email, kind): 1 for email in confirmed for kind in ("due", "weekly")}
    # The unconfirmed hear nothing more until they confirm.
    assert not {m["To"] for m in sink.messages} & set(unconfirmed)
