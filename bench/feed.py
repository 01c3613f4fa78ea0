"""Benchmark the calendar feed under gunicorn against a bare Flask route with the same bytes.

    .venv/bin/python bench/feed.py                     # 3 rounds of 5 s per case, 8 connections
    .venv/bin/python bench/feed.py --seconds 10 --rounds 1 --tool wrk

Seeds a temporary SQLite database with one learner whose plan has 90 milestones (the real
Go-then-Rust roadmap, 65 milestones, padded with 25 extra rows), starts the app and
``bench/bare_app.py`` under gunicorn on 127.0.0.1, and measures requests per second for:

- bare: a Flask route returning the feed's bytes (the baseline),
- full GET: the feed answering 200 with the body (nothing changed since the last build),
- 304: the feed answering a conditional GET (If-None-Match with the current ETag).

Each round measures the three back to back and the table shows the median round, so the
ratios compare like with like on a busy machine. The load generator is ``wrk`` when it is
installed (``--tool auto``), else Python: worker processes with threads and http.client.
Not part of ``make test``: it prints figures, it does not pass or fail.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/feed.py` from anywhere
sys.path.insert(0, str(ROOT / "bench"))

from common import gunicorn  # noqa: E402

HOST = "127.0.0.1"
SECRET = "bench-secret-key"
BASE_URL = "https://tracker.example"
MILESTONES = 90


def seed(db_url: str) -> str:
    """Create the schema and one learner with a 90-milestone plan; return the feed path."""
    import sqlalchemy as sa

    from tracker import create_app
    from tracker.calendar import tokens as calendar
    from tracker.catalog import get_catalog
    from tracker.database import db
    from tracker.models import Milestone, User, utcnow
    from tracker.plans import changes as progress
    from tracker.schema import upgrade

    engine = sa.create_engine(db_url)
    upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": SECRET, "BASE_URL": BASE_URL})
    with app.app_context():
        user = User(email="learner@bench.example", password_hash="!")  # no login needed
        db.session.add(user)
        db.session.flush()
        now = utcnow()
        plan = progress.create_plan(user, get_catalog(), outcome="go-rust", recommended="go-rust",
                                    answers={}, start=date.today(), study_days=(0, 1, 2, 3, 4),
                                    now=now)
        last = plan.milestones[-1].due_date
        for i in range(len(plan.milestones), MILESTONES):
            plan.milestones.append(Milestone(
                step_id=f"rust/bench-extra-{i}", phase_id="rust/bench-extra", position=i,
                due_date=last + timedelta(days=i), updated_at=now))
        db.session.commit()
        token = calendar.feed_token(user)
        assert token is not None
        db.engine.dispose()
    return f"/calendar/{token}.ics"


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


# -- the Python load generator ----------------------------------------------------------

def _thread_load(port: int, path: str, headers: dict[str, str], status: int, until: float,
                 out: list[tuple[int, list[float], int]]) -> None:
    latencies: list[float] = []
    errors = 0
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    while (start := time.perf_counter()) < until:
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.will_close:  # gunicorn's sync workers close after each response
                conn.close()
        except (OSError, http.client.HTTPException):
            conn.close()
            errors += 1
            continue
        if response.status != status:
            errors += 1
        latencies.append(time.perf_counter() - start)
    conn.close()
    out.append((len(latencies), latencies, errors))


def _process_load(args: tuple[int, str, dict[str, str], int, float, int],
                  ) -> tuple[list[float], int]:
    port, path, headers, status, until, threads = args
    out: list[tuple[int, list[float], int]] = []
    pool = [threading.Thread(target=_thread_load, args=(port, path, headers, status, until, out))
            for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return [x for _, lat, _ in out for x in lat], sum(e for _, _, e in out)


def python_load(port: int, path: str, headers: dict[str, str], status: int, seconds: float,
                connections: int, processes: int) -> dict[str, float]:
    """Hammer a URL for ``seconds`` with ``connections`` clients; return req/s and latencies."""
    processes = max(1, min(processes, connections))
    per = [connections // processes + (1 if i < connections % processes else 0)
           for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        until = time.perf_counter() + 0.3 + seconds  # perf_counter is system-wide on Linux
        start = until - seconds
        results = pool.map(_process_load, [(port, path, headers, status, until, n) for n in per])
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    elapsed = max(until - start, 1e-9)
    return {"rps": len(latencies) / elapsed, "p50": _pct(latencies, 50), "p99": _pct(latencies, 99),
            "errors": errors}


def _pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))] * 1000


# -- wrk ---------------------------------------------------------------------------------

def wrk_load(port: int, path: str, headers: dict[str, str], seconds: float,
             connections: int, threads: int) -> dict[str, float]:
    """Run wrk once and read req/s and the 50th and 99th latency percentiles."""
    cmd = ["wrk", f"-t{max(1, min(threads, connections))}", f"-c{connections}",
           f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, f"http://{HOST}:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": _wrk_ms(out, "50%"), "p99": _wrk_ms(out, "99%"),
            "errors": float(errors.group(1)) if errors else 0.0}


def _wrk_ms(out: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not match:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


# -- the run -----------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each case")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three cases")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--processes", type=int, default=2,
                        help="load-generator processes (python tool), or wrk threads")
    parser.add_argument("--tool", choices=["auto", "python", "wrk"], default="auto")
    args = parser.parse_args()
    use_wrk = args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk"))
    tool = "wrk" if use_wrk else "python"

    with tempfile.TemporaryDirectory(prefix="bench-feed-") as tmp:
        db_url = f"sqlite:///{tmp}/feed.sqlite"
        path = seed(db_url)
        env = {"TRACKER_DATABASE_URL": db_url, "TRACKER_SECRET_KEY": SECRET,
               "TRACKER_BASE_URL": BASE_URL}
        with gunicorn("app:app", env, args.workers) as feed_port:
            first = fetch(feed_port, path)  # builds and caches the feed
            assert first.status == 200, first.status
            body: bytes = first.body  # type: ignore[attr-defined]
            etag = first.getheader("ETag") or ""
            again = fetch(feed_port, path, {"If-None-Match": etag})
            assert again.status == 304 and again.getheader("ETag") == etag, again.status
            (Path(tmp) / "feed.ics").write_bytes(body)
            bare_env = {"BENCH_BODY": str(Path(tmp) / "feed.ics")}
            bare_server = gunicorn("bare_app:app", bare_env, args.workers, chdir=ROOT / "bench")
            with bare_server as bare_port:
                bare = fetch(bare_port, "/bare.ics")
                assert bare.body == body  # type: ignore[attr-defined]
                cases = [("bare route", bare_port, "/bare.ics", {}, 200),
                         ("feed, full GET", feed_port, path, {}, 200),
                         ("feed, 304", feed_port, path, {"If-None-Match": etag}, 304)]
                rounds: list[dict[str, dict[str, float]]] = []
                for _ in range(args.rounds):
                    row = {}
                    for name, port, url, headers, status in cases:
                        if tool == "wrk":
                            row[name] = wrk_load(port, url, headers, args.seconds,
                                                 args.connections, args.processes)
                        else:
                            row[name] = python_load(port, url, headers, status, args.seconds,
                                                    args.connections, args.processes)
                    rounds.append(row)

    print(f"calendar feed benchmark: {MILESTONES} events, {len(body)} bytes, gunicorn "
          f"{args.workers} sync workers, {tool} load, {args.connections} connections, "
          f"{args.seconds:g} s per case, {args.rounds} round(s), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'case':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs bare':>8}")
    for name, *_ in cases:
        rps = statistics.median(r[name]["rps"] for r in rounds)
        ratio = statistics.median(r[name]["rps"] / r["bare route"]["rps"] for r in rounds)
        p50 = statistics.median(r[name]["p50"] for r in rounds)
        p99 = statistics.median(r[name]["p99"] for r in rounds)
        errors = sum(r[name]["errors"] for r in rounds)
        print(f"{name:<16} {rps:>9.0f} {p50:>8.2f} {p99:>8.2f} {errors:>7.0f} {ratio:>8.2f}")
    if args.rounds > 1:
        print("per round, vs bare: " + "; ".join(
            ", ".join(f"{r[name]['rps'] / r['bare route']['rps']:.2f}" for name, *_ in cases[1:])
            for r in rounds))


if __name__ == "__main__":
    main()
