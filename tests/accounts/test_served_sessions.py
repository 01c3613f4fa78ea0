"""Sessions end when they are ended and links die with their account: shown on gunicorn with
two workers, on both engines."""

from __future__ import annotations

import re

from conftest import PASSWORD, Browser
from sqlalchemy import func, select

from tracker.accounts.tokens import unsubscribe_url, verification_token
from tracker.database import db
from tracker.models import LoginSession, User, utcnow


def session_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(LoginSession))


def test_a_cookie_copied_before_logout_opens_nothing_after(app, make_user, served):
    make_user()
    browser = Browser(served)
    token = browser.login("learner@example.com", "/settings")
    stolen = browser.copy()
    assert stolen.request("GET", "/settings")[0] == 200  # the copy works while signed in
    assert session_rows(app) == 1

    assert browser.request("POST", "/logout", {"csrf_token": token})[0] == 302
    assert session_rows(app) == 0  # the server forgot the session, not just the browser

    status, _ = stolen.request("GET", "/settings")
    assert status == 302 and "/login" in stolen.location
    status, _ = stolen.request("POST", "/calendar/alarm",
                               {"csrf_token": token, "feed_alarm": "y"})
    assert status == 302 and "/login" in stolen.location
    with app.app_context():
        assert db.session.scalars(select(User.feed_alarm)).one() is False  # nothing changed


def test_settings_list_the_sessions_and_sign_them_out(app, make_user, served):
    make_user()
    laptop, phone = Browser(served), Browser(served)
    laptop_token = laptop.login("learner@example.com", "/settings")
    phone.login("learner@example.com", "/settings")
    _, page = laptop.request("GET", "/settings/security")
    rows = re.findall(r'action="/settings/sessions/(\d+)/end"', page)
    assert len(rows) == 2 and " · this browser" in page
    with app.app_context():
        phone_id = max(db.session.scalars(select(LoginSession.id)))
    status, _ = laptop.request("POST", f"/settings/sessions/{phone_id}/end",
                               {"csrf_token": laptop_token})
    assert status == 302
    assert phone.request("GET", "/settings")[0] == 302 and "/login" in phone.location
    assert laptop.request("GET", "/settings")[0] == 200

    phone.login("learner@example.com", "/settings")
    status, _ = laptop.request("POST", "/settings/sessions/end-all", {"csrf_token": laptop_token})
    assert status == 302 and "/login" in laptop.location
    for browser in (laptop, phone):
        assert browser.request("GET", "/settings")[0] == 302
    assert session_rows(app) == 0


def test_another_learners_session_answers_404(app, make_user, served):
    make_user("one@example.com")
    make_user("two@example.com")
    one, two = Browser(served), Browser(served)
    one_token = one.login("one@example.com", "/settings")
    two.login("two@example.com", "/settings")
    with app.app_context():
        theirs = db.session.scalars(
            select(LoginSession.id).join(User).where(User.email == "two@example.com")).one()
    status, _ = one.request("POST", f"/settings/sessions/{theirs}/end", {"csrf_token": one_token})
    assert status == 404
    assert two.request("GET", "/settings")[0] == 200


def test_a_new_password_ends_the_other_sessions(app, make_user, served):
    make_user()
    here, there = Browser(served), Browser(served)
    token = here.login("learner@example.com", "/settings")
    there.login("learner@example.com", "/settings")
    new = "an entirely new passphrase"
    status, _ = here.request("POST", "/settings/password", {
        "csrf_token": token, "change-current": PASSWORD, "change-password": new,
        "change-confirm": new})
    assert status == 302
    assert here.request("GET", "/settings")[0] == 200
    assert there.request("GET", "/settings")[0] == 302 and "/login" in there.location
    assert session_rows(app) == 1


def test_a_deleted_accounts_links_die_with_it(app, make_user, served):
    gone_id = make_user("gone@example.com")
    with app.app_context():
        gone = db.session.get(User, gone_id)
        unsubscribe = unsubscribe_url(gone, "weekly").removeprefix("https://tracker.example")
        verify = "/verify/" + verification_token(gone, utcnow())
    browser = Browser(served)
    token = browser.login("gone@example.com", "/settings")
    status, _ = browser.request("POST", "/settings/delete",
                                {"csrf_token": token, "delete-password": PASSWORD})
    assert status == 302

    next_id = make_user("next@example.com")
    assert next_id != gone_id  # ids are never reused, on SQLite too (AUTOINCREMENT)
    stranger = Browser(served)
    for method in ("GET", "POST"):
        status, page = stranger.request(method, unsubscribe)
        assert status == 404 and "next@example.com" not in page
    assert stranger.request("GET", verify)[0] == 404
    with app.app_context():
        assert db.session.get(User, next_id).weekly_enabled is True


def test_a_link_page_shows_no_full_address(app, make_user, served):
    user_id = make_user("someone@example.com")
    with app.app_context():
        path = unsubscribe_url(db.session.get(User, user_id), "weekly").removeprefix(
            "https://tracker.example")
    status, page = Browser(served).request("GET", path)
    assert status == 200
    assert "someone@example.com" not in page and "s•••@example.com" in page
