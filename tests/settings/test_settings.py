"""The settings, in sections (profile, schedule and mail, calendar feed, security, your data),
and one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from conftest import PASSWORD, AuthActions, deliver_mail
from sqlalchemy import func as sa_func
from sqlalchemy import select

from tracker.accounts.tokens import unsubscribe_url
from tracker.database import db
from tracker.jobs.composers import COMPOSERS
from tracker.mail import outbox
from tracker.mail.delivery import deliver
from tracker.models import FeedCache, Milestone, Notification, Plan, User

PROFILE = {"timezone": "Europe/Berlin", "theme": "auto"}
GOOD = {
    "reminder_time": "07:30",
    "nudge_days": "0",
    "weekly_enabled": "y",
    "weekly_weekday": "4",
    "weekly_time": "18:15",
}


def get_user(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


@pytest.fixture
def signed_in(make_user, auth):
    user_id = make_user()
    auth.login()
    return user_id


def test_settings_need_login(client):
    response = client.get("/settings")
    assert response.status_code == 302 and "/login" in response.location


def input_tag(page, name):
    match = re.search(rf'<input[^>]* name="{name}"[^>]*>', page)
    assert match, f"no input {name}"
    return match.group(0)


def test_settings_show_current_values(client, signed_in):
    page = client.get("/settings").get_data(as_text=True)
    assert 'value="UTC"' in input_tag(page, "timezone")
    assert 'list="zones"' in input_tag(page, "timezone")  # a list to search, as you type
    assert '<option value="Europe/Berlin">' in page and '<option value="US/Eastern">' not in page
    page = client.get("/settings/mail").get_data(as_text=True)
    assert 'type="time" value="08:00"' in input_tag(page, "reminder_time")
    assert 'type="number" value="2"' in input_tag(page, "nudge_days")
    assert "checked" in input_tag(page, "due_reminders")
    assert '<option selected value="0">Monday</option>' in page
    assert "confirmed" in page and "No failed or expired deliveries." in page


def test_each_section_is_a_page_of_its_own_with_its_own_save(client, signed_in):
    buttons = {"/settings": ["Save profile", "Change address"],
               "/settings/mail": ["Save email settings"],
               "/settings/calendar": ["Save calendar alarm"],
               "/settings/security": ["Change password", "Sign out everywhere"],
               "/settings/data": ["Import"]}
    for path, saves in buttons.items():
        page = client.get(path).get_data(as_text=True)
        menu = page.split('aria-label="Settings sections"')[1].split("</nav>")[0]
        assert menu.count("<li>") == 5 and f'href="{path}" aria-current="page"' in menu
        assert all(save in page for save in saves), path
        others = [s for p, ss in buttons.items() if p != path for s in ss]
        assert not any(f">{other}</button>" in page for other in others), path
    assert client.get("/settings/nothing").status_code == 404


def test_save_profile(app, client, signed_in):
    response = client.submit("/settings/profile", PROFILE)
    assert response.status_code == 302 and response.location.endswith("/settings")
    assert get_user(app, signed_in).timezone == "Europe/Berlin"
    assert "Profile saved." in client.get("/settings").get_data(as_text=True)
    response = client.submit("/settings/profile", {**PROFILE, "timezone": "Mars/Olympus_Mons"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and page.count("Unknown time zone") == 2
    assert 'value="Mars/Olympus_Mons"' in input_tag(page, "timezone")
    assert get_user(app, signed_in).timezone == "Europe/Berlin"


def test_save_settings(app, client, signed_in):
    response = client.submit("/settings", GOOD)
    assert response.status_code == 302 and response.location.endswith("/settings/mail")
    user = get_user(app, signed_in)
    assert user.reminder_time == time(7, 30)
    assert user.due_reminders is False  # an unticked box is not sent at all
    assert user.nudge_days == 0
    assert user.weekly_enabled is True
    assert (user.weekly_weekday, user.weekly_time) == (4, time(18, 15))
    assert "Email settings saved." in client.get("/settings/mail").get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("reminder_time", "25:61", "Enter a time like 08:00"),
        ("weekly_time", "noon", "Enter a time like 08:00"),
        ("nudge_days", "15", "from 0 to 14"),
        ("nudge_days", "-1", "from 0 to 14"),
        ("nudge_days", "two", "from 0 to 14"),
    ],
)
def test_errors_keep_the_entered_values(app, client, signed_in, field, value, message):
    response = client.submit("/settings", {**GOOD, field: value})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    # The message sits right after the field and in the summary at the top, which links to
    # the field; the input keeps what was typed.
    assert page.count(message) == 2
    assert page.index(f'<li><a href="#{field}">') < page.index("<h1>")
    error_at = page.index(f'id="{field}-error"')
    assert page.rindex(f'name="{field}"', 0, error_at) > page.rindex("<label", 0, error_at)
    assert f'value="{value}"' in input_tag(page, field)
    # The other fields keep their entered values too.
    for other in ("reminder_time", "nudge_days", "weekly_time"):
        if other != field:
            assert f'value="{GOOD[other]}"' in input_tag(page, other)
    assert "checked" not in input_tag(page, "due_reminders")
    assert get_user(app, signed_in).reminder_time == time(8)  # nothing saved


def test_mail_status_shows_last_sends_and_failures(app, client, make_user, auth):
    user_id = make_user(timezone="Asia/Kolkata")
    auth.login()
    sent_at = datetime(2027, 1, 4, 2, 30, tzinfo=UTC)
    with app.app_context():
        for kind, key, status, error in [
            ("due", "due:1", "sent", ""),
            ("weekly", "weekly:1", "failed", "SMTP 550: mailbox unavailable"),
        ]:
            outbox.queue(db.session, user_id=user_id, kind=kind, dedupe_key=key, due_at=sent_at,
                         now=sent_at)
            n = db.session.scalars(select(Notification).where(Notification.dedupe_key == key)).one()
            n.status, n.last_error, n.attempts = status, error, 8
            n.sent_at = sent_at if status == "sent" else None
        db.session.commit()
    page = client.get("/settings/mail").get_data(as_text=True)
    # 02:30 UTC is 08:00 in Kolkata: times show in the learner's zone.
    last = page.split('id="last-reminder"')[1].split("</dd>")[0]
    assert '<time datetime="2027-01-04">Mon, 4 Jan 2027</time>, 08:00 (Asia/Kolkata)' in last
    failures = page.split('id="mail-failures"')[1].split("</table>")[0]
    assert "SMTP 550: mailbox unavailable" in failures and "Weekly progress email" in failures


def test_unverified_address_offers_resend(client, make_user, auth):
    make_user(verified=False)
    auth.login()
    page = client.get("/settings/mail").get_data(as_text=True)
    assert "not confirmed" in page and "Resend confirmation" in page


def test_study_days_are_shown(client, signed_in, make_plan):
    make_plan(signed_in, study_days=(0, 2, 5))
    page = client.get("/settings/mail").get_data(as_text=True)
    assert "Monday, Wednesday, Saturday" in page and "Change your study days" in page


def test_settings_link_in_the_navigation(client, signed_in):
    page = client.get("/settings").get_data(as_text=True)
    nav = page.split('aria-label="Main"')[1].split("</nav>")[0]
    assert nav.index("Settings") < nav.index("Log out")


# One-click unsubscribe -----------------------------------------------------------------


def url_of(app, user_id, stream):
    with app.app_context():
        url = unsubscribe_url(db.session.get(User, user_id), stream)
    assert url.startswith("https://tracker.example/unsubscribe/")
    return url.removeprefix("https://tracker.example")


STREAM_OFF = {
    "due": lambda u: u.due_reminders is False,
    "nudge": lambda u: u.nudge_days == 0,
    "weekly": lambda u: u.weekly_enabled is False,
}


@pytest.mark.parametrize("stream", sorted(STREAM_OFF))
def test_one_click_post_needs_no_cookies(app, make_user, stream):
    user_id = make_user()
    path = url_of(app, user_id, stream)
    client = app.test_client(use_cookies=False)  # a mail client: no session, no CSRF token
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200  # not a redirect
    assert "Set-Cookie" not in response.headers
    assert "You are unsubscribed" in response.get_data(as_text=True)
    user = get_user(app, user_id)
    for name, is_off in STREAM_OFF.items():
        assert is_off(user) == (name == stream)  # only that stream
    # Once more is harmless.
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_get_only_asks(app, make_user):
    user_id = make_user()
    path = url_of(app, user_id, "weekly")
    response = app.test_client().get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<form method="post">' in page and "Unsubscribe from the weekly progress email" in page
    assert get_user(app, user_id).weekly_enabled is True


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_token_is_a_clear_400(app, make_user, method):
    user_id = make_user()
    path = url_of(app, user_id, "due")
    prefix, token = path.rsplit("/", 1)
    payload, signature = token.split(".")
    # Change the signed content (another user), keep the signature; and plain garbage.
    forged = f"{prefix}/{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    client = app.test_client(use_cookies=False)
    for bad in (forged, f"{prefix}/nonsense", path + "x"):
        response = getattr(client, method)(bad)
        assert response.status_code == 404
        assert "This unsubscribe link is not valid" in response.get_data(as_text=True)
    assert get_user(app, user_id).due_reminders is True


def test_token_is_bound_to_its_purpose(app, make_user):
    user_id = make_user(verified=False)
    from tracker.accounts.tokens import verification_token

    with app.app_context():
        other = verification_token(db.session.get(User, user_id), datetime.now(UTC))
    assert app.test_client().post(f"/unsubscribe/{other}").status_code == 404


# -- deleting the account -------------------------------------------------------------------

def rows_of(app, user_id):
    """Count what the database still holds of a learner, table by table."""
    mine = {
        "user": select(User.id).where(User.id == user_id),
        "plan": select(Plan.id).where(Plan.user_id == user_id),
        "milestone": select(Milestone.id).join(Plan).where(Plan.user_id == user_id),
        "notification": select(Notification.id).where(Notification.user_id == user_id),
        "feed_cache": select(FeedCache.user_id).where(FeedCache.user_id == user_id),
    }
    with app.app_context():
        return {table: db.session.scalar(select(sa_func.count()).select_from(query.subquery()))
                for table, query in mine.items()}


def test_deleting_the_account_removes_everything_and_logs_out(
    app, client, signed_in, make_user, make_plan, smtp_server
):
    from tracker.calendar.tokens import feed_token

    make_plan(signed_in)
    other = make_user("other@example.com")
    make_plan(other)
    with app.app_context():
        feed = f"/calendar/{feed_token(db.session.get(User, signed_in))}.ics"
        monday = datetime(2027, 1, 4, tzinfo=UTC)
        for user_id in (signed_in, other):
            outbox.queue(db.session, user_id=user_id, kind="reset", due_at=monday, now=monday,
                         dedupe_key=f"reset:{user_id}:test", payload={})
        db.session.commit()
    assert client.get(feed).status_code == 200  # the feed is cached now
    assert all(rows_of(app, signed_in).values())
    others = rows_of(app, other)

    response = client.submit("/settings/delete", {"delete-password": PASSWORD})
    assert response.status_code == 302 and response.location.endswith("/")
    assert "Your account and all its data are deleted." in client.get("/").get_data(as_text=True)
    assert rows_of(app, signed_in) == dict.fromkeys(rows_of(app, signed_in), 0)
    assert rows_of(app, other) == others  # another learner keeps everything
    assert client.get("/settings").status_code == 302  # logged out
    assert client.get(feed).status_code == 404
    assert "incorrect" in client.submit(
        "/login", {"email": "learner@example.com", "password": PASSWORD}
    ).get_data(as_text=True)
    with app.app_context():
        deliver(datetime(2027, 1, 5, tzinfo=UTC), COMPOSERS)
    assert [m["To"] for m in smtp_server.messages] == ["other@example.com"]


@pytest.mark.parametrize(("password", "message"), [
    ("", "Enter your password to delete your account."),
    ("not my password", "That is not your password."),
])
def test_deleting_needs_the_password(app, client, signed_in, password, message):
    response = client.submit("/settings/delete", {"delete-password": password})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'id="delete-password-error" role="alert">' + re.escape(message), page)
    assert 'id="what-stops"' in page  # the confirmation again, saying what would go
    assert rows_of(app, signed_in)["user"] == 1
    assert client.get("/settings").status_code == 200  # still logged in


def test_deleting_needs_csrf_and_login(app, client, make_user, auth):
    user_id = make_user()
    assert client.submit("/settings/delete", {"delete-password": PASSWORD}).status_code == 302
    auth.login()
    response = client.post("/settings/delete", data={"delete-password": PASSWORD})
    assert response.status_code == 400  # no CSRF token
    assert rows_of(app, user_id)["user"] == 1


def test_deleting_asks_first_and_says_what_stops(client, signed_in):
    security = client.get("/settings/security").get_data(as_text=True)
    assert 'href="/settings/delete"' in security and 'name="delete-password"' not in security
    page = client.get("/settings/delete").get_data(as_text=True)
    stops = page.split('id="what-stops"')[1].split("</ul>")[0]
    assert "calendar address stops working" in stops and "no more email" in stops
    assert 'name="delete-password"' in page and 'href="/settings/security">Cancel' in page


def test_a_new_calendar_address_asks_first_and_says_what_stops(app, client, signed_in):
    first = get_user(app, signed_in).feed_token_hash
    assert first is not None
    card = client.get("/settings/calendar").get_data(as_text=True)
    assert 'href="/settings/calendar/new-address"' in card
    assert 'action="/calendar/rotate"' not in card  # no one-click way to break subscriptions
    page = client.get("/settings/calendar/new-address").get_data(as_text=True)
    assert "stops updating" in page.split('id="what-stops"')[1]
    assert get_user(app, signed_in).feed_token_hash == first  # asking changed nothing
    response = client.submit("/calendar/rotate", {"next": "/settings/calendar"})
    assert response.location.endswith("/settings/calendar")
    assert get_user(app, signed_in).feed_token_hash != first


def test_without_a_calendar_address_there_is_nothing_to_confirm(app, client, signed_in):
    with app.app_context():
        db.session.get(User, signed_in).feed_token_hash = None
        db.session.commit()
    assert client.get("/settings/calendar/new-address").location.endswith("/settings/calendar")
    assert "Create my calendar address" in client.get("/settings/calendar").get_data(as_text=True)


# -- changing the password ------------------------------------------------------------------

NEW_PASSWORD = "a much better passphrase"


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.submit("/settings/password", {
        "change-current": current, "change-password": new,
        "change-confirm": new if confirm is None else confirm,
    })


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, client, signed_in, auth):
    other = app.test_client()  # the same learner on another device
    AuthActions(other).login()
    assert other.get("/settings").status_code == 200

    response = change(client)
    assert response.status_code == 302 and response.location.endswith("/settings/security")
    page = client.get("/settings/security")
    assert page.status_code == 200 and "Your password is changed." in page.get_data(as_text=True)
    assert other.get("/settings").status_code == 302  # logged out
    auth.logout()
    assert auth.login(password=PASSWORD).status_code == 400
    assert auth.login(password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(("fields", "field_id", "message"), [
    ({"current": ""}, "change-current", "Enter your current password."),
    ({"current": "not my password"}, "change-current", "That is not your current password."),
    ({"new": "short"}, "change-password", "Use at least 10 characters."),
    ({"confirm": "something else"}, "change-confirm", "The two passwords differ."),
])
def test_changing_the_password_shows_what_is_wrong_by_the_field(
    app, client, signed_in, fields, field_id, message
):
    response = change(client, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(f'id="{field_id}-error" role="alert">' + re.escape(message), page)
    assert "not my password" not in page and NEW_PASSWORD not in page  # never echoed back
    assert client.get("/settings").status_code == 200  # still logged in, password as before
    with app.app_context():
        from werkzeug.security import check_password_hash

        assert check_password_hash(db.session.get(User, signed_in).password_hash, PASSWORD)


def test_password_checks_are_limited_per_learner(app_config, request):
    app_config["RATELIMIT_ENABLED"] = True
    make_user, client = request.getfixturevalue("make_user"), request.getfixturevalue("client")
    make_user()
    assert client.submit("/settings/delete", {"delete-password": "guess"}).status_code == 302
    AuthActions(client).login()
    codes = [change(client, current=f"guess {n}").status_code for n in range(6)]
    codes += [client.submit("/settings/delete", {"delete-password": "guess"}).status_code
              for _ in range(5)]
    assert codes == [400] * 10 + [429]


def test_a_reminder_that_expired_undelivered_shows(app, client, signed_in, smtp_server):
    monday = datetime(2027, 1, 4, 8, tzinfo=UTC)
    with app.app_context():
        outbox.queue(db.session, user_id=signed_in, kind="due", dedupe_key="due:expired",
                     due_at=monday, now=monday, expires_at=monday + timedelta(hours=12))
        db.session.commit()
    with smtp_server.down():
        deliver_mail(app, monday)  # the server is away, and stays away past the grace
    deliver_mail(app, monday + timedelta(hours=13))
    page = client.get("/settings/mail").get_data(as_text=True)
    assert 'id="mail-failures"' in page and "expired before it could be sent" in page


def test_the_colour_scheme_is_saved_and_set_on_every_page(app, client, signed_in):
    assert 'data-theme' not in client.get("/dashboard").get_data(as_text=True)
    response = client.submit("/settings/profile", {**PROFILE, "theme": "dark"})
    assert response.status_code == 302
    assert '<html lang="en" data-theme="dark">' in client.get("/settings").get_data(as_text=True)
    assert get_user(app, signed_in).theme == "dark"
    response = client.submit("/settings/profile", {**PROFILE, "theme": "purple"})
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    assert get_user(app, signed_in).theme == "dark"
