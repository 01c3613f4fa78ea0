"""Email verification and password reset: signed links through the outbox, no enumeration."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, outbox_rows
from conftest import deliver_mail as deliver
from sqlalchemy import select

from tracker.accounts.tokens import (
    CHANGE_MAX_AGE,
    email_change_token,
    reset_token,
    verification_token,
)
from tracker.database import db
from tracker.mail.outbox import Counts
from tracker.models import Notification, User, utcnow

NEW_PASSWORD = "a much better passphrase"


def notifications(app, kind=None):
    rows = outbox_rows(app, **({"kind": kind} if kind else {}))
    return [(n.kind, n.user_id, n.dedupe_key, n.status) for n in rows]


def user_by_email(app, email):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        db.session.expunge(user)
        return user


def token_for(app, user_id, make, now):
    with app.app_context():
        return make(db.session.get(User, user_id), now)


def without_csrf(body):
    return re.sub(rb'name="([a-z]+-)?csrf_token" type="hidden" value="[^"]+"', b"CSRF", body)


def link_in(message, prefix):
    """Return the path of the one link to ``prefix`` in both the text and the HTML part."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    found = set(re.findall(rf"https://tracker\.example({prefix}[A-Za-z0-9_.\-]+)", text))
    assert len(found) == 1, text
    path = found.pop()
    assert f'href="https://tracker.example{path}"' in html
    return path


# Verification --------------------------------------------------------------------------


def test_signup_sends_a_verification_link_that_works(app, client, auth, smtp_server):
    response = auth.signup("new@example.com")
    assert response.status_code == 302 and response.location.endswith("/decide")
    banner = client.get("/decide").get_data(as_text=True).split('id="verify-banner"')[1]
    assert "We sent an email to <strong>new@example.com</strong>" in banner.split("</div>")[0]
    assert notifications(app) == [("verify", 1, "verify:1:1", "pending")]
    # The page only queues: the worker sends, so no page waits for SMTP or tells by its time.
    response.close()
    assert smtp_server.messages == []
    assert deliver(app).sent == 1
    [message] = smtp_server.by_recipient("new@example.com")
    assert notifications(app)[0][3] == "sent"
    assert message["Subject"] == "Confirm your email address for Roadmap Tracker"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"]
    assert "List-Unsubscribe" not in message  # not a subscription: no unsubscribe here
    path = link_in(message, "/verify/")

    assert user_by_email(app, "new@example.com").email_verified_at is None
    # Mail scanners open every link: opening it asks, and confirms nothing yet.
    for _ in range(3):
        page = client.get(path)
        assert page.status_code == 200 and "Confirm my address" in page.get_data(as_text=True)
    assert user_by_email(app, "new@example.com").email_verified_at is None
    page = client.submit(path)  # no login needed: the link is the proof
    assert page.status_code == 200 and "is confirmed" in page.get_data(as_text=True)
    verified_at = user_by_email(app, "new@example.com").email_verified_at
    assert verified_at is not None
    # Following it again says so and keeps the first confirmation time.
    assert "is confirmed" in client.get(path).get_data(as_text=True)
    assert client.submit(path).status_code == 200
    assert user_by_email(app, "new@example.com").email_verified_at == verified_at


def test_expired_verification_link(app, client, make_user):
    user_id = make_user(verified=False)
    token = token_for(app, user_id, verification_token, utcnow() - timedelta(days=3, minutes=1))
    response = client.get(f"/verify/{token}")
    assert response.status_code == 404
    assert "This confirmation link has expired" in response.get_data(as_text=True)
    assert user_by_email(app, "learner@example.com").email_verified_at is None
    # A day younger, it still works.
    token = token_for(app, user_id, verification_token, utcnow() - timedelta(days=2))
    assert client.submit(f"/verify/{token}").status_code == 200
    assert user_by_email(app, "learner@example.com").email_verified_at is not None


