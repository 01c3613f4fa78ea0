"""Faults from outside: a mail server that refuses every third message for a day."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from conftest import outbox_rows

from tracker.database import db
from tracker.jobs.worker import run_once

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
MONDAY = datetime(2027, 1, 4, tzinfo=UTC)  # the plans start that day, a weekly-mail day


def test_a_day_of_451s_loses_and_doubles_nothing(app: Any, make_user: Any, make_plan: Any,
                                                  smtp_server: Any) -> None:
    learners = []
    for i in range(20):
        user_id = make_user(f"l{i}@example.com", timezone=ZONES[i % len(ZONES)], nudge_days=0)
        make_plan(user_id, start=date(2027, 1, 4), now=MONDAY - timedelta(days=3))
        learners.append(f"l{i}@example.com")
    smtp_server.refuse_every = 3
    # The worker's day: a pass every five minutes for 24 hours (288 passes).
    now = MONDAY - timedelta(hours=12)
    while now <= MONDAY + timedelta(hours=24):
        with app.app_context():
            run_once(now)
            db.session.close()
        now += timedelta(minutes=5)

    rows = outbox_rows(app)
    assert rows and {r.status for r in rows} == {"sent"}, Counter(r.status for r in rows)
    assert smtp_server.offered > len(rows)  # the server did refuse some
    # Each message arrived once, and every learner got their due-day and weekly mail.
    ids = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert set(ids.values()) == {1} and len(ids) == len(rows)
    # Every learner heard from us: the due-day reminder and the weekly mail of their zone.
    assert {m["To"] for m in smtp_server.messages} == set(learners)
    assert {r.kind for r in rows} == {"due", "weekly"}
    assert all(r.attempts <= 3 for r in rows)  # a refusal costs a try, never the day
