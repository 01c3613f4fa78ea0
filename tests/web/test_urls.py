"""Links: which ``next`` targets are this site's, read the way a browser reads them."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from tracker.database import db
from tracker.models import Milestone
from tracker.web.urls import absolute_url, is_local_path

LOCAL = [
    "/dashboard",
    "/dashboard?phase=2#phase-2",
    "/milestones/12",
    "/settings#calendar",
    "/a/b/c",
    "/%2F%2Fevil.example",  # an encoded slash stays in the path: /%2F%2Fevil.example here
    "/?next=//evil.example",  # another site named in our own query string is still our page
    "/@evil.example",  # a path segment, not userinfo: no authority after a single slash
    "/%0a",  # an encoded newline stays encoded in the path
    "/ /evil.example",  # the browser encodes the space: /%20/evil.example, here
]
FOREIGN = [
    None,
    "",
    "dashboard",  # relative: where it lands depends on the page
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",  # browsers drop tabs: //evil.example
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "https://evil.example",
    "http://evil.example/dashboard",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,hi",
    "//user@evil.example",
    "https:evil.example",
    "/\x00/evil.example",
    "/\x7f",
    "/dashboard\x0b",
    "/\u2028evil",
    "/ünïcode",
    "\x00",
    "/\\/evil.example",
    "//evil.example/dashboard",
    "/.\\./evil.example",
]


@pytest.mark.parametrize("target", LOCAL)
def test_paths_of_this_site(target: str) -> None:
    assert is_local_path(target)


@pytest.mark.parametrize("target", FOREIGN)
def test_anything_else_is_refused(target: str | None) -> None:
    assert not is_local_path(target)


def test_the_table_is_long_enough() -> None:
    assert len(LOCAL) + len(FOREIGN) >= 30


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example",
                                    "//evil.example", "/\\evil.example", "https://evil.example"])
def test_login_never_sends_the_browser_elsewhere(client, make_user, target: str) -> None:
    make_user()
    response = client.submit(f"/login?next={quote(target, safe='')}",
                             {"email": "learner@example.com",
                              "password": "correct horse battery"})
    assert response.status_code == 302
    assert response.location == "/dashboard"


def test_undo_never_sends_the_browser_elsewhere(client, auth, learner) -> None:
    auth.login()
    with client.application.app_context():
        first = db.session.scalars(select(Milestone.id).order_by(Milestone.id)).first()
    for target in ("/\t/evil.example", "/\r\n/evil.example", "//evil.example"):
        response = client.submit(f"/milestones/{first}/undo", {"next": target})
        assert response.status_code == 302 and response.location == "/dashboard", target


def test_absolute_urls_use_the_published_address(app) -> None:
    with app.test_request_context("http://internal:8000/"):
        assert absolute_url("plans.milestone", milestone_id=3) == (
            "https://tracker.example/milestones/3")
