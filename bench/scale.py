"""Ten times the learners and on to a million: the figures at 10,000 and 100,000 side by
side on SQLite and PostgreSQL, and at 1,000,000 on PostgreSQL, in one table
(``make bench-scale``).

    .venv/bin/python bench/scale.py                      # seeds what is missing, then measures
    .venv/bin/python bench/scale.py --sizes 10000        # one size only (on both engines)
    .venv/bin/python bench/scale.py --skip-weekly        # without the weekly run

Each size and engine has a database of its own, seeded once by ``bench/seed.py`` and reused
while its learner count is right: ``bench/out/scale-N.sqlite`` and the PostgreSQL database
``tracker_scale_N``. Learners have 90 milestones each, except at 1,000,000 (PostgreSQL
only), where they have 9: the sweep's cost is in learners, not milestones, and 90 would make
a 40 GB seed of most of an hour on this VM.

For each one:

- **pages** (``bench/load.py``: gunicorn, 2 workers, wrk, 16 connections, each a learner):
  req/s, p50, p99 and the ratio to the bare route measured in the same run, for the
  dashboard, the tick and the feed answering 200 and 304;
- **the sweep** in-process: the outbox emptied and every learner's ``next_mail_at`` reset,
  then a first pass an hour before the peak (the backlog), a quiet minute (07:31 UTC on a
  Monday: no learner's mail instant), the peak minute (08:00 UTC that Monday: due-day
  reminders and the weekly email of the learners in UTC and London) and four quiet minutes
  after it (08:01 to 08:04), with no ANALYZE or VACUUM between them. Seconds, and for the
  peak the mail queued and the time per message queued. The quiet figure is the median of
  08:02 to 08:04; the first quiet minute after each busy pass is shown apart. On
  PostgreSQL, ``VACUUM "user"`` then runs (this server has no autovacuum) and the median
  of three more quiet minutes is shown too;
- **the database's size**, in all and per learner.

Then, on PostgreSQL at 100,000, ``bench/sweep.py`` runs the weekly pass with 1, 2
and 4 worker processes (``--deliver-limit`` messages each run), with messages/s against the
raw rate of the sink and the workers' peak RSS.

Figures, not pass/fail; the machine is shared and noisy, so compare the ratios in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from common import OUT, PG_SERVER, ROOT

BENCH = ROOT / "bench"
PAGE_CASES = ("dashboard", "tick", "feed 200", "feed 304")
MILLION = 1_000_000  # learners, on PostgreSQL only, with few milestones each
MILESTONES = {MILLION: 9}  # per learner, by size; 90 otherwise
WEEKLY_SIZE = 100_000


def database(engine: str, size: int) -> str:
    """Return the URL of the scale database for an engine and a learner count."""
    if engine == "sqlite":
        return f"sqlite:///{OUT / f'scale-{size}.sqlite'}"
    return f"{PG_SERVER}/tracker_scale_{size}"


def learners_in(url: str) -> int:
    """Return how many learners a database holds (0 when it is missing or not seeded)."""
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            return int(conn.scalar(sa.text('SELECT count(*) FROM "user"')) or 0)
    except sa.exc.SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def ensure_seeded(url: str, size: int) -> None:
    """Seed the database unless it already holds ``size`` learners."""
    if learners_in(url) == size:
        return
    print(f"seeding {url} with {size:,} learners ...", flush=True)
    subprocess.run([sys.executable, str(BENCH / "seed.py"), url, "--learners", str(size),
                    "--milestones", str(MILESTONES.get(size, 90))], cwd=BENCH, check=True)


def size_on_disk(url: str) -> int:
    """Return the database's size in bytes."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sum(p.stat().st_size for p in Path(parsed.database or "").parent.glob(
            Path(parsed.database or "").name + "*"))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        size = int(conn.scalar(sa.text("SELECT pg_database_size(current_database())")))
    engine.dispose()
    return size


