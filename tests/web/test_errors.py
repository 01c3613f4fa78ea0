"""Error pages: the site's layout, plain words, a way back, and the status and headers kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from tracker import create_app
from tracker.database import db


@contextmanager
def app_with(app_config: dict[str, Any], **config: Any) -> Iterator[Flask]:
    """Make an app of its own with some settings changed; close its connections after."""
    app = create_app({**app_config, **config})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_missing_page_says_so_and_links_back(client):
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and response.content_type.startswith("text/html")
    assert "Page not found" in page and 'href="/"' in page and 'class="top"' in page


def test_a_signed_in_learner_is_sent_back_to_the_dashboard(client, auth, learner):
    auth.login()
    page = client.get("/milestones/999999").get_data(as_text=True)
    assert "Back to my dashboard" in page and 'href="/dashboard"' in page


def test_the_wrong_method_keeps_its_allow_header(client):
    response = client.delete("/login")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert "does not take that request" in response.get_data(as_text=True)


def test_too_many_tries_keeps_retry_after(app_config):
    with app_with(app_config, RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False) as app:
        client = app.test_client()
        for _ in range(10):
            client.post("/login", data={"email": "x@example.com", "password": "wrong"})
        response = client.post("/login", data={"email": "x@example.com", "password": "wrong"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "Too many tries for now" in response.get_data(as_text=True)


def test_an_unexpected_failure_is_a_calm_500(app_config):
    with app_with(app_config, TESTING=False) as app:
        @app.get("/boom")
        def boom():
            raise RuntimeError("a bug")

        response = app.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "Something went wrong on our side" in page
    assert "a bug" not in page and "Traceback" not in page
