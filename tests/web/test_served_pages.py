"""The pages' promises, asked of gunicorn with two workers as a browser or an attacker would."""

from __future__ import annotations

from urllib.parse import quote

from conftest import CSRF, PASSWORD, Browser
from sqlalchemy import select

from tracker.database import db
from tracker.models import Milestone


def test_next_never_leaves_the_site(app, make_user, served):
    make_user()
    for target in ("/\t/evil.example", "/\r\n/evil.example", "//evil.example",
                   "/\\evil.example", "https://evil.example"):
        browser = Browser(served)
        _, page = browser.request("GET", "/login")
        status, _ = browser.request(
            "POST", f"/login?next={quote(target, safe='')}",
            {"email": "learner@example.com", "password": PASSWORD,
             "csrf_token": CSRF.search(page).group(1)})
        assert status == 302 and browser.location == "/dashboard", target


def test_private_pages_carry_no_store(app, learner, served):
    browser = Browser(served)
    browser.login("learner@example.com")
    with app.app_context():
        first = db.session.scalars(select(Milestone.id).order_by(Milestone.id)).first()
    for path in ("/dashboard", "/settings", f"/milestones/{first}", "/replan", "/decide"):
        status, _ = browser.request("GET", path)
        assert status == 200 and browser.headers["Cache-Control"] == "no-store", path


def test_ids_past_64_bits_answer_404(app, learner, served):
    browser = Browser(served)
    token = browser.login("learner@example.com")
    for number in ("99999999999999999999", "9223372036854775808"):
        assert browser.request("GET", f"/milestones/{number}")[0] == 404
        for action in ("done", "undo"):
            status, _ = browser.request("POST", f"/milestones/{number}/{action}",
                                        {"csrf_token": token})
            assert status == 404, (number, action)
