"""Every rate limit holds under gunicorn with four workers sharing Redis, as in production."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import PASSWORD, Browser, missing

from tracker.accounts.tokens import reset_token
from tracker.database import db
from tracker.models import User, utcnow

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def shared_limits() -> Iterator[dict[str, str]]:
    """Point the limits at the local Redis, under a key prefix of this test's own."""
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.ConnectionError as e:
        missing(f"Redis is not reachable at {REDIS}: {e}")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield {"RATELIMIT_STORAGE_URI": REDIS, "RATELIMIT_KEY_PREFIX": prefix}
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


def hammer(send: Callable[[int], tuple[int, Any]], limit: int) -> None:
    """Send limit requests that pass the limit, then one that must be refused."""
    for i in range(limit):
        status, _ = send(i)
        assert status != 429, f"request {i + 1} of a limit of {limit} was refused"
    status, headers = send(limit)
    assert status == 429, f"request {limit + 1} passed a limit of {limit}"
    assert int(headers["Retry-After"]) > 0


def post(browser: Browser, path: str, form: dict[str, Any], page: str = "/login") -> Any:
    """POST a form with a fresh CSRF token, as a browser that loaded ``page`` would."""
    form = {"csrf_token": browser.csrf(page), **form}
    status, _ = browser.request("POST", path, form)
    return status, browser.headers


def every_limit_holds(app: Any, user_id: int, client: Callable[[int], Browser]) -> None:
    """Hammer each documented limit; ``client(n)`` is a browser at the n-th address."""
    # Log-in: 10 a minute per address, 20 an hour per account (from any addresses).
    one = client(1)
    hammer(lambda i: post(one, "/login", {"email": f"nobody{i}@example.com",
                                          "password": "wrong"}), 10)
    hammer(lambda i: post(client(10 + i), "/login",
                          {"email": "guessed@example.com", "password": "wrong"}), 20)
    # Sign-up: 20 an hour per address.
    two = client(2)
    hammer(lambda i: post(two, "/signup", {"email": f"new{i}@example.com",
                                           "password": "a long enough password"},
                          "/signup"), 20)
    # Reset requests: 10 a minute per address, 5 an hour per address asked about.
    three = client(3)
    hammer(lambda i: post(three, "/reset", {"email": f"someone{i}@example.com"},
                          "/reset"), 10)
    hammer(lambda i: post(client(40 + i), "/reset", {"email": "target@example.com"},
                          "/reset"), 5)
    # A reset link's form: 10 a minute per address.
    with app.app_context():
        token = reset_token(db.session.get(User, user_id), utcnow())
    four = client(4)
    hammer(lambda i: post(four, f"/reset/{token}", {"password": "short"},
                          f"/reset/{token}"), 10)
    # Signed in: 5 confirmation resends an hour, 10 password checks an hour per learner.
    five = client(5)
    five.login("learner@example.com", "/settings")
    hammer(lambda i: post(five, "/resend-confirmation", {}, "/settings"), 5)
    hammer(lambda i: post(five, "/settings/password",
                          {"change-current": "wrong", "change-password": "x" * 12,
                           "change-confirm": "x" * 12}, "/settings"), 10)


def test_every_limit_holds_as_make_run_serves(app, make_user, serve):
    # `make run` as it comes: one `flask run` process, counts in memory, no proxy trusted.
    # Each client connects from an address of its own on the loopback network.
    user_id = make_user()
    make_user("guessed@example.com")
    with serve(make_run=True) as port:
        every_limit_holds(app, user_id, lambda n: Browser(port, source=f"127.0.0.{n + 1}"))


def test_every_limit_holds_across_four_workers(app, make_user, serve, shared_limits):
    # Production: gunicorn behind one proxy, counts shared in Redis.
    user_id = make_user()
    make_user("guessed@example.com")
    with serve(workers=4, PROXIES=1, **shared_limits) as port:
        def client(n: int) -> Browser:
            browser = Browser(port)
            browser.extra_headers = {"X-Forwarded-For": f"203.0.113.{n}"}
            return browser

        every_limit_holds(app, user_id, client)


@pytest.mark.parametrize("make_run", [True, False], ids=["make-run", "gunicorn"])
def test_a_proxy_header_is_not_trusted_unless_configured(app, serve, shared_limits, make_run):
    config = {} if make_run else {"workers": 4, **shared_limits}
    with serve(make_run=make_run, **config) as port:
        browser = Browser(port)

        def from_anywhere(i: int) -> tuple[int, Any]:
            address = f"198.51.100.{i}"
            browser.extra_headers = {"X-Forwarded-For": address, "X-Real-IP": address,
                                     "Forwarded": f"for={address}"}
            return post(browser, "/login", {"email": f"nobody{i}@example.com",
                                            "password": "wrong"})

        hammer(from_anywhere, 10)


def test_workers_that_count_alone_are_warned_about(app, serve):
    with serve(workers=2) as port:
        status, page = Browser(port).request("GET", "/healthz")
    assert status == 200
    page = page.replace(" ", "")
    assert '"shared":false' in page and '"status":"degraded"' in page
    assert "share no rate-limit counts" in serve.log  # gunicorn.conf.py, at start


def test_strangers_cannot_lock_the_owner_out(app, make_user, serve, shared_limits):
    make_user()
    with serve(workers=4, PROXIES=1, **shared_limits) as port:
        owner = Browser(port)
        owner.extra_headers = {"X-Forwarded-For": "192.0.2.1"}
        token = owner.login("learner@example.com", "/settings")  # her laptop, last week
        assert "tracker_device" in owner.cookies
        owner.request("POST", "/logout", {"csrf_token": token})

        def stranger(i: int) -> tuple[int, Any]:
            browser = Browser(port)
            browser.extra_headers = {"X-Forwarded-For": f"198.51.100.{i}"}
            return post(browser, "/login", {"email": "learner@example.com",
                                            "password": f"guess {i}"})

        # The account's budget for unknown browsers (her first log-in was one of them).
        hammer(stranger, 19)
        assert stranger(99)[0] == 429

        # Her own browser, on a new network, with the right password: still in.
        owner.extra_headers = {"X-Forwarded-For": "203.0.113.77"}
        assert post(owner, "/login", {"email": "learner@example.com",
                                      "password": PASSWORD})[0] == 302
        assert owner.request("GET", "/settings")[0] == 200
        # A browser she never used waits like the strangers (OWASP: lock the unknown out).
        fresh = Browser(port)
        fresh.extra_headers = {"X-Forwarded-For": "203.0.113.78"}
        assert post(fresh, "/login", {"email": "learner@example.com",
                                      "password": PASSWORD})[0] == 429
        # A device cookie for another account is no key to this one.
        other = Browser(port)
        other.cookies["tracker_device"] = owner.cookies["tracker_device"]
        other.extra_headers = {"X-Forwarded-For": "203.0.113.79"}
        assert post(other, "/login", {"email": "someone@example.com",
                                      "password": PASSWORD})[0] != 302