def pages(url: str, seconds: float) -> dict[str, dict[str, float]]:
    """Run bench/load.py's cases against the database; return its figures per case."""
    from load import run

    args = argparse.Namespace(connections=16, workers=2, rounds=1, seconds=seconds,
                              cases=list(PAGE_CASES))
    return run(url, args)


def peak_minute() -> datetime:
    """Return the peak the sweep is measured at: 08:00 UTC on the Monday after the seed."""
    from tracker.database import db

    seeded = db.session.scalar(sa.text("SELECT max(created_at) FROM plan"))
    day = (seeded if isinstance(seeded, datetime) else datetime.fromisoformat(seeded)).date()
    monday = day + timedelta(days=7 - day.weekday())
    return datetime.fromisoformat(f"{monday.isoformat()}T08:00:00+00:00")


def sweep_child(url: str) -> None:
    """Time the sweep's backlog, quiet and peak passes on this database; print JSON."""
    from tracker import create_app
    from tracker.database import db
    from tracker.models import SWEEP_NOW, Notification, User
    from tracker.reminders.sweep import sweep

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "MAIL_URL": "null://"})
    with app.app_context():
        peak = peak_minute()
        # Through the models: the column's type writes the instant as the sweep compares it.
        db.session.execute(sa.delete(Notification))
        db.session.execute(sa.update(User).values(next_mail_at=SWEEP_NOW))
        db.session.commit()
        figures = {}

        def timed(at: datetime) -> dict[str, float]:
            started = time.perf_counter()
            counts = sweep(at)
            return {"seconds": time.perf_counter() - started, "queued": counts.queued}

        def quiet_median(minutes: tuple[int, ...]) -> dict[str, float]:
            passes = [timed(peak + timedelta(minutes=m)) for m in minutes]
            return {"seconds": statistics.median(p["seconds"] for p in passes),
                    "queued": sum(p["queued"] for p in passes)}

        # No ANALYZE or VACUUM between the passes (the local server runs no autovacuum):
        # the sweep must not depend on the planner's figures being fresh.
        for name, at in (("backlog", peak - timedelta(hours=1)),
                         ("after backlog", peak - timedelta(minutes=29)),
                         ("peak", peak),
                         ("after peak", peak + timedelta(minutes=1))):
            figures[name] = timed(at)
        # The first quiet minute after a busy pass steps once over the index entries that
        # pass replaced (PostgreSQL then marks them dead), so it is shown apart; the quiet
        # figure is the median of the next three minutes.
        figures["quiet"] = quiet_median((2, 3, 4))
        if db.engine.dialect.name == "postgresql":
            # This server runs no autovacuum: the index entries the peak replaced stay on
            # their pages, marked dead. Vacuum as autovacuum would, then three more minutes.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                started = time.perf_counter()
                conn.execute(sa.text('VACUUM "user"'))
                figures["vacuum"] = {"seconds": time.perf_counter() - started, "queued": 0}
            figures["vacuumed"] = quiet_median((5, 6, 7))
    print(json.dumps(figures))


