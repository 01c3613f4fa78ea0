"""The weekly pass for 10,000 learners on PostgreSQL with 1, 2 and 4 worker processes.

    .venv/bin/python bench/seed.py postgresql          # once: 10,000 learners x 90 milestones
    .venv/bin/python bench/sweep.py                     # workers 1, 2 and 4
    .venv/bin/python bench/sweep.py --workers 1 2 --deliver-limit 2000

At a Monday instant when every learner's weekly email (Monday 08:00 local) is due, with the
outbox emptied first, N processes run side by side, as N ``tracker worker`` hosts would:

1. sweep: ``reminders.sweep(now)`` in each process (queue the weekly, due-day and nudge
   mail; the outbox's unique dedupe key makes the processes' work add up to one copy);
2. deliver: ``outbox.deliver(now)`` in each process, into an aiosmtpd server (a process of
   its own that only counts), claims split with FOR UPDATE SKIP LOCKED.

Each phase's time runs from the first process starting it to the last one finishing (the
processes' start-up is not counted); the speed-up is against one process. Target: 2
workers >= 1.6x one. Figures, not pass/fail: not in ``make test``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import smtplib
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from common import BASE_URL, ROOT, SECRET_KEY, check_schema, url_for

HOST = "127.0.0.1"


def sink(port: int, count: Any, ready: Any) -> None:
    """Run an SMTP server that counts messages and keeps nothing."""
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname=HOST, port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def child(phase: str, url: str, now: datetime, mail_url: str, limit: int | None) -> None:
    """Run one phase in this process and print what it did, as JSON."""
    from tracker import create_app
    from tracker.database import db
    from tracker.jobs.composers import COMPOSERS
    from tracker.mail import delivery
    from tracker.reminders import sweep as reminders

    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "BASE_URL": BASE_URL, "MAIL_URL": mail_url}
    )
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))  # connect before the clock starts
        db.session.rollback()
        started, cpu = time.time(), time.process_time()
        if phase == "sweep":
            counts = reminders.sweep(now)
        else:
            counts = delivery.deliver(now, COMPOSERS, limit=limit)
        finished, cpu = time.time(), time.process_time() - cpu
    print(
        json.dumps(
            {
                "start": started,
                "end": finished,
                "cpu": cpu,
                "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # MB
                "queued": counts.queued,
                "sent": counts.sent,
                "skipped": counts.skipped,
                "failed": counts.failed,
            }
        )
    )


def monday_after(day: Any) -> datetime:
    """Return the Monday after ``day`` at 17:00 UTC: past 08:00 in every seeded zone."""
    days = 7 - day.weekday() if day.weekday() else 7
    return datetime.combine(day + timedelta(days=days), datetime.min.time(), UTC) + timedelta(
        hours=17
    )


def run_phase(
    phase: str, workers: int, url: str, now: datetime, mail_url: str, limit: int | None
) -> dict[str, float]:
    """Start ``workers`` processes for a phase; wait; return its time and totals."""
    # Each process gets the same start signal: they are all imported and connected first.
    cmd = [sys.executable, __file__, "--child", phase, url, now.isoformat(), mail_url]
    if limit is not None:
        cmd += ["--limit", str(-(-limit // workers))]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(workers)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"{phase} worker failed")
        results.append(json.loads(out.strip().splitlines()[-1]))
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    totals = {k: sum(r[k] for r in results) for k in ("cpu", "queued", "sent", "skipped", "failed")}
    return {"seconds": seconds, **totals, "rss": max(r["rss"] for r in results),
            "per_worker": [r["sent"] or r["queued"] for r in results]}


def raw_rate(port: int, messages: int = 2000) -> float:
    """Return the messages/s one plain SMTP connection gets into the sink: the ceiling."""
    body = ("Subject: raw\r\nFrom: bench@tracker.example\r\n\r\n"
            + ("x" * 76 + "\r\n") * 50).encode()  # 4 kB in lines SMTP allows
    with smtplib.SMTP(HOST, port) as smtp:
        started = time.perf_counter()
        for i in range(messages):
            smtp.sendmail("bench@tracker.example", [f"learner{i}@bench.example"], body)
        return messages / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--engine", default="postgresql", help="postgresql (default) or a URL")
    parser.add_argument(
        "--deliver-limit",
        type=int,
        default=None,
        help="send at most this many messages per run (a shorter bench)",
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("PHASE", "URL", "NOW", "MAIL_URL"), help=argparse.SUPPRESS
    )
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        phase, url, now, mail_url = args.child
        child(phase, url, datetime.fromisoformat(now), mail_url, args.limit)
        return

    url = url_for(args.engine)
    check_schema(url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        learners = conn.scalar(sa.text('SELECT count(*) FROM "user"'))
        seeded = conn.scalar(sa.text("SELECT max(created_at) FROM plan"))
    if not learners:
        raise SystemExit(f"{url}: no learners; run bench/seed.py first")
    now = monday_after(seeded.date())

    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    ctx = multiprocessing.get_context("fork")
    count, ready = ctx.Value("i", 0), ctx.Event()
    server = ctx.Process(target=sink, args=(port, count, ready), daemon=True)
    server.start()
    ready.wait(30)
    mail_url = f"smtp://{HOST}:{port}"
    raw = raw_rate(port)
    count.value = 0

    print(
        f"{engine.dialect.name}: {learners} learners, weekly pass at {now:%a %Y-%m-%d %H:%M} UTC, "
        f"load {os.getloadavg()[0]:.1f}; the raw sink rate (one plain SMTP connection) "
        f"{raw:,.0f} messages/s"
    )
    print(
        f"{'workers':>7}  {'sweep s':>8} {'CPU s':>6} {'queued':>7} {'x1':>5}   {'deliver s':>9} "
        f"{'CPU s':>6} {'sent':>6} {'msg/s':>6} {'/raw':>5} {'x1':>5}   {'total s':>7} {'x1':>5}  "
        f"{'RSS MB':>6}  per worker (queued; sent)"
    )
    base: dict[str, float] = {}
    for n in args.workers:
        with engine.begin() as conn:  # every run starts from the same state
            conn.execute(sa.text("TRUNCATE notification"))
            # ... with every learner's next mail instant passed, so the sweep looks at all.
            conn.execute(sa.text("UPDATE \"user\" SET next_mail_at = '1970-01-01T00:00:00+00:00'"))
            conn.execute(sa.text('ANALYZE "user"'))
        swept = run_phase("sweep", n, url, now, mail_url, None)
        before = count.value
        sent = run_phase("deliver", n, url, now, mail_url, args.deliver_limit)
        assert count.value - before == sent["sent"], "the SMTP server saw a different count"
        total = swept["seconds"] + sent["seconds"]
        base = base or {
            "sweep": swept["seconds"],
            "deliver": sent["seconds"] / max(sent["sent"], 1),
            "total": total,
        }
        # Deliver speed-up is per message, so a --deliver-limit run still compares.
        x_deliver = base["deliver"] / (sent["seconds"] / max(sent["sent"], 1))
        x_total = base["total"] / total if args.deliver_limit is None else float("nan")
        print(
            f"{n:>7}  {swept['seconds']:>8.1f} {swept['cpu']:>6.1f} {swept['queued']:>7}"
            f" {base['sweep'] / swept['seconds']:>5.2f}   {sent['seconds']:>9.1f}"
            f" {sent['cpu']:>6.1f}"
            f" {sent['sent']:>6} {sent['sent'] / sent['seconds']:>6.0f}"
            f" {sent['sent'] / sent['seconds'] / raw:>5.2f} {x_deliver:>5.2f}"
            f"   {total:>7.1f} {x_total:>5.2f}  {max(swept['rss'], sent['rss']):>6.0f}"
            f"  {swept['per_worker']}; {sent['per_worker']}",
            flush=True,
        )
    server.kill()
    engine.dispose()


if __name__ == "__main__":
    main()
