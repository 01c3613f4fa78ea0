"""Fill a benchmark database: N learners, each with one plan of M milestones.

    python bench/seed.py sqlite            # bench/out/bench.sqlite
    python bench/seed.py postgresql        # database tracker_bench on the local server
    python bench/seed.py URL --learners 10000 --milestones 90

Bulk inserts with explicit ids (COPY on PostgreSQL, executemany on SQLite), then ANALYZE.
The schema is dropped and migrated from scratch first.
"""

from __future__ import annotations

import argparse
import time as clock
import uuid
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from common import BASE_URL, PASSWORD, SECRET_KEY, ensure_database, learner_email, url_for
from werkzeug.security import generate_password_hash

from tracker import create_app
from tracker.calendar import tokens as calendar
from tracker.core import scheduling
from tracker.core.roadmaps import load_catalog
from tracker.models import SWEEP_NOW, Milestone, Model, Plan, User, new_secret
from tracker.schema import upgrade

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Tokyo",
    "Australia/Sydney",
)
STUDY_DAYS = ("01234", "0123456", "024", "12345")
CHUNK = 20_000


def steps(milestones: int) -> list[tuple[str, str]]:
    """Return (step id, phase id) pairs: the real Go-then-Rust roadmap, padded to length."""
    catalog = load_catalog()
    real = [
        (m.id, f"{r.id}/{p.id}")
        for r in catalog.roadmaps_for("go-rust")
        for p in r.phases
        for m in p.steps
    ]
    extra = [(f"rust/bench-extra-{i}", "rust/bench-extra") for i in range(milestones - len(real))]
    return (real + extra)[:milestones]


def phase_sizes(milestones: int) -> list[tuple[int, int]]:
    """Return (days, milestones) per phase of the Go-then-Rust roadmap, padded or cut to
    length (the first phases, the last of them cut short)."""
    catalog = load_catalog()
    sizes, left = [], milestones
    for p in (p for r in catalog.roadmaps_for("go-rust") for p in r.phases):
        if left > 0:
            sizes.append((p.days, min(len(p.steps), left)))
            left -= sizes[-1][1]
    if left > 0:
        sizes.append((30, left))
    return sizes


class PlanRows:
    """Build a learner's plan row and milestone rows: the Go-then-Rust roadmap, dated."""

    def __init__(self, milestones: int, created: datetime) -> None:
        self.pairs = steps(milestones)
        self.sizes = phase_sizes(milestones)
        self.created = created
        self.dues: dict[tuple[date, str], list[date]] = {}  # one schedule per start and days
        self.milestone_id = 0

    def build(self, uid: int, start: date, days: str, done_before: date) -> tuple[dict, list[dict]]:
        """Return learner ``uid``'s plan (id ``uid`` too) and milestones, done if due earlier."""
        if (start, days) not in self.dues:
            self.dues[start, days] = scheduling.schedule(self.sizes, start, [int(d) for d in days])
        plan = {
            "id": uid,
            "user_id": uid,
            "outcome": "go-rust",
            "recommended": "go-rust",
            "roadmaps": ["go", "rust"],
            "answers": {},
            "start_date": start,
            "study_days": days,
            "paused_on": None,
            "pauses": [],
            "archived_at": None,
            "created_at": self.created,
            "updated_at": self.created,
        }
        rows = []
        for position, ((step_id, phase_id), due) in enumerate(
            zip(self.pairs, self.dues[start, days], strict=True)
        ):
            self.milestone_id += 1
            rows.append(
                {
                    "id": self.milestone_id,
                    "user_id": uid,
                    "plan_id": uid,
                    "step_id": step_id,
                    "phase_id": phase_id,
                    "position": position,
                    "due_date": due,
                    "done_at": datetime.combine(due, time(18), UTC) if due < done_before else None,
                    "note": "",
                    "evidence_url": "",
                    "uid": str(uuid.uuid4()),
                    "sequence": 0,
                    "updated_at": self.created,
                }
            )
        return plan, rows


