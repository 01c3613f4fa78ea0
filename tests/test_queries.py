"""Queries are bounded: pages and sweeps issue the same number of statements at any size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from tracker.db import db
from tracker.models import Milestone, Plan


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements the app's engine runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _executemany) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def pad_plan(app: Flask, plan_id: int, extra: int) -> None:
    """Add ``extra`` milestones to a plan (a longer roadmap), some of them done."""
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        assert plan is not None
        last = plan.milestones[-1]
        for i in range(extra):
            plan.milestones.append(Milestone(
                step_id=f"bench/extra-{i}", phase_id="rust/extra", position=last.position + 1 + i,
                due_date=last.due_date, updated_at=last.updated_at,
                done_at=datetime(2027, 1, 5, tzinfo=UTC) if i % 2 else None,
            ))
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
    assert counts[0] <= 5, counts
