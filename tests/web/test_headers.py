"""Security headers: on every page Flask answers, unless a view says more."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tracker.web.headers import HEADERS


@pytest.mark.parametrize("path", ["/", "/login", "/static/app.css", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    with client.get(path) as response:  # a static file's answer holds the file open
        for name, value in HEADERS.items():
            assert response.headers[name] == value, (path, name)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_a_signed_in_page_carries_them_too(client, auth, make_user):
    make_user()
    auth.login()
    response = client.get("/settings")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_view_that_says_more_keeps_its_own(client):
    # The reset page has its token in the URL: it must not leak through Referer.
    response = client.get("/reset/not-a-real-token")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]


SIGNED_IN_PAGES = ["/dashboard", "/settings", "/replan", "/decide", "/milestones/{id}",
                   "/plan/roadmap.ics"]


def test_private_pages_are_never_stored(app, client, auth, learner):
    auth.login()
    with app.app_context():
        from tracker.database import db
        from tracker.models import Milestone

        first = db.session.scalars(sa.select(Milestone.id).order_by(Milestone.id)).first()
    for path in SIGNED_IN_PAGES:
        response = client.get(path.format(id=first))
        assert response.status_code == 200, path
        expected = "private, no-cache" if path.endswith(".ics") else "no-store"
        assert response.headers["Cache-Control"] == expected, path
    # A stylesheet may be kept, signed in or not.
    with client.get("/static/app.css") as response:
        assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/verify/x", "/reset/x", "/email/x", "/unsubscribe/x"])
def test_pages_opened_from_an_emailed_link_are_never_stored(client, path):
    response = client.get(path)
    assert response.headers["Cache-Control"] == "no-store", path


def test_public_pages_may_be_stored(client):
    assert "Cache-Control" not in client.get("/login").headers