def sweeps(url: str) -> dict[str, dict[str, float]]:
    """Run sweep_child in a fresh process (its own imports and connections)."""
    out = subprocess.run([sys.executable, __file__, "--sweep-child", url], cwd=BENCH,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def table(rows: list[dict[str, object]]) -> str:
    """Lay the rows out as one Markdown table, a column per engine and size."""
    header = [f"{r['engine']} {r['size']:,}" + (f" ({MILESTONES[r['size']]} milestones each)"
              if r["size"] in MILESTONES else "") for r in rows]
    lines = ["| figure | " + " | ".join(header) + " |",
             "|---|" + "---|" * len(rows)]

    def line(name: str, cell: object) -> None:
        lines.append(f"| {name} | " + " | ".join(cell(r) for r in rows) + " |")  # type: ignore[operator]

    line("bare route req/s", lambda r: f"{r['pages']['bare']['rps']:,.0f}")
    for case in PAGE_CASES:
        line(f"{case}: req/s (x bare)",
             lambda r, c=case: f"{r['pages'][c]['rps']:,.0f} ({r['pages'][c]['ratio']:.2f})")
        line(f"{case}: p50 / p99 ms",
             lambda r, c=case: f"{r['pages'][c]['p50']:.1f} / {r['pages'][c]['p99']:.1f}")
    line("sweep, backlog pass: s (queued)",
         lambda r: f"{r['sweep']['backlog']['seconds']:.2f} ({r['sweep']['backlog']['queued']:,})")
    line("sweep, quiet minute: s", lambda r: f"{r['sweep']['quiet']['seconds']:.3f}")
    line('quiet minute once "user" is vacuumed: s (VACUUM s)', lambda r: (
        f"{r['sweep']['vacuumed']['seconds']:.3f} ({r['sweep']['vacuum']['seconds']:.2f})"
        if "vacuumed" in r["sweep"] else "n/a"))
    line("first quiet minute after the backlog / the peak: s", lambda r: (
        f"{r['sweep']['after backlog']['seconds']:.3f}"
        f" / {r['sweep']['after peak']['seconds']:.3f}"))
    line("sweep, peak minute: s (queued)",
         lambda r: f"{r['sweep']['peak']['seconds']:.2f} ({r['sweep']['peak']['queued']:,})")
    line("peak: ms per message queued", lambda r: (
        f"{1000 * r['sweep']['peak']['seconds'] / max(r['sweep']['peak']['queued'], 1):.2f}"))
    line("database size: MB", lambda r: f"{r['bytes'] / 1e6:,.0f}")
    line("bytes per learner", lambda r: f"{r['bytes'] / r['size']:,.0f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--skip-million", action="store_true",
                        help=f"without the {MILLION:,} learners on PostgreSQL")
    parser.add_argument("--seconds", type=float, default=3.0, help="wrk seconds per case")
    parser.add_argument("--deliver-limit", type=int, default=2000)
    parser.add_argument("--skip-weekly", action="store_true")
    parser.add_argument("--sweeps-only", action="store_true",
                        help="measure the sweep again on the databases of bench/out/scale.json")
    parser.add_argument("--sweep-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_child:
        sweep_child(args.sweep_child)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"{datetime.now():%Y-%m-%d %H:%M}", flush=True)
    if args.sweeps_only:
        rows = json.loads((OUT / "scale.json").read_text())
        for row in rows:
            print(f"sweeping {row['engine']} at {row['size']:,} learners ...", flush=True)
            row["sweep"] = sweeps(database(row["engine"], row["size"]))
            (OUT / "scale.json").write_text(json.dumps(rows, indent=2, default=str))
        print(table(rows), flush=True)
        return
    runs = [(engine, size) for engine in args.engines for size in args.sizes]
    if "postgresql" in args.engines and not args.skip_million and MILLION not in args.sizes:
        runs.append(("postgresql", MILLION))
    rows: list[dict[str, object]] = []
    for engine, size in runs:
        url = database(engine, size)
        ensure_seeded(url, size)
        print(f"measuring {engine} at {size:,} learners ...", flush=True)
        row: dict[str, object] = {"engine": engine, "size": size}
        row["sweep"] = sweeps(url)  # before the ticks of the page run change the plans
        row["pages"] = pages(url, args.seconds)
        row["bytes"] = size_on_disk(url)
        rows.append(row)
        (OUT / "scale.json").write_text(json.dumps(rows, indent=2, default=str))
    print()
    print(table(rows), flush=True)
    if not args.skip_weekly and "postgresql" in args.engines:
        size = WEEKLY_SIZE if WEEKLY_SIZE in args.sizes else max(args.sizes)
        url = database("postgresql", size)
        print(f"\nweekly run on PostgreSQL, {size:,} learners, "
              f"{args.deliver_limit:,} messages sent a run:", flush=True)
        subprocess.run([sys.executable, str(BENCH / "sweep.py"), "--engine", url,
                        "--deliver-limit", str(args.deliver_limit)], cwd=BENCH, check=True)


if __name__ == "__main__":
    main()
