"""Security headers: on every page Flask answers, unless a view says more."""

from __future__ import annotations

import pytest

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
