"""Load figures: the dashboard, the feed and the tick under gunicorn, next to a bare route.

    .venv/bin/python bench/seed.py sqlite && .venv/bin/python bench/seed.py postgresql
    .venv/bin/python bench/load.py                       # both engines, 3 rounds of 5 s per case
    .venv/bin/python bench/load.py postgresql --seconds 10 --rounds 1
    .venv/bin/python bench/load.py sqlite --cases tick    # the bare route and the tick only

Serves ``bench/load_app.py`` (the app plus ``/bench/bare``) with gunicorn, 2 workers, on
127.0.0.1, and loads it with wrk (``apt-get install wrk``) from a separate process: 16
connections, each a different learner of the seeded database (10,000 learners x 90
milestones), with a session cookie and CSRF token made the way a log-in makes them.

Cases, each round in this order: the bare route, the dashboard, a milestone page, the feed
answering 200 (the cached body) and 304 (If-None-Match), and the tick (POST .../done with
the CSRF token).
For each: req/s, p50 and p99 latency, and req/s as a fraction of the bare route in the same
round; the table shows the median over rounds. Idle and steal are the machine's CPU time
left unused and taken by the hypervisor while the case ran: on a shared VM, a case run with
much steal is slower than the code, and its ratio with it. Figures, not pass/fail: not in
``make test``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from common import BASE_URL, OUT, ROOT, SECRET_KEY, check_schema, gunicorn, url_for

HOST = "127.0.0.1"
AGENT = "tracker-bench"  # the session's log-in identifier includes the user agent
TARGETS = {"dashboard": 0.2, "tick": 0.15}  # fraction of the bare route's req/s
P99_TARGET_MS = 50.0


@dataclass
class Learner:
    """One connection's identity: a session cookie, its CSRF token, a feed, a milestone."""

    cookie: str
    csrf: str
    feed: str
    milestone: int
    etag: str = ""


def prepare(url: str, connections: int) -> list[Learner]:
    """Log ``connections`` learners in, spread over the database; return their identities."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    from tracker import create_app
    from tracker.accounts.sessions import log_in
    from tracker.calendar import tokens as calendar
    from tracker.database import db
    from tracker.models import User, utcnow
    from tracker.plans import queries as progress

    check_schema(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "BASE_URL": BASE_URL})
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    learners = []
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0
    if count < connections:
        raise SystemExit(f"{url}: {count} learners; run bench/seed.py first")
    step = count // connections
    environ = {"REMOTE_ADDR": HOST, "HTTP_USER_AGENT": AGENT}
    for k in range(connections):
        # An app context per learner: generate_csrf caches its token in ``g``.
        with app.app_context(), app.test_request_context("/", environ_base=environ):
            user = db.session.get(User, 1 + k * step)
            assert user is not None
            log_in(user, utcnow())  # a session row, as a log-in makes it
            csrf = generate_csrf()
            cookie = serializer.dumps(dict(session))
            token = calendar.feed_token(user) or calendar.issue_token(user)
            plan = progress.current_plan(user)
            assert plan is not None
            # An open one if any is left; after the first tick, wrk ticks a done one anyway.
            open_ids = [m.id for m in plan.milestones if not m.is_done]
            milestone = open_ids[-1] if open_ids else plan.milestones[-1].id
            db.session.commit()
        learners.append(Learner(f"session={cookie}", csrf, f"/calendar/{token}.ics", milestone))
    with app.app_context():
        db.engine.dispose()
    return learners


@contextmanager
def serve(url: str, workers: int) -> Iterator[int]:
    """Serve bench/load_app.py with gunicorn until the block ends; yield the port."""
    env = {
        "TRACKER_DATABASE_URL": url,
        "TRACKER_SECRET_KEY": SECRET_KEY,
        "TRACKER_BASE_URL": BASE_URL,
    }
    with gunicorn("load_app:app", env, workers, chdir=ROOT / "bench") as port:
        yield port


def call(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request(method, path, body=body, headers={"User-Agent": AGENT, **(headers or {})})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def tick_body(learner: Learner) -> str:
    return urlencode({"csrf_token": learner.csrf, "note": "bench", "evidence_url": ""})


FORM = "application/x-www-form-urlencoded"


def requests(
    case: str, learners: list[Learner]
) -> list[tuple[str, str, dict[str, str], str | None]]:
    """Return (method, path, headers, body) per connection for a case."""
    out = []
    for lr in learners:
        if case == "bare":
            out.append(("GET", "/bench/bare", {}, None))
        elif case == "signed-in":
            out.append(("GET", "/bench/signed-in", {"Cookie": lr.cookie}, None))
        elif case == "dashboard":
            out.append(("GET", "/dashboard", {"Cookie": lr.cookie}, None))
        elif case == "milestone":
            out.append(("GET", f"/milestones/{lr.milestone}", {"Cookie": lr.cookie}, None))
        elif case == "feed 200":
            out.append(("GET", lr.feed, {}, None))
        elif case == "feed 304":
            out.append(("GET", lr.feed, {"If-None-Match": lr.etag}, None))
        elif case == "tick":
            out.append(
                (
                    "POST",
                    f"/milestones/{lr.milestone}/done",
                    {"Cookie": lr.cookie, "Content-Type": FORM},
                    tick_body(lr),
                )
            )
    return out


EXPECTED = {
    "bare": 200,
    "signed-in": 200,
    "dashboard": 200,
    "milestone": 200,
    "feed 200": 200,
    "feed 304": 304,
    "tick": 302,
}
CASES = list(EXPECTED)


def refresh_etags(port: int, learners: list[Learner]) -> None:
    """Fetch each learner's feed (rebuilding it after ticks) and keep its current ETag."""
    for lr in learners:
        feed = call(port, "GET", lr.feed)
        assert feed.status == 200, feed.status
        lr.etag = feed.getheader("ETag") or ""


