"""Queries are bounded: pages and sweeps issue the same number of statements at any size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tracker.database import db
from tracker.models import Milestone, Notification, Plan, User


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements the app sends to the database inside the block.

    Counted at the driver, not with SQLAlchemy's ``before_cursor_execute``, so that BEGIN
    and ROLLBACK count too.
    """
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(seen.append)
        else:
            dbapi_connection.cursor_factory = _counting(dbapi_connection.cursor_factory, seen)

    def checkin(dbapi_connection: Any, _record: Any) -> None:
        if engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(None)
        else:
            dbapi_connection.cursor_factory = dbapi_connection.cursor_factory.__base__

    sa.event.listen(engine.pool, "checkout", checkout)
    sa.event.listen(engine.pool, "checkin", checkin)
    try:
        yield seen
    finally:
        sa.event.remove(engine.pool, "checkout", checkout)
        sa.event.remove(engine.pool, "checkin", checkin)


def _counting(factory: type, seen: list[str]) -> type:
    """Return a psycopg cursor class that notes every statement it runs."""

    class Counting(factory):  # type: ignore[misc, valid-type]
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(query))
            return super().execute(query, *args, **kwargs)

        def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(query))
            return super().executemany(query, *args, **kwargs)

    return Counting


def pad_plan(app: Flask, plan_id: int, extra: int) -> None:
    """Add ``extra`` milestones to a plan (a longer roadmap), some of them done."""
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        assert plan is not None
        last = plan.milestones[-1]
        for i in range(extra):
            plan.milestones.append(
                Milestone(
                    step_id=f"bench/extra-{i}",
                    phase_id="rust/extra",
                    position=last.position + 1 + i,
                    due_date=last.due_date,
                    updated_at=last.updated_at,
                    done_at=datetime(2027, 1, 5, tzinfo=UTC) if i % 2 else None,
                )
            )
        db.session.commit()


def login(client, auth, email: str) -> None:
    response = auth.login(email)
    assert response.status_code == 302


@pytest.fixture
def learners(app, make_user, make_plan):
    """Make learners whose plans differ only in length: 33, 65 and 65 + 60 milestones."""
    small = make_user("small@example.com", timezone="Europe/Berlin")
    make_plan(small, "go", start=date(2027, 1, 4))
    large = make_user("large@example.com", timezone="America/New_York")
    make_plan(large, "go-rust", start=date(2027, 1, 4))
    huge = make_user("huge@example.com")
    pad_plan(app, make_plan(huge, "go-rust", start=date(2027, 1, 4)), 60)
    return ["small@example.com", "large@example.com", "huge@example.com"]


def test_dashboard_statement_count_is_constant(app, client, auth, learners):
    counts = []
    for email in learners:
        login(client, auth, email)
        client.get("/dashboard")  # warm: the first request pays for nothing we count
        with statements(app) as seen:
            response = client.get("/dashboard")
        assert response.status_code == 200
        counts.append(len(seen))
        auth.logout()
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 7, counts  # 5, and the reviews due and the history (issue 15)


def feed_path(app: Flask, email: str) -> str:
    from tracker.calendar.tokens import feed_token
    from tracker.models import User

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        token = feed_token(user)
        assert token is not None
        return f"/calendar/{token}.ics"


def test_feed_statement_count_is_constant(app, client, learners):
    counts: dict[str, list[int]] = {"build": [], "cached": [], "304": []}
    for email in learners:
        path = feed_path(app, email)
        with statements(app) as seen:
            first = client.get(path)  # builds the feed and caches it
        assert first.status_code == 200
        counts["build"].append(len(seen))
        with statements(app) as seen:
            assert client.get(path).status_code == 200
        counts["cached"].append(len(seen))
        with statements(app) as seen:
            assert (
                client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code
                == 304
            )
        counts["304"].append(len(seen))
    for kind, found in counts.items():
        assert len(set(found)) == 1, (kind, found)
    assert counts["cached"][0] == counts["304"][0] == 1  # one indexed SELECT per poll


def test_weekly_sweep_statement_count_is_constant(app, make_user, make_plan, monkeypatch):
    # The sweep reads learners in batches: a fixed number of statements per batch, however
    # many milestones the plans have (the batch is made small here to fill it).
    from tracker.reminders import sweep as reminders

    monkeypatch.setattr(reminders, "USER_BATCH", 5)
    now = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # Monday: every learner's weekly is due

    def sweep_statements(prefix: str, learners: int, extra: int) -> tuple[int, int]:
        for i in range(learners):
            plan_id = make_plan(make_user(f"{prefix}{i}@example.com"), "go-rust" if i % 2 else "go")
            pad_plan(app, plan_id, extra)
        with app.app_context(), statements(app) as seen:
            counts = reminders.sweep(now)
        assert counts.queued >= learners
        # Each learner's next mail instant is one executemany: one call to the driver, which
        # SQLite's trace reports once per row.
        rows = [s for s in seen if 'SET next_mail_at' in s]
        assert len(rows) in (1, learners)
        return len(seen) - len(rows), counts.queued

    small, _ = sweep_statements("a", 2, 0)  # one batch: 33 and 65 milestones
    with app.app_context():
        db.session.execute(sa.delete(Notification))
        db.session.execute(sa.delete(User))
        db.session.commit()
    large, _ = sweep_statements("b", 4, 60)  # one batch: up to 125 milestones
    assert small == large


def test_every_milestone_statement_names_the_learner(app, client, auth, learners):
    # The milestone rows are keyed by learner so that they can be split by learner (Citus,
    # hash partitions: docs/scaling.md). That holds only while no statement reaches them
    # without the learner: pages, tick and undo, the feed, the history and the sweep.
    from tracker.reminders.sweep import sweep

    login(client, auth, learners[1])
    with app.app_context():
        first = db.session.scalar(sa.select(Milestone).join(Plan).join(User)
                                  .where(User.email == learners[1]).order_by(Milestone.id))
        assert first is not None and first.user_id == first.plan.user_id
    with statements(app) as seen:
        for path in ("/dashboard", f"/milestones/{first.id}", "/plans",
                     feed_path(app, learners[1])):
            assert client.get(path).status_code == 200, path
        for action in ("done", "undo"):
            assert client.submit(f"/milestones/{first.id}/{action}").status_code == 302
        with app.app_context():
            assert sweep(datetime(2027, 1, 11, 9, 0, tzinfo=UTC)).queued >= 1
    reads = [s for s in seen if "milestone" in s.lower() and "review" not in s.lower()
             and any(w in s.upper() for w in ("FROM MILESTONE", "UPDATE MILESTONE"))]
    assert len(reads) >= 8, seen  # every path above read its milestones
    for statement in reads:
        assert "milestone.user_id" in statement, statement
