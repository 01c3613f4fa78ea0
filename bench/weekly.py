"""Benchmark the weekly progress email: 10,000 learners, 90 milestones each, into an SMTP sink.

    .venv/bin/python bench/weekly.py                  # 10,000 learners x 90 milestones
    .venv/bin/python bench/weekly.py --learners 1000  # a quick run
    .venv/bin/python bench/weekly.py --profile        # also print the top of a cProfile
    .venv/bin/python bench/weekly.py --reviews        # the run with reviews against without

Seeds a temporary SQLite file with Core bulk inserts (in a child process, so seeding does
not count towards peak memory), starts an aiosmtpd sink that only counts (in a second child
process, so it competes for no GIL), then measures in this process:

1. the weekly run: one ``tracker send-due`` pass at Monday 23:00 UTC, when every learner's
   Monday 08:00 weekly is due: the sweep (numbers for every plan, outbox rows) and delivery
   (compose text + HTML, send over one connection, one commit per message);
2. the baseline: 10,000 pre-built messages of the weekly email's size sent into the same
   sink over one reused connection (``smtplib.sendmail`` of ready bytes).

Reports seconds, messages/s, peak RSS (``ru_maxrss`` of this process) and the ratio of the
weekly rate to the baseline rate. Targets: ratio >= 0.5, peak RSS < 200 MB.

``--reviews`` measures the weekly run twice, each in a fresh process on its own copy of the
seeded file: without reviews (turned off, none kept: the run before spaced review), and with
them (on; every milestone done has its review, and every third was answered twice, which the
streak in the email reads), and prints both with their ratio.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import socket
import subprocess
import sys
import tempfile
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Europe/London",
)
NOW = datetime(2027, 3, 1, 23, 0, tzinfo=UTC)  # a Monday: every Monday-08:00 weekly is due
CHUNK = 20_000


def seed(path: Path, learners: int, milestones: int) -> None:
    """Create the schema and fill it: learners with one plan each, behind by 0-9 days."""
    import sqlalchemy as sa
    from seed import STUDY_DAYS, PlanRows  # the plans of bench/seed.py

    from tracker.models import Milestone, Plan, User
    from tracker.schema import upgrade

    engine = sa.create_engine(f"sqlite:///{path}")
    upgrade(engine)
    today = NOW.date()
    created = NOW - timedelta(days=120)
    plan_rows = PlanRows(milestones, created)
    users, plans, rows = [], [], []

    def flush(conn: sa.Connection) -> None:
        for table, data in (
            (User.__table__, users),
            (Plan.__table__, plans),
            (Milestone.__table__, rows),
        ):
            for n in range(0, len(data), CHUNK):
                conn.execute(sa.insert(table), data[n : n + CHUNK])
            data.clear()

    with engine.begin() as conn:
        for i in range(learners):
            uid = i + 1
            users.append(
                {
                    "id": uid,
                    "email": f"learner{uid:05d}@bench.example",
                    "password_hash": "x",
                    "created_at": created,
                    "email_verified_at": created,
                    "timezone": ZONES[i % len(ZONES)],
                    "reminder_time": time(8),
                    "due_reminders": False,
                    "nudge_days": 0,
                    "weekly_enabled": True,
                    "weekly_weekday": 0,
                    "weekly_time": time(8),
                    "feed_token_hash": None,
                    "feed_alarm": False,
                    "calendar_changed_at": created,
                }
            )
            plan, milestone_rows = plan_rows.build(
                uid, today - timedelta(days=7 + i % 60), STUDY_DAYS[i % len(STUDY_DAYS)],
                done_before=today - timedelta(days=i % 10),  # some on track, some behind
            )
            plans.append(plan)
            rows.extend(milestone_rows)
            if len(rows) >= 100_000:
                flush(conn)
        flush(conn)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


class CountingSink:
    """An SMTP handler that counts messages and bytes and keeps nothing."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages += 1
        self.bytes += len(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


def add_reviews(path: Path) -> int:
    """Give every milestone done a review, and every third two answers; return the reviews."""
    import uuid

    import sqlalchemy as sa

    from tracker.core.review import first_review
    from tracker.models import Milestone, Plan, Review, ReviewAnswer

    engine = sa.create_engine(f"sqlite:///{path}")
    cards = {}  # one card per day done: the same for every milestone done that day
    reviews, answers = [], []
    with engine.begin() as conn:
        done = conn.execute(sa.select(Milestone.id, Plan.user_id, Milestone.done_at)
                            .join(Plan).where(Milestone.done_at.is_not(None))).all()
        for n, (m_id, user_id, done_at) in enumerate(done):
            day = done_at.date()
            if day not in cards:
                cards[day] = first_review(done_at, day)
            card, due_on = cards[day]
            reviews.append({"user_id": user_id, "milestone_id": m_id, "due_on": due_on,
                            "card": card, "uid": str(uuid.uuid4()), "sequence": 0,
                            "updated_at": done_at})
            if n % 3 == 0:
                answers += [{"user_id": user_id, "milestone_id": m_id, "rating": 3,
                             "answered_at": done_at + timedelta(days=d)} for d in (2, 13)]
        for table, data in ((Review.__table__, reviews), (ReviewAnswer.__table__, answers)):
            for n in range(0, len(data), CHUNK):
                conn.execute(sa.insert(table), data[n : n + CHUNK])
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return len(reviews)


def run_sink() -> None:
    """Serve SMTP on a free port; print it; on stdin EOF print the counts and exit."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:  # a free port (aiosmtpd 1.4 wants to know it up front)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = CountingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print(controller.port, flush=True)
    sys.stdin.read()
    controller.stop()
    print(handler.messages, handler.bytes, flush=True)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--milestones", type=int, default=90)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reviews", action="store_true")
    parser.add_argument("--seed", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("PATH", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        return run_sink()
    if args.seed:
        return seed(Path(args.seed), args.learners, args.milestones)
    if args.measure:
        report = measure(Path(args.measure[0]), int(args.measure[1]), args.learners, False)
        return print(json.dumps(report), flush=True)
    if args.reviews:
        return compare_reviews(args.learners, args.milestones)

    with tempfile.TemporaryDirectory(prefix="bench-weekly-") as tmp:
        db_path = Path(tmp) / "weekly.sqlite"
        started = clock.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--seed",
                str(db_path),
                "--learners",
                str(args.learners),
                "--milestones",
                str(args.milestones),
            ],
            check=True,
        )
        print(
            f"seeded {args.learners:,} learners x {args.milestones} milestones "
            f"in {clock.perf_counter() - started:.1f} s"
        )
        sink = subprocess.Popen(
            [sys.executable, __file__, "--sink"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert sink.stdout is not None and sink.stdin is not None
        port = int(sink.stdout.readline())
        try:
            report = measure(db_path, port, args.learners, args.profile)
        finally:
            sink.stdin.close()
            received, received_bytes = map(int, sink.stdout.read().split())
            sink.wait()
    weekly, baseline = report["weekly_rate"], report["baseline_rate"]
    print(f"sink received {received:,} messages, {received_bytes / 1e6:.1f} MB")
    print(
        f"weekly run:  {report['total']:.2f} s total (sweep {report['sweep']:.2f} s, "
        f"deliver {report['deliver']:.2f} s), {weekly:,.0f} messages/s, "
        f"{report['size']:,} bytes/message"
    )
    print(
        f"             CPU time in this process: sweep {report['sweep_cpu']:.2f} s, "
        f"deliver {report['deliver_cpu']:.2f} s"
    )
    print(
        f"baseline:    {report['baseline']:.2f} s for {args.learners:,} pre-built messages, "
        f"{baseline:,.0f} messages/s"
    )
    print(
        f"ratio:       {weekly / baseline:.2f} of the baseline rate (target >= 0.5); "
        f"delivery alone {report['deliver_rate'] / baseline:.2f}"
    )
    print(
        f"peak RSS:    {report['rss']:.0f} MB after the weekly run (target < 200 MB); "
        f"{report['rss_start']:.0f} MB before it"
    )
    print(
        f"machine:     {os.cpu_count()} CPUs, load average {report['load']:.1f} after the run "
        "(CPU-bound work suffers more from other load than the latency-bound baseline)"
    )


def compare_reviews(learners: int, milestones: int) -> None:
    """Measure the weekly run without and with reviews, each in its own process."""
    import shutil

    import sqlalchemy as sa

    with tempfile.TemporaryDirectory(prefix="bench-weekly-") as tmp:
        without, with_ = Path(tmp) / "without.sqlite", Path(tmp) / "with.sqlite"
        subprocess.run([sys.executable, __file__, "--seed", str(without), "--learners",
                        str(learners), "--milestones", str(milestones)], check=True)
        shutil.copy(without, with_)
        engine = sa.create_engine(f"sqlite:///{without}")
        with engine.begin() as conn:
            conn.exec_driver_sql('UPDATE "user" SET reviews_enabled = 0')
        engine.dispose()
        count = add_reviews(with_)
        print(f"seeded {learners:,} learners x {milestones} milestones twice; the second with "
              f"{count:,} reviews and {count // 3 * 2:,} answers")
        reports = {}
        for name, path in (("without reviews", without), ("with reviews", with_)):
            sink = subprocess.Popen([sys.executable, __file__, "--sink"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
            assert sink.stdout is not None and sink.stdin is not None
            port = sink.stdout.readline().strip()
            try:
                out = subprocess.run([sys.executable, __file__, "--measure", str(path), port,
                                      "--learners", str(learners)],
                                     check=True, capture_output=True, text=True).stdout
            finally:
                sink.stdin.close()
                sink.stdout.read()
                sink.wait()
            reports[name] = json.loads(out.strip().splitlines()[-1])
    for name, r in reports.items():
        print(f"{name:16} {r['total']:6.2f} s (sweep {r['sweep']:.2f} s, deliver "
              f"{r['deliver']:.2f} s), {r['weekly_rate']:,.0f} messages/s, "
              f"{r['weekly_rate'] / r['baseline_rate']:.2f} of the raw sink rate, "
              f"peak RSS {r['rss']:.0f} MB")
    a, b = reports["without reviews"], reports["with reviews"]
    print(f"with/without:    run time {b['total'] / a['total']:.2f}, sweep "
          f"{b['sweep'] / a['sweep']:.2f}, sweep CPU {b['sweep_cpu'] / a['sweep_cpu']:.2f}, "
          f"peak RSS {b['rss'] / a['rss']:.2f}")


def measure(db_path: Path, port: int, learners: int, profile: bool) -> dict[str, float]:
    from sqlalchemy import select

    from tracker import create_app
    from tracker.database import db
    from tracker.jobs.composers import COMPOSERS
    from tracker.mail import delivery, transport
    from tracker.models import Notification, User
    from tracker.reminders import sweep as reminders

    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{db_path}",
            "SECRET_KEY": "bench",
            "BASE_URL": "https://tracker.example",
            "MAIL_URL": f"smtp://127.0.0.1:{port}",
        }
    )
    rss_start = rss_mb()
    profiler = cProfile.Profile() if profile else None
    with app.app_context():
        if profiler:
            profiler.enable()
        t0, c0 = clock.perf_counter(), clock.process_time()
        queued = reminders.sweep(NOW)
        t1, c1 = clock.perf_counter(), clock.process_time()
        sent = delivery.deliver(NOW, COMPOSERS)
        t2, c2 = clock.perf_counter(), clock.process_time()
        if profiler:
            profiler.disable()
        rss = rss_mb()
        assert queued.queued == learners, queued
        assert sent.sent == learners, sent
        # The baseline: messages of the same size, built before the clock starts.
        sample = db.session.scalar(select(Notification).limit(1))
        assert sample is not None
        message = COMPOSERS[sample.kind](sample, db.session.get(User, sample.user_id))
        assert message is not None
        data = message.as_bytes()
        sender = app.config["MAIL_FROM"]
        recipients = [f"learner{i:05d}@bench.example" for i in range(1, learners + 1)]
        t3 = clock.perf_counter()
        with transport.connection() as outgoing:
            outgoing.send(message.as_message())  # opens the connection
            smtp = outgoing.smtp  # type: ignore[attr-defined]
            for to in recipients[1:]:
                smtp.sendmail(sender, [to], data)
        t4 = clock.perf_counter()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
    return {
        "sweep_cpu": c1 - c0,
        "deliver_cpu": c2 - c1,
        "sweep": t1 - t0,
        "deliver": t2 - t1,
        "total": t2 - t0,
        "weekly_rate": learners / (t2 - t0),
        "deliver_rate": learners / (t2 - t1),
        "load": os.getloadavg()[0],
        "baseline": t4 - t3,
        "baseline_rate": learners / (t4 - t3),
        "size": len(data),
        "rss": rss,
        "rss_start": rss_start,
    }


if __name__ == "__main__":
    main()
