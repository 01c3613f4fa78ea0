"""Sign-up, log-in, log-out: hashing, cookies, enumeration, rate limits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tracker.database import db
from tracker.models import User


def test_signup_stores_a_scrypt_hash_and_lowercases_email(app, auth):
    response = auth.signup("Learner@Example.COM", "a long enough password")
    assert response.status_code == 302 and response.location.endswith("/decide")  # signed in
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.email == "learner@example.com"
        assert user.password_hash.startswith("scrypt:")
        assert "a long enough password" not in user.password_hash


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", "a long enough password", "Invalid email address."),
        ("learner@example.com", "short", "Use at least 10 characters."),
        ("", "a long enough password", "This field is required."),
    ],
)
def test_signup_errors_keep_the_email(client, email, password, message):
    response = client.submit("/signup", {"email": email, "password": password})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    if email:
        assert f'value="{email}"' in page
    assert 'type="password"' in page and f'value="{password}"' not in page  # never echoed


def test_login_logout(client, auth, make_user):
    make_user()
    response = auth.login()
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    assert client.get("/dashboard").status_code == 302  # no plan yet: off to the decision flow
    auth.logout()
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.location


def test_login_does_not_say_which_part_was_wrong(auth, make_user):
    make_user()
    wrong_password = auth.login(password="not the password").get_data(as_text=True)
    no_account = auth.login(email="nobody@example.com", password="not the password").get_data(
        as_text=True
    )
    assert "Email or password is incorrect." in wrong_password
    assert "Email or password is incorrect." in no_account


def test_login_redirects_only_to_local_paths(client, make_user):
    make_user()
    data = {"email": "learner@example.com", "password": "correct horse battery"}
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        response = client.submit(f"/login?next={target}", data)
        assert response.location.endswith("/dashboard"), target
        client.submit("/logout")
    client.submit("/logout")
    response = client.submit("/login?next=/decide", data)
    assert response.location.endswith("/decide")


def test_session_cookie_is_secure_httponly_lax(client, make_user):
    make_user()
    response = client.submit(
        "/login", {"email": "learner@example.com", "password": "correct horse battery"}
    )
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture
def app_config(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    return app_config


@pytest.mark.parametrize(("spread", "allowed"), [(False, 10), (True, 20)])
def test_login_is_rate_limited(client, make_user, spread, allowed):
    # Per address, and per account: a guesser spread over many addresses meets the second.
    make_user()
    token = client.csrf_token()
    codes = [
        client.post(
            "/login",
            data={"csrf_token": token, "email": " Learner@Example.com", "password": "wrong"},
            environ_base={"REMOTE_ADDR": f"192.0.2.{n}" if spread else "192.0.2.1"},
        ).status_code
        for n in range(allowed + 2)
    ]
    assert codes == [400] * allowed + [429, 429]


def test_an_app_wide_limit_set_by_an_operator_applies_to_every_page(app_config, request):
    app_config["RATELIMIT_DEFAULT"] = "3 per minute"
    from tracker.extensions import limiter

    # The limiter is one object for every app: the next app must not inherit the limit.
    request.addfinalizer(lambda: limiter.limit_manager.set_default_limits([]))
    client = request.getfixturevalue("client")
    assert [client.get("/").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_signup_racing_another_signup_answers_like_a_taken_address(app, client, make_user):
    # Sign-up does not look first: it adds the account, and the unique address refuses it
    # when another request took the address, however recently. That answer is the taken one.
    from tracker.models import Notification

    make_user("racer@example.com")
    response = client.submit(
        "/signup", {"email": "racer@example.com", "password": "a long enough password"}
    )
    assert response.status_code == 302 and response.location.endswith("/decide")
    with app.app_context():
        kinds = db.session.scalars(select(Notification.kind)).all()
        assert [u.email for u in db.session.scalars(select(User).order_by(User.id))] == [
            "racer@example.com", None]
        assert kinds == ["account-exists"]


def test_signup_keeps_the_time_zone_the_browser_suggested(app, client):
    page = client.get("/signup").get_data(as_text=True)
    assert 'list="zones"' in page and "timezone.js" in page  # suggested, and searchable
    client.submit("/signup", {"email": "kolkata@example.com", "password": "a long enough one",
                              "timezone": "Asia/Kolkata"})
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "kolkata@example.com"))
        assert user.timezone == "Asia/Kolkata"
    response = client.submit("/signup", {"email": "mars@example.com",
                                         "password": "a long enough one",
                                         "timezone": "Mars/Olympus_Mons"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Unknown time zone" in page
    assert 'value="mars@example.com"' in page and 'value="Mars/Olympus_Mons"' in page