@pytest.mark.parametrize("damage", ["payload", "signature", "garbage", "reset-token"])
def test_tampered_verification_link(app, client, make_user, damage):
    user_id = make_user(verified=False)
    make_user("other@example.com", verified=False)
    now = utcnow()
    token = token_for(app, user_id, verification_token, now)
    payload, timestamp, signature = token.split(".")
    bad = {
        # Another account's id in the payload, under the first one's signature.
        "payload": payload.replace(payload[5], "A" if payload[5] != "A" else "B", 1)
        + f".{timestamp}.{signature}",
        "signature": f"{payload}.{timestamp}.{signature[:-3]}abc",
        "garbage": "not-a-token",
        "reset-token": token_for(app, user_id, reset_token, now),  # another salt
    }[damage]
    response = client.get(f"/verify/{bad}")
    assert response.status_code == 404
    assert "This confirmation link is not valid" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email_verified_at.is_not(None))) is None


def test_resend_queues_a_new_message_each_time(app, client, make_user, auth):
    make_user(verified=False)
    auth.login()
    dashboard = client.get("/decide")  # no plan yet; the banner is on the dashboard
    assert dashboard.status_code == 200
    for _ in range(2):
        response = client.submit("/resend-confirmation", {"next": "/settings"})
        assert response.status_code == 302 and response.location.endswith("/settings")
    assert [key for _, _, key, _ in notifications(app)] == ["verify:1:1", "verify:1:2"]
    assert "We sent a new confirmation link" in client.get("/settings").get_data(as_text=True)


def test_resend_needs_csrf_and_login(app, client, make_user, auth):
    make_user(verified=False)
    assert client.post("/resend-confirmation").status_code == 400  # CSRF first
    response = client.submit("/resend-confirmation")
    assert response.status_code == 302 and "/login" in response.location
    assert notifications(app) == []


def test_resend_for_a_confirmed_address_sends_nothing(app, client, make_user, auth):
    make_user()
    auth.login()
    client.submit("/resend-confirmation")
    assert notifications(app) == []
    assert "already confirmed" in client.get("/settings").get_data(as_text=True)


def test_verification_is_skipped_once_confirmed(app, make_user, smtp_server):
    user_id = make_user(verified=False)
    now = utcnow()
    with app.app_context():
        from tracker.accounts.emails import queue_verification

        queue_verification(db.session.get(User, user_id), now)
        db.session.get(User, user_id).email_verified_at = now
        db.session.commit()
    assert deliver(app).skipped == 1
    assert smtp_server.messages == []


def test_dashboard_banner_for_unconfirmed_addresses(app, client, make_user, make_plan, auth):
    user_id = make_user(verified=False)
    make_plan(user_id)
    auth.login()
    page = client.get("/dashboard").get_data(as_text=True)
    assert "We sent an email to <strong>learner@example.com</strong>" in page
    assert "reminders and the weekly email start then" in page
    assert 'action="/resend-confirmation"' in page
    with app.app_context():
        db.session.get(User, user_id).email_verified_at = utcnow()
        db.session.commit()
    assert 'id="verify-banner"' not in client.get("/dashboard").get_data(as_text=True)


# Sign-up without enumeration ------------------------------------------------------------


def test_signup_with_a_taken_address_looks_the_same(app, auth, smtp_server):
    # Two strangers sign up with the same address: each is signed in to a new account and
    # reads the same pages; only the address's owner learns, by mail, what happened.
    first_client, second_client = app.test_client(), app.test_client()
    answers = []
    for client, password in ((first_client, PASSWORD), (second_client, "a different password")):
        client_auth = type(auth)(client)
        response = client_auth.signup("someone@example.com", password=password)
        pages = [client.get(path).get_data() for path in ("/decide", "/settings", "/dashboard")]
        answers.append((response.status_code, response.location,
                        [without_csrf(page) for page in pages]))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (302, "/decide")
    assert [(k, u) for k, u, _, _ in notifications(app)] == [("verify", 1), ("account-exists", 1)]
    with app.app_context():  # the address stays its owner's; the second account has none
        users = db.session.scalars(select(User).order_by(User.id)).all()
        assert [(u.email, u.signup_email) for u in users] == [
            ("someone@example.com", None), (None, "someone@example.com")]
    # The owner's password is unchanged, and logging in finds the owner's account.
    assert auth.login("someone@example.com").status_code == 302
    assert auth.login("someone@example.com", "a different password").status_code == 400

    deliver(app)
    notice = smtp_server.by_recipient("someone@example.com")[-1]
    assert notice["Subject"] == "You already have a Roadmap Tracker account"
    text = notice.get_body(("plain",)).get_content()
    assert "https://tracker.example/login" in text and "https://tracker.example/reset" in text
    # "Resend confirmation" on the second account tells the owner, once an hour, never
    # sends a link: an account without the address can never confirm it.
    assert second_client.submit("/resend-confirmation").status_code == 302
    assert len(notifications(app, "account-exists")) == 1
    assert [k for k, *_ in notifications(app)].count("verify") == 1


