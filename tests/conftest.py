"""Shared fixtures: the app on a fresh database (SQLite and PostgreSQL), clients, factories."""

from __future__ import annotations

import asyncio
import email
import email.policy
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

from tracker import create_app
from tracker.accounts.sessions import new_account
from tracker.catalog import get_catalog
from tracker.database import db
from tracker.jobs.composers import COMPOSERS
from tracker.mail.delivery import deliver
from tracker.mail.outbox import Counts
from tracker.models import Model, Notification, Plan, User
from tracker.plans import changes
from tracker.schema import upgrade

CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get("TRACKER_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parent.parent


def missing(reason: str) -> None:
    """Skip for a missing part, but fail under CI=true, where every part must be there."""
    if CI:
        pytest.fail(f"{reason} (CI=true: a missing part fails instead of skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file once; each test gets a copy."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def private_schema(prefix: str) -> Iterator[str]:
    """Create an empty schema on the PostgreSQL test server and drop it afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, pool_pre_ping=True)  # a test may restart the server
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as e:
        admin.dispose()
        missing(f"PostgreSQL is not reachable at {PG_URL}: {e.orig}")
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """Create a private schema on the PostgreSQL server for this run, migrated to head."""
    with private_schema("test") as schema:
        url = pg_url(schema)
        engine = sa.create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def pg_url(schema: str) -> str:
    """Return the test server URL with ``schema`` first on the search path."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield a fresh, migrated database URL: a copied SQLite file, or an emptied PG schema."""
    if request.param == "sqlite":
        path = tmp_path / "tracker.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_schema")
    yield url
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Model.metadata.sorted_tables)
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Return the test configuration; tests may change it before asking for ``app``."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "BASE_URL": "https://tracker.example",
        "MAIL_URL": f"file://{tmp_path / 'mail'}",
        "RATELIMIT_ENABLED": False,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """Create the app on a fresh database."""
    app = create_app(app_config)
    yield app
    with app.app_context():
        db.engine.dispose()


