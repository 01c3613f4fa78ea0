"""Where a request's time goes: CPU per request in-process, SQL statements and SQL time.

    .venv/bin/python bench/cost.py sqlite             # after bench/seed.py
    .venv/bin/python bench/cost.py postgresql --requests 300 --profile dashboard

Calls the WSGI app directly (no server, no network) for each case of bench/load.py, as one
learner of the seeded database, and reports per request: CPU milliseconds of this process
(``time.process_time``, so a busy machine inflates it far less than wall time), statements,
the wall time spent inside the database driver, and on PostgreSQL the CPU its server
processes used for them (read from /proc, so only for a server on this machine).
``--profile CASE`` prints the top of a cProfile for one case (SORT=cumulative and TOP=N in
the environment change the listing).
The ratio "x bare" here is CPU cost, the inverse of what bench/load.py measures as
throughput: it tells what a case can reach before the server is the limit.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
from typing import Any

import sqlalchemy as sa
from common import BASE_URL, SECRET_KEY, add_reference_routes, url_for
from load import AGENT, CASES, EXPECTED, FORM, HOST, Learner, prepare, tick_body
from werkzeug.test import EnvironBuilder


def make_app(url: str) -> Any:
    from tracker import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "BASE_URL": BASE_URL})
    add_reference_routes(app)
    return app


def environ(case: str, lr: Learner) -> dict[str, Any]:
    base = {"REMOTE_ADDR": HOST, "HTTP_USER_AGENT": AGENT}
    if case == "bare":
        return EnvironBuilder("/bench/bare", environ_base=base).get_environ()
    if case == "signed-in":
        return EnvironBuilder(
            "/bench/signed-in", environ_base={**base, "HTTP_COOKIE": lr.cookie}
        ).get_environ()
    if case == "dashboard":
        return EnvironBuilder(
            "/dashboard", environ_base={**base, "HTTP_COOKIE": lr.cookie}
        ).get_environ()
    if case == "milestone":
        return EnvironBuilder(
            f"/milestones/{lr.milestone}", environ_base={**base, "HTTP_COOKIE": lr.cookie}
        ).get_environ()
    if case == "feed 200":
        return EnvironBuilder(lr.feed, environ_base=base).get_environ()
    if case == "feed 304":
        return EnvironBuilder(
            lr.feed, environ_base={**base, "HTTP_IF_NONE_MATCH": lr.etag}
        ).get_environ()
    return EnvironBuilder(
        f"/milestones/{lr.milestone}/done",
        method="POST",
        data=tick_body(lr),
        content_type=FORM,
        environ_base={**base, "HTTP_COOKIE": lr.cookie},
    ).get_environ()


def call(app: Any, case: str, lr: Learner) -> tuple[int, dict[str, str]]:
    out: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        out.append((int(status.split()[0]), dict(headers)))

    body = app(environ(case, lr), start_response)
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return out[0]


def measure(app: Any, case: str, lr: Learner, requests: int) -> dict[str, float]:
    from tracker.database import db

    with app.app_context():
        engine = db.engine
    statements = 0
    in_driver = 0.0
    started: list[float] = []

    def before(*_: Any) -> None:
        nonlocal statements
        statements += 1
        started.append(time.perf_counter())

    def after(*_: Any) -> None:
        nonlocal in_driver
        in_driver += time.perf_counter() - started.pop()

    for _ in range(20):  # warm: templates compiled, pool filled, caches built
        status, _headers = call(app, case, lr)
        assert status == EXPECTED[case], (case, status)
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    backends = server_processes(engine)
    server = server_cpu(backends)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        call(app, case, lr)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    server = server_cpu(backends) - server
    sa.event.remove(engine, "before_cursor_execute", before)
    sa.event.remove(engine, "after_cursor_execute", after)
    return {
        "cpu_ms": cpu / requests * 1000,
        "wall_ms": wall / requests * 1000,
        "statements": statements / requests,
        "sql_ms": in_driver / requests * 1000,
        "server_ms": server / requests * 1000 if backends else float("nan"),
    }


def server_processes(engine: sa.Engine) -> list[int]:
    """Return the pids of the PostgreSQL backends serving the app's pool (none on SQLite)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as connection:  # the pool's own connection: it is one of them
        return list(connection.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend'")))


def server_cpu(pids: list[int]) -> float:
    """Return the CPU seconds these local processes have used (0 for any not readable)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # a server on another machine, or a backend that has gone
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("engine", help="sqlite, postgresql or a database URL")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", choices=CASES, help="print a cProfile of this case")
    args = parser.parse_args()
    url = url_for(args.engine)
    [lr] = prepare(url, 1)
    app = make_app(url)
    status, headers = call(app, "feed 200", lr)
    lr.etag = headers.get("ETag", "")
    results = {case: measure(app, case, lr, args.requests) for case in CASES}
    bare = results["bare"]["cpu_ms"]
    print(f"{args.engine}: {args.requests} requests per case, in-process WSGI calls")
    print(f"{'case':<12}{'CPU ms':>8}{'wall ms':>9}{'SQL':>5}{'SQL ms':>8}{'server ms':>11}"
          f"{'CPU x bare':>12}")
    for case, r in results.items():
        print(
            f"{case:<12}{r['cpu_ms']:>8.2f}{r['wall_ms']:>9.2f}{r['statements']:>5.0f}"
            f"{r['sql_ms']:>8.2f}{r['server_ms']:>11.2f}{r['cpu_ms'] / bare:>12.1f}"
        )
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [call(app, args.profile, lr) for _ in range(args.requests)])
        text = io.StringIO()
        order, top = os.environ.get("SORT", "tottime"), int(os.environ.get("TOP", "30"))
        pstats.Stats(profile, stream=text).sort_stats(order).print_stats(top)
        print(text.getvalue())


if __name__ == "__main__":
    main()
