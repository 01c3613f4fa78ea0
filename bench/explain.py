"""EXPLAIN ANALYZE the app's main queries on the seeded PostgreSQL database.

    .venv/bin/python bench/seed.py postgresql && .venv/bin/python bench/explain.py

Runs the real code paths (a dashboard request, a feed poll, one sweep batch, one outbox
claim), records the statements they send, and prints the plan of each, with its parameters,
inside a transaction that is rolled back. The outbox is filled by a sweep first.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

import sqlalchemy as sa
from common import url_for
from cost import call, make_app
from load import prepare
from sweep import monday_after


def record(app: Any, fn: Any) -> list[tuple[str, Any]]:
    """Run ``fn`` and return the (statement, parameters) SQLAlchemy sent meanwhile."""
    from tracker.database import db

    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return [(s, p) for s, p in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def explain(engine: sa.Engine, statement: str, params: Any) -> str:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {statement}", params)
        # Long IN lists would fill pages: keep the start of each line.
        plan = "\n".join(r[0] if len(r[0]) < 200 else r[0][:200] + " …" for r in cursor.fetchall())
        raw.rollback()
    finally:
        raw.close()
    return plan


def short(statement: str) -> str:
    text = re.sub(r"\s+", " ", statement)
    return text if len(text) < 400 else text[:400] + " …"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("engine", nargs="?", default="postgresql")
    args = parser.parse_args()
    url = url_for(args.engine)

    from tracker.calendar import polls as feeds
    from tracker.calendar import tokens
    from tracker.database import db
    from tracker.mail import delivery as outbox
    from tracker.reminders import sweep as reminders

    [learner] = prepare(url, 1)
    app = make_app(url)
    with app.app_context():
        engine = db.engine
        seeded = db.session.scalar(sa.text("SELECT max(created_at) FROM plan"))
        now = monday_after(seeded.date())
        if not db.session.scalar(sa.text("SELECT count(*) FROM notification")):
            reminders.sweep(now)  # an outbox as big as a weekly run makes it
        db.session.execute(sa.text("ANALYZE notification"))
        db.session.commit()
        counts = {
            t: db.session.scalar(sa.text(f'SELECT count(*) FROM "{t}"'))
            for t in ("user", "plan", "milestone", "notification")
        }
    print("rows:", ", ".join(f"{t} {n}" for t, n in counts.items()), "\n")

    def sweep_batch() -> None:
        with app.app_context():
            learners, _, _ = reminders._learners(None, now)
            reminders._batch_rows(learners, now)
            # The weekly query only runs for learners without this week's row yet.
            db.session.execute(sa.text("DELETE FROM notification WHERE kind = 'weekly'"))
            reminders._batch_rows(learners, now)
            db.session.rollback()

    def claim() -> None:
        with app.app_context():
            outbox.claim(now, outbox.BATCH)
            db.session.rollback()

    cases = [
        ("dashboard", record(app, lambda: call(app, "dashboard", learner))),
        ("sweep batch (500 learners)", record(app, sweep_batch)),
        ("outbox claim", record(app, claim)),
    ]
    with app.app_context():
        poll = feeds._POLL.compile(dialect=engine.dialect)
        token = learner.feed.removeprefix("/calendar/").removesuffix(".ics")
        cases.append(
            (
                "feed poll (hot path)",
                [(poll.string, poll.construct_params({"digest": tokens.digest(token)}))],
            )
        )
    for name, statements in cases:
        print(f"== {name}")
        seen = set()
        for statement, params in statements:
            if statement in seen:
                continue
            seen.add(statement)
            print(f"-- {short(statement)}")
            print(explain(engine, statement, params), "\n")


if __name__ == "__main__":
    main()