class Client(FlaskClient):
    """A test client that can fill in the CSRF token like a browser would."""

    def csrf_token(self) -> str:
        """Read a CSRF token from a page, as the browser gets it."""
        page = self.get("/login").get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert match, "no CSRF token on the login page"
        return match.group(1)

    def submit(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with a valid CSRF token."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client: Client) -> None:
        self._client = client

    def signup(self, email: str = "learner@example.com", password: str = PASSWORD) -> Any:
        return self._client.submit("/signup", {"email": email, "password": password})

    def login(self, email: str = "learner@example.com", password: str = PASSWORD) -> Any:
        return self._client.submit("/login", {"email": email, "password": password})

    def logout(self) -> Any:
        return self._client.submit("/logout")


@pytest.fixture
def auth(client: Client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def make_user(app: Flask) -> Any:
    """Create a learner directly in the database and return its id."""
    from werkzeug.security import generate_password_hash

    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")  # fast in tests

    def make(email: str = "learner@example.com", *, verified: bool = True, **fields: Any) -> int:
        with app.app_context():
            user = new_account(email, password_hash, datetime(2026, 1, 1, tzinfo=UTC))
            user.email_verified_at = datetime(2026, 1, 1, tzinfo=UTC) if verified else None
            for name, value in fields.items():
                setattr(user, name, value)
            db.session.commit()
            return user.id

    return make


@pytest.fixture
def make_plan(app: Flask) -> Any:
    """Enrol a learner in a plan and return the plan id."""

    def make(
        user_id: int,
        outcome: str = "go",
        start: date = date(2027, 1, 4),
        study_days: tuple[int, ...] = (0, 1, 2, 3, 4),
        now: datetime | None = None,
    ) -> int:
        with app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            plan: Plan = changes.create_plan(
                user,
                get_catalog(),
                outcome=outcome,
                recommended=outcome,
                answers={},
                start=start,
                study_days=study_days,
                now=now or datetime(2027, 1, 1, tzinfo=UTC),
            )
            db.session.commit()
            return plan.id

    return make


class SMTPSink:
    """A real SMTP server on 127.0.0.1 that keeps what it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list[Any] = []  # email.message.EmailMessage, in arrival order
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs)
        self.raw: list[bytes] = []  # the messages as they came over the wire
        self.refusing = False
        self.refuse_every = 0  # answer 451 to every n-th message offered (0: never)
        self.hang_up_every = 0  # drop the connection mid-DATA on every n-th message (0: never)
        self.hold_at = 0  # keep the n-th message, but never answer until ``release`` is set
        self.held, self.release = threading.Event(), threading.Event()
        self.held_id = ""  # the Message-ID of the message held
        self.offered = 0  # messages offered, refused ones included
        with socket.socket() as s:  # a free port; the controller binds it right after
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.offered += 1
        if self.refusing or (self.refuse_every and self.offered % self.refuse_every == 0):
            return "451 4.3.0 Try again later"
        if self.hang_up_every and self.offered % self.hang_up_every == 0:
            server.transport.close()  # the message came, no answer will: the sender must retry
            return "421 4.4.2 Connection dropped"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.raw.append(envelope.original_content)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        if self.hold_at and len(self.messages) == self.hold_at:
            # Arrived, but its sender never hears so: the message is in flight.
            self.held_id = message["Message-ID"]
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self.release.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @contextmanager
    def down(self) -> Iterator[None]:
        """Stop the server for a while: connections are refused."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextmanager
    def refusing_mail(self) -> Iterator[None]:
        """Answer every message with a temporary failure (451) for a while."""
        self.refusing = True
        try:
            yield
        finally:
            self.refusing = False

    def by_recipient(self, address: str) -> list[Any]:
        """Return the messages addressed to ``address``."""
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_server(app: Flask) -> Iterator[SMTPSink]:
    """Run an aiosmtpd server and point the app's mail at it."""
    sink = SMTPSink()
    sink.start()
    app.config["MAIL_URL"] = sink.url
    yield sink
    sink.stop()


def deliver_mail(app: Flask, now: datetime | None = None, **kwargs: Any) -> Counts:
    """Run one delivery pass of the outbox, as the worker does."""
    with app.app_context():
        return deliver(now or datetime.now(UTC), COMPOSERS, **kwargs)


def outbox_rows(app: Flask, **where: Any) -> list[Notification]:
    """Return the outbox rows whose columns have the given values, in id order."""
    with app.app_context():
        query = sa.select(Notification).filter_by(**where).order_by(Notification.id)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


@dataclass
class Learner:
    id: int
    plan_id: int
    email: str = "learner@example.com"


def answered(client: Client) -> None:
    """Answer every question with its first answer, as the question screens keep them."""
    with client.application.app_context():
        answers = {q.id: [q.answers[0].id] for q in get_catalog().decision.questions}
    with client.session_transaction() as session:
        session["decision"] = {"answers": answers}


PLANNED_AT = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # before any test runs


@pytest.fixture
def learner(make_user: Any, make_plan: Any) -> Learner:
    """A verified learner on the Go plan from Monday 2027-01-04, made before the tests run."""
    user_id = make_user()
    return Learner(user_id, make_plan(user_id, now=PLANNED_AT))


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Browser:
    """One keep-alive HTTP connection with a cookie jar, like one browser tab."""

    def __init__(self, port: int, source: str | None = None) -> None:
        self.port, self.source = port, source  # source: connect from this loopback address
        self.conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=30, source_address=(source, 0) if source else None)
        self.extra_headers: dict[str, str] = {}
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, Any] | None = None
    ) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   **self.extra_headers}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        self.location = response.headers.get("Location", "")
        self.headers = response.headers
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, text

    def login(self, email: str, page: str = "/dashboard") -> str:
        """Log in and return the session's CSRF token, read from ``page``."""
        _, form = self.request("GET", "/login")
        token = CSRF.search(form).group(1)
        status, _ = self.request(
            "POST", "/login", {"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert status == 302
        # Logging in starts a fresh session, and with it a fresh CSRF token.
        return self.csrf(page)

    def csrf(self, page: str = "/settings") -> str:
        """Return the CSRF token a page of the signed-in session carries."""
        status, text = self.request("GET", page)
        assert status == 200, (page, status)
        match = CSRF.search(text)
        assert match, page
        return match.group(1)

    def copy(self) -> Browser:
        """Return another browser holding a copy of this one's cookies."""
        other = Browser(self.port, self.source)
        other.cookies = dict(self.cookies)
        return other

    def close(self) -> None:
        self.conn.close()




def process_env(app_config: dict[str, Any], **config: Any) -> dict[str, str]:
    """Return the environment for the app in a process of its own, on the test's database."""
    settings = {k: v for k, v in app_config.items()
                if k in ("SECRET_KEY", "DATABASE_URL", "BASE_URL", "MAIL_URL")}
    return {**os.environ, **{f"TRACKER_{k}": str(v) for k, v in {**settings, **config}.items()}}


@pytest.fixture
def cli(app_config: dict[str, Any]) -> Iterator[Any]:
    """Return a function that starts ``flask tracker ARGS`` in a process, as cron would.

    ``cli("send-due", "--now", when, MAIL_URL=...)`` returns the running process; any
    still running when the test ends is killed.
    """
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, **config: Any) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "tracker", *args],
                                cwd=ROOT, env=process_env(app_config, **config),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def finished(proc: subprocess.Popen[str], timeout: float = 300) -> str:
    """Wait for a process of ``cli``; return what it printed, failing on a non-zero exit."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{out}\n{err}"
    return out


@pytest.fixture
def serve(app_config: dict[str, Any], app: Flask, tmp_path: Path) -> Any:
    """Return a context manager that serves the app with gunicorn and yields its port.

    ``serve(workers=4, RATELIMIT_STORAGE_URI=...)``: the way production runs it (README),
    on the test database; what a test shows there holds across processes.
    ``serve(make_run=True)``: `flask run` as `make run` starts it, with its defaults.
    """

    @contextmanager
    def start(workers: int = 2, make_run: bool = False, **config: Any) -> Iterator[int]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = process_env(app_config, **config)
        command = (["flask", "--app", "app", "run", "--host", "127.0.0.1", "--port", str(port)]
                   if make_run else
                   ["gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                    "--log-level", "warning", "--config", str(ROOT / "gunicorn.conf.py"),
                    "tracker:create_app()"])
        proc = subprocess.Popen([sys.executable, "-m", *command], env=env,
                                cwd=ROOT if make_run else tmp_path,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{command[0]} did not start") from None
                    time.sleep(0.1)
            yield port
        finally:
            proc.terminate()
            start.log = proc.communicate(timeout=30)[1]  # type: ignore[attr-defined]

    start.log = ""  # type: ignore[attr-defined]  # gunicorn's output, once it has stopped
    return start


@pytest.fixture
def served(serve: Any) -> Iterator[int]:
    """Serve the app with gunicorn, two worker processes, on the test database; yield the port."""
    with serve() as port:
        yield port