def test_an_account_without_an_address_gets_no_mail_and_can_take_a_free_one(
        app, client, auth, make_user, make_plan, smtp_server):
    make_user("someone@example.com")
    auth.signup("someone@example.com", password="a different password")
    with app.app_context():
        shadow = db.session.scalar(select(User).where(User.email.is_(None)))
        shadow_id = shadow.id
        shadow.email_verified_at = utcnow()  # even were it confirmed somehow
        db.session.commit()
    make_plan(shadow_id, start=utcnow().date())
    with app.app_context():
        from tracker.jobs.worker import run_once

        for hours in range(0, 24 * 8, 6):  # a week of sweeps: due days, nudges, a weekly
            run_once(utcnow() + timedelta(hours=hours))
    # The owner hears once that someone signed up with the address, and of nothing after.
    assert [m["Subject"] for m in smtp_server.by_recipient("someone@example.com")] == [
        "You already have a Roadmap Tracker account"]
    assert not [n for n in notifications(app) if n[1] == shadow_id and n[3] == "sent"]
    # Settings: a free address of its own, confirmed by the link sent there.
    response = client.submit("/settings/email", {"address-email": "mine@example.com",
                                                 "address-current": "a different password"})
    assert response.status_code == 302
    deliver(app)
    path = link_in(smtp_server.by_recipient("mine@example.com")[-1], "/email/")
    client.submit(path)
    with app.app_context():
        user = db.session.get(User, shadow_id)
        assert (user.email, user.signup_email) == ("mine@example.com", None)


def test_an_account_nobody_can_reach_goes_after_30_days(app, client, auth, make_user):
    make_user("someone@example.com")
    auth.signup("someone@example.com", password="a different password")
    from tracker.jobs.worker import clean_up

    with app.app_context():
        assert clean_up(utcnow() + timedelta(days=31)) == 0  # still signed in somewhere
    auth.logout()
    with app.app_context():
        assert clean_up(utcnow() + timedelta(days=29)) == 0
        assert clean_up(utcnow() + timedelta(days=31)) == 1
        assert [u.email for u in db.session.scalars(select(User))] == ["someone@example.com"]


# Password reset -------------------------------------------------------------------------


