"""What the benchmarks share: where the databases are, and how to reach them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))  # run as `python bench/x.py` from anywhere

# A database of its own on the test server, so benchmarks never meet a test run.
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
PG_DATABASE = "tracker_bench"
ENGINES = {
    "sqlite": f"sqlite:///{OUT / 'bench.sqlite'}",
    "postgresql": f"{PG_SERVER}/{PG_DATABASE}",
}
PASSWORD = "bench password 123"
SECRET_KEY = "bench-secret-key"  # the seeded feed tokens are derived from it
BASE_URL = "https://tracker.example"


def add_reference_routes(app: Any) -> None:
    """Add the routes every case is measured against.

    /bench/bare answers at once: the most a Flask route can do on this server (the
    ceiling). /bench/signed-in answers a signed-in learner at once: what any of their
    pages costs before its own work (session cookie, user load, transaction).
    """
    from flask_login import current_user, login_required

    from tracker.database import read_only

    app.add_url_rule("/bench/bare", "bench_bare", lambda: "ok")
    app.add_url_rule(
        "/bench/signed-in",
        "bench_signed_in",
        read_only(login_required(lambda: str(current_user.id))),
    )


def url_for(engine: str) -> str:
    """Return the benchmark database URL for ``sqlite`` or ``postgresql`` (or a URL as is)."""
    return ENGINES.get(engine, engine)


def ensure_database(url: str) -> None:
    """Create the SQLite directory or the PostgreSQL database if it is missing."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        )
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def check_schema(url: str) -> None:
    """Stop with a hint when the database is not seeded, or older than the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tracker import models  # noqa: F401  (registers every table)
    from tracker.models import Model

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            drift = compare_metadata(MigrationContext.configure(conn), Model.metadata)
            learners = conn.scalar(sa.text('SELECT count(*) FROM "user"')) if not drift else 0
    except sa.exc.SQLAlchemyError as e:
        raise SystemExit(f"{url}: {e.__class__.__name__}; run bench/seed.py first") from None
    finally:
        engine.dispose()
    if drift or not learners:
        why = "the schema changed since seeding" if drift else "no learners"
        raise SystemExit(f"{url}: {why}; run bench/seed.py again")


def learner_email(i: int) -> str:
    return f"learner{i:05d}@bench.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(target: str, env: dict[str, str], workers: int, chdir: Path = ROOT) -> Iterator[int]:
    """Run gunicorn on a free port until the block ends; yield the port."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{port}",
           "--chdir", str(chdir), "--log-level", "warning", target]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60  # several workers importing the app on a busy machine
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {target} did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