def bulk_insert(conn: sa.Connection, table: sa.Table, data: list[dict]) -> None:
    """Insert many rows at driver speed: COPY on PostgreSQL, executemany on SQLite.

    The values still go through each column's bind processor (JSON to text, aware datetimes
    to UTC, ...), so the rows read back exactly as rows the app wrote; only the per-row work
    of the Connection layer is skipped, which is most of the time at 900,000 rows.
    """
    columns = list(table.columns)
    # Keys a row leaves out take the column's scalar default, or NULL.
    defaults = {
        c.name: c.default.arg if c.default is not None and c.default.is_scalar else None
        for c in columns
    }
    processors = [c.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns]

    def values(row: dict) -> list:
        raw = [row.get(c.name, defaults[c.name]) for c in columns]
        return [p(v) if p else v for v, p in zip(raw, processors, strict=True)]

    cursor = conn.connection.driver_connection.cursor()
    names = ", ".join(f'"{c.name}"' for c in columns)
    if conn.dialect.name == "postgresql":
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in data:
                copy.write_row(values(row))
    else:
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
        for n in range(0, len(data), CHUNK):
            cursor.executemany(sql, [values(row) for row in data[n : n + CHUNK]])
    cursor.close()


def reset(engine: sa.Engine) -> None:
    """Drop every table and migrate from empty, as a fresh deployment would."""
    with engine.begin() as conn:
        Model.metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)


def seed(url: str, learners: int, milestones: int, today: date) -> dict[str, float]:
    ensure_database(url)
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        # A throwaway load: no fsync, and a page cache big enough for the indexes, or
        # SQLite spills pages (and syncs its journal) all through the transaction.
        @sa.event.listens_for(engine, "connect")
        def _fast_load(dbapi_connection, _record) -> None:
            for pragma in ("journal_mode=WAL", "synchronous=OFF", "cache_size=-1000000"):
                dbapi_connection.execute(f"PRAGMA {pragma}")

    reset(engine)
    now = datetime.combine(today, time(6), UTC)
    password_hash = generate_password_hash(PASSWORD)
    plan_rows = PlanRows(milestones, now)
    timings: dict[str, float] = {}

    started = clock.perf_counter()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "BASE_URL": BASE_URL})
    with app.app_context():  # every learner has a feed address, as after sign-up
        feeds = []
        for _ in range(learners):
            holder = User()
            calendar.issue_token(holder)
            feeds.append((holder.feed_token_salt, holder.feed_token_hash))
    users, plans, rows = [], [], []
    for i in range(learners):
        uid = i + 1
        users.append(
            {
                "id": uid,
                "email": learner_email(i),
                "password_hash": password_hash,
                "created_at": now,
                "email_verified_at": now,
                "timezone": ZONES[i % len(ZONES)],
                "reminder_time": time(7 + i % 3, 0),
                "due_reminders": True,
                "nudge_days": 2,
                "weekly_enabled": True,
                "weekly_weekday": 0,
                "weekly_time": time(8, 0),
                "feed_token_salt": feeds[i][0],
                "feed_token_hash": feeds[i][1],
                "feed_alarm": False,
                "calendar_changed_at": now,
                "link_secret": new_secret(),
                "next_mail_at": SWEEP_NOW,  # the first sweep looks at everyone
            }
        )
        # Learners run behind by 0-9 days: some on track, some behind.
        plan, milestones_rows = plan_rows.build(
            uid, today - timedelta(days=i % 90), STUDY_DAYS[i % len(STUDY_DAYS)],
            done_before=today - timedelta(days=i % 10),
        )
        plans.append(plan)
        rows.extend(milestones_rows)
    timings["build rows"] = clock.perf_counter() - started

    started = clock.perf_counter()
    with engine.begin() as conn:
        for table, data in (
            (User.__table__, users),
            (Plan.__table__, plans),
            (Milestone.__table__, rows),
        ):
            bulk_insert(conn, table, data)
        if engine.dialect.name == "postgresql":
            for table in ("user", "plan", "milestone"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT max(id) FROM "{table}"))'
                    )
                )
    timings["insert"] = clock.perf_counter() - started

    started = clock.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            sa.text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )
    timings["analyze"] = clock.perf_counter() - started
    engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("engine", help="sqlite, postgresql or a database URL")
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--milestones", type=int, default=90)
    parser.add_argument("--today", type=date.fromisoformat, default=datetime.now(UTC).date())
    args = parser.parse_args()
    url = url_for(args.engine)
    timings = seed(url, args.learners, args.milestones, args.today)
    total = sum(timings.values())
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    print(
        f"seeded {args.learners} learners x {args.milestones} milestones into "
        f"{sa.make_url(url).render_as_string(hide_password=True)} in {total:.1f} s ({parts})"
    )


if __name__ == "__main__":
    main()
