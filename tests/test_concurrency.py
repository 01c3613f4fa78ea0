"""Concurrency: a threaded server on SQLite, and many mail workers on PostgreSQL."""

from __future__ import annotations

import http.client
import re
import threading
from collections import Counter
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from conftest import PASSWORD
from werkzeug.serving import make_server

from tracker.db import db
from tracker.models import Milestone, Plan, User

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Browser:
    """One keep-alive HTTP connection with a cookie jar, like one browser tab."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, Any] | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, text

    def login(self, email: str) -> str:
        """Log in and return the session's CSRF token."""
        _, page = self.request("GET", "/login")
        token = CSRF.search(page).group(1)
        status, _ = self.request("POST", "/login", {"email": email, "password": PASSWORD, "csrf_token": token})
        assert status == 302
        # Logging in starts a fresh session, and with it a fresh CSRF token.
        _, page = self.request("GET", "/dashboard")
        return CSRF.search(page).group(1)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def server(app):
    """Serve the app from a real multi-threaded server, as `flask run` does."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_port
    srv.shutdown()
    thread.join()


THREADS = 8
ROUNDS = 8


def test_threaded_server_ticks_and_reads_without_lock_errors(app, server, make_user, make_plan):
    # Two browsers per learner, so ticks race on the same rows as well as on the lock.
    emails = [f"learner{i}@example.com" for i in range(THREADS // 2)]
    for email in emails:
        make_plan(make_user(email))
    with app.app_context():
        plans = {u.email: [m.id for m in db.session.get(Plan, u.plans[0].id).milestones]
                 for u in db.session.scalars(sa.select(User))}
    statuses: Counter[int] = Counter()
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def browse(n: int) -> None:
        email = emails[n % len(emails)]
        browser = Browser(server)
        try:
            token = browser.login(email)
            start.wait()
            for r in range(ROUNDS):
                milestone = plans[email][(n + r) % len(plans[email])]
                for method, path, form in (
                    ("GET", "/dashboard", None),
                    ("POST", f"/milestones/{milestone}/done", {"csrf_token": token, "note": f"round {r}"}),
                    ("GET", f"/milestones/{milestone}", None),
                    ("POST", f"/milestones/{milestone}/undo", {"csrf_token": token}),
                ):
                    status, body = browser.request(method, path, form)
                    statuses[status] += 1
                    assert "database is locked" not in body
                    assert status in (200, 302), (method, path, status, body[:500])
        except BaseException as e:  # reported below, with every thread finished
            errors.append(e)
        finally:
            browser.close()

    threads = [threading.Thread(target=browse, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert sum(statuses.values()) == THREADS * ROUNDS * 4
    with app.app_context():
        # Every round ended with an undo; the notes of the last ticks are kept.
        assert db.session.scalar(sa.select(sa.func.count()).where(Milestone.done_at.is_not(None))) == 0
