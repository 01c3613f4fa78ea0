"""Real-browser fixtures: the app served on 127.0.0.1 and Debian's Chromium driven by Playwright.

One browser for the package, one server (on a fresh SQLite database) per test module, a fresh
browser context (cookies, cache) per test.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import PASSWORD, missing
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash
from werkzeug.serving import WSGIRequestHandler, make_server

from tracker import create_app
from tracker.accounts.sessions import new_account
from tracker.catalog import get_catalog
from tracker.database import db
from tracker.models import Milestone, Plan, User
from tracker.plans import changes

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = "/static/vendor/axe.min.js"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True},
}


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Start Chromium once for these tests.

    Package scope, not session: Playwright's loop must stop before the other tests run, as
    it would break every app context they push on this thread (see ``off_loop``).
    """
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def off_loop(fn: Callable[[], T]) -> T:
    """Call ``fn`` on a worker thread.

    Playwright's sync API keeps an asyncio loop running on the main thread, and Flask runs
    flask-sqlalchemy-lite's async teardown through asgiref, which refuses such a thread.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


@dataclass
class LiveServer:
    app: Flask
    url: str

    def db(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` on the server's database, commit, and return its result."""

        def work() -> T:
            with self.app.app_context():
                result = fn(db.session)
                db.session.commit()
                return result

        return off_loop(work)


BODY = "tests.e2e.response"  # where the environ keeps the app's response, to close it


class QuietHandler(WSGIRequestHandler):
    """Serve requests without logging each one: failures show the test's own output."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        # Werkzeug's server drains the request before closing the response; when the
        # browser has reset the connection (it drops a favicon it no longer wants), the
        # drain raises and the response (an open static file) is never closed.
        body = (environ or {}).get(BODY)
        if body is not None and hasattr(body, "close"):
            body.close()


def keeping_the_response(app: Any) -> Any:
    """Wrap a WSGI app so the handler can close its response when the client went away."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        environ[BODY] = app(environ, start_response)
        return environ[BODY]

    return wsgi


@pytest.fixture(scope="module")
def live_server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Serve the real app on a free port of 127.0.0.1 from a background thread."""
    tmp = tmp_path_factory.mktemp("e2e")
    shutil.copy(sqlite_template, tmp / "tracker.sqlite")
    app = off_loop(lambda: create_app({
        "SECRET_KEY": "e2e-secret",
        "DATABASE_URL": f"sqlite:///{tmp / 'tracker.sqlite'}",
        "MAIL_URL": f"file://{tmp / 'mail'}",
        "RATELIMIT_ENABLED": False,
    }))
    server = make_server("127.0.0.1", 0, keeping_the_response(app), threaded=True,
                         request_handler=QuietHandler)
    # SESSION_COOKIE_SECURE stays on: Chromium treats http://127.0.0.1 as a secure context.
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app, url)
    server.shutdown()
    thread.join()
    server.server_close()

    def dispose() -> None:
        with app.app_context():
            db.engine.dispose()

    off_loop(dispose)


@pytest.fixture
def new_context(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Any]]:
    """Return a factory of fresh browser contexts (own cookies, cache), closed after the test.

    The test fails if any page broke the Content-Security-Policy: a script or style the
    policy blocks is a feature that silently stopped working.
    """
    contexts: list[Any] = []
    refused: list[str] = []

    def make(viewport: str = "desktop", **options: Any) -> Any:
        options = {**VIEWPORTS[viewport], **options}
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(5_000)
        context.on("console", lambda message: refused.append(message.text)
                   if "Content Security Policy" in message.text else None)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not refused, refused


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    """Return a page in a fresh desktop context."""
    return new_context().new_page()


def seed_learner(
    server: LiveServer,
    email: str,
    *,
    outcome: str | None = "go",
    started_days_ago: int = 0,
    done: int = 0,
    timezone: str = "UTC",
) -> int:
    """Create a verified learner, maybe with a plan and some milestones done; return its id."""
    now = datetime.now(UTC)

    def seed(session: Session) -> int:
        user = new_account(email, generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
                           now)
        user.timezone, user.email_verified_at = timezone, now
        if outcome:
            start = now.date() - timedelta(days=started_days_ago)
            plan = changes.create_plan(user, get_catalog(), outcome=outcome, recommended=outcome,
                                        answers={}, start=start, study_days=range(5), now=now)
            for m in plan.milestones[:done]:
                m.done_at = datetime.combine(m.due_date, time(18), UTC)
                m.note = "Built it and wrote down what tripped me up."
                m.evidence_url = "https://github.com/learner/go-practice"
        session.flush()
        return user.id

    return server.db(seed)


def shift_plan(server: LiveServer, email: str, days: int) -> None:
    """Move every due date of the learner's plan by ``days`` (negative: into the past)."""

    def shift(session: Session) -> None:
        plan = session.scalars(select(Plan).join(User).where(User.email == email)).one()
        for m in session.scalars(select(Milestone).where(Milestone.plan_id == plan.id)):
            m.due_date += timedelta(days=days)
        plan.start_date += timedelta(days=days)

    server.db(shift)


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Log in through the form, as a learner does."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def check_a11y(page: Any) -> list[str]:
    """Run axe-core on the page; return its serious and critical violations, readable."""
    page.add_script_tag(url=AXE)  # served by the app: the page's policy allows it
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, name: str, viewport: str, *, full_page: bool = True) -> Path:
    """Save a screenshot under test-output/screenshots/ for a reviewer (and the README)."""
    path = SCREENSHOTS / f"{name}-{viewport}{'' if full_page else '-screen'}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


def today() -> date:
    return datetime.now(UTC).date()