def check(port: int, learners: list[Learner]) -> None:
    """Send every case once per learner and check the statuses."""
    refresh_etags(port, learners)
    for case in CASES:
        for method, path, headers, body in requests(case, learners):
            status = call(port, method, path, headers, body).status
            assert status == EXPECTED[case], (case, path, status)
    refresh_etags(port, learners)  # the ticks just changed the feeds


def _lua(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(reqs: list[tuple[str, str, dict[str, str], str | None]]) -> str:
    """Return a wrk script giving each thread (one connection each) its own request."""
    rows = []
    for method, path, headers, body in reqs:
        hdrs = ", ".join(
            f"[{_lua(k)}] = {_lua(v)}" for k, v in {"User-Agent": AGENT, **headers}.items()
        )
        rows.append(
            f"  {{{_lua(method)}, {_lua(path)}, {{{hdrs}}}, {_lua(body) if body else 'nil'}}},"
        )
    return "\n".join(
        [
            "local data = {",
            *rows,
            "}",
            "local n = 0",
            "function setup(thread) n = n + 1; thread:set('id', n) end",
            "function init(args) local d = data[id]; req = wrk.format(d[1], d[2], d[3], d[4]) end",
            "function request() return req end",
        ]
    )


def wrk(
    port: int, case: str, learners: list[Learner], seconds: float, tmp: Path
) -> dict[str, float]:
    """Run wrk with one thread per connection; return req/s, p50, p99 and errors."""
    script = tmp / f"{case.replace(' ', '_')}.lua"
    script.write_text(wrk_script(requests(case, learners)))
    n = len(learners)
    before = _cpu_times()
    out = subprocess.run(
        [
            "wrk",
            f"-t{n}",
            f"-c{n}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            f"http://{HOST}:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = [b - a for a, b in zip(before, _cpu_times(), strict=True)]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)
    busy = {
        # /proc/stat: user nice system idle iowait irq softirq steal ...
        "idle": 100 * (cpu[3] + cpu[4]) / sum(cpu) if cpu else float("nan"),
        "steal": 100 * cpu[7] / sum(cpu) if cpu else float("nan"),
    }
    return {"rps": rps, "p50": _ms(out, "50%"), "p99": _ms(out, "99%"), "errors": errors, **busy}


def _cpu_times() -> list[int]:
    """Return the machine's CPU time by state, from /proc/stat (empty where there is none)."""
    try:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:9]]
    except OSError:
        return []


def _ms(out: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not match:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def run(engine: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    url = url_for(engine)
    learners = prepare(url, args.connections)
    cases = ["bare", *(c for c in CASES if c != "bare" and c in (args.cases or CASES))]
    rounds: list[dict[str, dict[str, float]]] = []
    with serve(url, args.workers) as port, tempfile.TemporaryDirectory() as tmp:
        check(port, learners)
        for _ in range(args.rounds):
            row = {case: wrk(port, case, learners, args.seconds, Path(tmp)) for case in cases}
            for case in cases:
                row[case]["ratio"] = row[case]["rps"] / row["bare"]["rps"]
            rounds.append(row)
            # wrk stops without waiting for the requests in flight: let the last ticks land,
            # then take the feeds' new ETags for the next round.
            time.sleep(1)
            refresh_etags(port, learners)
    return {
        case: {k: statistics.median(r[case][k] for r in rounds) for k in rounds[0][case]}
        for case in cases
    }


def report(engine: str, result: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    lines = [
        f"{engine}: gunicorn {args.workers} workers, wrk {args.connections} connections, "
        f"{args.seconds:g} s per case, median of {args.rounds} round(s), "
        f"load {os.getloadavg()[0]:.1f}",
        f"{'case':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x bare':>9}{'errors':>8}"
        f"{'idle %':>8}{'steal %':>8}  target",
    ]
    for case, r in result.items():
        target = TARGETS.get(case.split()[0])
        verdict = []
        if target:
            verdict.append(f">= {target} {'ok' if r['ratio'] >= target else 'MISSED'}")
        if case != "bare":
            verdict.append(
                f"p99 < {P99_TARGET_MS:g} {'ok' if r['p99'] < P99_TARGET_MS else 'MISSED'}"
            )
        lines.append(
            f"{case:<12}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['ratio']:>9.2f}"
            f"{r['errors']:>8.0f}{r['idle']:>8.0f}{r['steal']:>8.0f}  {', '.join(verdict)}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "engines",
        nargs="*",
        default=["sqlite", "postgresql"],
        help="sqlite, postgresql or database URLs (default: both)",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each case")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--cases", nargs="+", choices=CASES, help="only these cases (the bare route always runs)"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    OUT.mkdir(parents=True, exist_ok=True)
    for engine in args.engines:
        result = run(engine, args)
        print(report(engine, result, args), flush=True)
        (OUT / f"load-{sa.make_url(url_for(engine)).get_backend_name()}.json").write_text(
            json.dumps(result, indent=2)
        )


if __name__ == "__main__":
    main()