def test_reset_happy_path(app, client, make_user, auth, smtp_server):
    make_user(verified=False)
    assert "Forgot your password?" in client.get("/login").get_data(as_text=True)
    assert client.get("/reset").status_code == 200
    response = client.submit("/reset", {"email": "Learner@example.com"})
    assert response.status_code == 200
    assert "If an account exists for" in response.get_data(as_text=True)
    assert deliver(app).sent == 1
    [message] = smtp_server.by_recipient("learner@example.com")
    assert message["Subject"] == "Reset your Roadmap Tracker password"
    path = link_in(message, "/reset/")

    form = client.get(path)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in form.headers["Cache-Control"]
    # Errors show by the field.
    page = client.submit(path, {"password": NEW_PASSWORD, "confirm": "something else"})
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    assert body.index('id="confirm-error"') > body.index('name="confirm"')
    assert "The two passwords differ." in body
    page = client.submit(path, {"password": "short", "confirm": "short"})
    assert page.status_code == 400 and "Use at least 10 characters." in page.get_data(as_text=True)

    response = client.submit(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    assert client.get("/settings").status_code == 200  # logged in
    user = user_by_email(app, "learner@example.com")
    assert user.email_verified_at is not None  # the link proved the address

    # The link is single-use: the password it was made for is gone.
    used = client.get(path)
    assert used.status_code == 404 and "This reset link is not valid" in used.get_data(as_text=True)
    again = {"password": "yet another password", "confirm": "yet another password"}
    assert client.submit(path, again).status_code == 404
    auth.logout()
    assert auth.login(password=PASSWORD).status_code == 400
    assert auth.login(password=NEW_PASSWORD).status_code == 302


def test_a_password_reset_ends_every_other_session(app, client, make_user, auth):
    # A stolen session cookie must die with the reset its owner makes in alarm.
    user_id = make_user()
    auth.login()
    other = app.test_client()  # the learner, on another device, resetting the password
    with app.app_context():
        path = f"/reset/{reset_token(db.session.get(User, user_id), utcnow())}"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      other.get(path).get_data(as_text=True)).group(1)
    response = other.post(path, data={"csrf_token": token, "password": NEW_PASSWORD,
                                      "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert other.get("/settings").status_code == 200  # the device that reset stays in
    response = client.get("/settings")
    assert response.status_code == 302 and "/login" in response.location


def test_a_session_with_another_mark_is_refused(app, client, make_user, auth):
    user_id = make_user()
    auth.login()
    assert client.get("/settings").status_code == 200
    for session_id in (str(user_id), f"{user_id}:0000000000000000", f"{user_id}:", "x:y"):
        with client.session_transaction() as session:
            session["_user_id"] = session_id
        assert client.get("/settings").status_code == 302, session_id


def test_reset_does_not_reveal_accounts(app, client, make_user, smtp_server):
    make_user("known@example.com")
    known = client.submit("/reset", {"email": "known@example.com"})
    unknown = client.submit("/reset", {"email": "unknown@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.data.replace(b"known@", b"X@") == unknown.data.replace(b"unknown@", b"X@")
    # The page queued the same for both; the worker finds which address has an account.
    assert [(k, u) for k, u, _, _ in notifications(app)] == [("reset", None), ("reset", None)]
    assert deliver(app) == Counts(sent=1, skipped=1)
    assert [m["To"] for m in smtp_server.messages] == ["known@example.com"]


def test_reset_form_errors(client):
    response = client.submit("/reset", {"email": "not an address"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'value="not an address"' in body and 'id="email-error"' in body


def test_expired_reset_link(app, client, make_user):
    user_id = make_user()
    old = token_for(app, user_id, reset_token, utcnow() - timedelta(hours=1, minutes=1))
    response = client.get(f"/reset/{old}")
    assert response.status_code == 404
    assert "This reset link has expired" in response.get_data(as_text=True)
    fresh = token_for(app, user_id, reset_token, utcnow() - timedelta(minutes=50))
    assert client.get(f"/reset/{fresh}").status_code == 200


@pytest.mark.parametrize("bad", ["garbage", "verify-token", "forged"])
def test_wrong_reset_link(app, client, make_user, bad):
    user_id = make_user()
    now = utcnow()
    token = {
        "garbage": "abc.def.ghi",
        "verify-token": token_for(app, user_id, verification_token, now),
        "forged": token_for(app, user_id, reset_token, now)[:-4] + "AAAA",
    }[bad]
    response = client.submit(f"/reset/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 404
    assert "This reset link is not valid" in response.get_data(as_text=True)
    assert client.get("/settings").status_code == 302  # not logged in


def test_reset_token_is_made_at_send_time(app, client, make_user, smtp_server):
    user_id = make_user()
    queued_at = utcnow() - timedelta(hours=3)  # e.g. the mail server was down meanwhile
    with app.app_context():
        from tracker.accounts.emails import queue_reset

        queue_reset(db.session.get(User, user_id).email, queued_at)
        db.session.commit()
        [n] = db.session.scalars(select(Notification)).all()
        assert n.payload == {"email": "learner@example.com"}  # no token in the database
    deliver(app)
    [message] = smtp_server.messages
    # Made at sending, the link has its full hour although the request is 3 hours old.
    assert client.get(link_in(message, "/reset/")).status_code == 200


def test_reset_is_rate_limited(app_config, request):
    app_config["RATELIMIT_ENABLED"] = True  # before the app is made
    client = request.getfixturevalue("client")
    form = {"email": "learner@example.com"}
    codes = [client.submit("/reset", form).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_resend_is_rate_limited_per_learner(app_config, request):
    app_config["RATELIMIT_ENABLED"] = True
    request.getfixturevalue("make_user")(verified=False)
    client = request.getfixturevalue("client")
    request.getfixturevalue("auth").login()
    codes = [client.submit("/resend-confirmation").status_code for _ in range(6)]
    assert codes == [302] * 5 + [429]


# Changing the address -------------------------------------------------------------------


def ask_for(client, email, password=PASSWORD):
    return client.submit("/settings/email", {"address-email": email, "address-current": password})


def test_changing_the_address_takes_a_link_to_the_new_one(app, client, make_user, auth,
                                                          smtp_server):
    user_id = make_user()
    auth.login()
    response = ask_for(client, "New@Example.com")
    assert response.status_code == 302
    page = client.get("/settings").get_data(as_text=True)
    assert "We sent a link to new@example.com." in page
    assert "until then it stays learner@example.com" in page
    assert deliver(app).sent == 1
    [message] = smtp_server.by_recipient("new@example.com")
    assert message["Subject"] == "Confirm your new address for Roadmap Tracker"
    assert user_by_email(app, "learner@example.com").id == user_id  # not moved yet

    path = link_in(message, "/email/")
    # Opening the link (as a mail scanner does, before the person) only asks.
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200 and "Change my address" in page.get_data(as_text=True)
    assert user_by_email(app, "learner@example.com").id == user_id  # still not moved
    page = client.submit(path)
    assert page.status_code == 200
    assert "Your account's address is now <strong>n•••@example.com</strong>" in page.get_data(
        as_text=True)
    moved = user_by_email(app, "new@example.com")
    assert moved.id == user_id and moved.email_verified_at is not None
    deliver(app)
    [notice] = smtp_server.by_recipient("learner@example.com")
    assert notice["Subject"] == "Your Roadmap Tracker address was changed"
    assert "now uses new@example.com" in notice.get_body(("plain",)).get_content()
    assert client.get(path).status_code == 404  # used: the account moved from that address
    assert client.submit(path).status_code == 404
    auth.logout()
    assert auth.login("learner@example.com").status_code == 400
    assert auth.login("new@example.com").status_code == 302


@pytest.mark.parametrize(("email", "password", "field", "message"), [
    ("", PASSWORD, "address-email", "Enter the new address."),
    ("not-an-address", PASSWORD, "address-email", "Enter an address like you@example.com."),
    ("LEARNER@example.com", PASSWORD, "address-email", "That is already your address."),
    ("new@example.com", "", "address-current", "Enter your current password."),
    ("new@example.com", "wrong", "address-current", "That is not your current password."),
])
def test_changing_the_address_shows_what_is_wrong_by_the_field(
    app, client, make_user, auth, email, password, field, message
):
    make_user()
    auth.login()
    response = ask_for(client, email, password)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(f'id="{field}-error" role="alert">' + re.escape(message), body)
    if email:
        assert f'value="{email}"' in body  # what was typed stays
    assert notifications(app, "email-change") == []


def test_an_address_of_another_account_gets_no_mail_and_the_same_answer(
    app, client, make_user, auth, smtp_server
):
    make_user()
    make_user("taken@example.com")
    auth.login()
    response = ask_for(client, "Taken@example.com")
    assert response.status_code == 302
    assert "We sent a link to taken@example.com." in client.get("/settings").get_data(as_text=True)
    assert notifications(app, "email-change") == []
    assert deliver(app).sent == 0


def test_a_link_to_an_address_taken_since_changes_nothing(app, client, make_user, auth,
                                                          smtp_server):
    user_id = make_user()
    auth.login()
    ask_for(client, "new@example.com")
    deliver(app)
    path = link_in(smtp_server.by_recipient("new@example.com")[0], "/email/")
    make_user("new@example.com")  # someone signed up with it in the meantime
    response = client.get(path)
    assert response.status_code == 409
    assert "Another account uses <strong>new@example.com</strong>" in response.get_data(
        as_text=True)
    assert user_by_email(app, "learner@example.com").id == user_id


def test_an_expired_or_broken_change_link(app, client, make_user):
    user_id = make_user()

    def link_made(now):
        return token_for(app, user_id,
                         lambda user, now: email_change_token(user, "new@example.com", now), now)

    response = client.get(f"/email/{link_made(utcnow() - CHANGE_MAX_AGE - timedelta(minutes=1))}")
    assert response.status_code == 404 and "has expired" in response.get_data(as_text=True)
    response = client.get(f"/email/{link_made(utcnow())[:-3]}")
    assert response.status_code == 404 and "not valid" in response.get_data(as_text=True)
    assert user_by_email(app, "learner@example.com").id == user_id
