"""The feed over HTTP: tokens, rotation, caching, conditional GET, download, settings."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import icalendar
import pytest
from conftest import PLANNED_AT, Learner
from flask import Flask, render_template_string
from flask_login import login_user
from ical_checks import check_bytes, check_parsers
from sqlalchemy import select
from werkzeug.http import http_date, parse_date

from tracker.accounts.sessions import new_account
from tracker.calendar import feed, polls
from tracker.calendar.card import calendar_card
from tracker.calendar.tokens import feed_token
from tracker.database import db
from tracker.models import FeedCache, Milestone, Plan, User
from tracker.plans import changes

PAST = PLANNED_AT  # plans made before the tests run

def tick(milestone: Any, **fields: Any) -> None:
    """Tick a milestone off as the app does: a statement on the session's connection."""
    fields.setdefault("today", fields["now"].date())
    assert changes.tick(db.session.connection(), milestone.id, milestone.plan.user_id, **fields)
    db.session.expire_all()  # the row changed under the loaded objects



def feed_path(app: Flask, user_id: int) -> str:
    with app.app_context():
        token = feed_token(db.session.get(User, user_id))
    assert token
    return f"/calendar/{token}.ics"


def events(body: bytes) -> list[icalendar.Event]:
    return icalendar.Calendar.from_ical(body).walk("VEVENT")


def milestone_ids(app: Flask, user_id: int) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(
            select(Milestone.id).join(Plan).where(Plan.user_id == user_id)
            .order_by(Milestone.position)))


# -- tokens -------------------------------------------------------------------------------

def test_every_account_gets_a_token_stored_only_as_a_hash(app: Flask, make_user: Any) -> None:
    user_id = make_user()
    with app.app_context():
        user = db.session.get(User, user_id)
        token = feed_token(user)
        assert token and re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        assert len(base64.urlsafe_b64decode(token + "=")) == 32  # 256 bits
        assert user.feed_token_hash == hashlib.sha256(token.encode()).hexdigest()
        row = db.session.execute(select(User.__table__)).one()
        assert all(token not in str(value) for value in row)
        # Another account, another token.
        other = new_account("other@example.com", "!", PAST)
        db.session.commit()
        assert feed_token(other) not in (None, token)


def test_feed(app: Flask, client: Any, learner: Learner) -> None:
    response = client.get(feed_path(app, learner.id))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "Content-Disposition" not in response.headers
    body = response.data
    assert response.headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()[:32]}"'  # strong
    assert response.headers["Last-Modified"] == http_date(PAST)
    assert "private" in response.headers["Cache-Control"]
    check_bytes(body)
    check_parsers(body)
    with app.app_context():
        plan = db.session.scalars(select(Plan)).one()
        expected = [(m.uid, m.due_date) for m in plan.milestones]
    assert [(str(e["uid"]), e.start) for e in events(body)] == expected
    assert "NAME:Roadmap Tracker: Start with Go" in body.decode()


@pytest.mark.parametrize("headers", [
    {},
    {"User-Agent": "Google-Calendar-Importer"},
    {"User-Agent": "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.1)",
     "Accept": "*/*"},
    {"User-Agent": "iOS/17.0 (21A329) dataaccessd/1.0", "Accept": "text/html"},
    {"User-Agent": "Mozilla/5.0 Thunderbird/115.0", "Accept": "application/json"},
])
def test_any_client_gets_the_feed(app: Flask, client: Any, learner: Learner,
                                  headers: dict[str, str]) -> None:
    path = feed_path(app, learner.id)
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert response.data.startswith(b"BEGIN:VCALENDAR\r\n")


def test_unknown_malformed_and_rotated_tokens_are_the_same_404(
        app: Flask, client: Any, auth: Any, learner: Learner) -> None:
    old = feed_path(app, learner.id)
    auth.login()
    assert client.submit("/calendar/rotate", {"next": "/settings"}).status_code == 302
    new = feed_path(app, learner.id)
    assert new != old
    assert client.get(new).status_code == 200
    answers = [client.get(path) for path in (
        old,  # rotated
        "/calendar/" + "A" * 43 + ".ics",  # well-formed, unknown
        "/calendar/" + old[10:-4].swapcase() + ".ics",
        "/calendar/short.ics",
        "/calendar/" + "x" * 44 + ".ics",
        "/calendar/%00" + "x" * 42 + ".ics",
        "/calendar/" + old[10:-4] + "=.ics",
    )]
    assert {r.status_code for r in answers} == {404}
    assert len({r.data for r in answers}) == 1
    assert client.head(old).status_code == 404


def test_rotate_needs_login_and_csrf(app: Flask, client: Any, auth: Any, learner: Learner) -> None:
    path = feed_path(app, learner.id)
    response = client.submit("/calendar/rotate")
    assert response.status_code == 302 and "/login" in response.location
    auth.login()
    assert client.post("/calendar/rotate").status_code == 400  # no CSRF token
    assert feed_path(app, learner.id) == path
    assert client.get(path).status_code == 200


def test_rotate_issues_a_token_to_an_account_without_one(app: Flask, client: Any, auth: Any,
                                                         learner: Learner) -> None:
    with app.app_context():
        user = db.session.get(User, learner.id)
        user.feed_token_hash = user.feed_token_salt = None
        db.session.commit()
    auth.login()
    response = client.submit("/calendar/rotate", {"next": "/dashboard"})
    assert response.location.endswith("/dashboard")
    assert client.get(feed_path(app, learner.id)).status_code == 200


def test_head(app: Flask, client: Any, learner: Learner) -> None:
    path = feed_path(app, learner.id)
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Length"] == str(len(get.data))
    for name in ("Content-Type", "ETag", "Last-Modified", "Cache-Control"):
        assert head.headers[name] == get.headers[name]


# -- conditional GET ----------------------------------------------------------------------

def test_conditional_get(app: Flask, client: Any, learner: Learner) -> None:
    path = feed_path(app, learner.id)
    first = client.get(path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    at = parse_date(modified)
    assert at is not None
    cases: list[tuple[dict[str, str], int]] = [
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": f'"stale", {etag}'}, 304),
        ({"If-None-Match": f"W/{etag}"}, 304),  # If-None-Match compares weakly
        ({"If-None-Match": '"stale"'}, 200),
        ({"If-None-Match": ""}, 200),
        ({"If-None-Match": '"stale"', "If-Modified-Since": modified}, 200),  # INM wins
        ({"If-None-Match": etag, "If-Modified-Since": http_date(at - timedelta(days=1))}, 304),
        ({"If-Modified-Since": modified}, 304),
        ({"If-Modified-Since": http_date(at + timedelta(hours=1))}, 304),
        ({"If-Modified-Since": http_date(at - timedelta(seconds=1))}, 200),
        ({"If-Modified-Since": http_date(datetime.now(UTC) + timedelta(days=2))}, 200),  # future
        ({"If-Modified-Since": "yesterday"}, 200),
        ({"If-Modified-Since": "Sun, 99 Foo 2025 25:61:61 GMT"}, 200),
        ({"If-Modified-Since": ""}, 200),
    ]
    for headers, status in cases:
        response = client.get(path, headers=headers)
        assert response.status_code == status, headers
        assert response.headers["ETag"] == etag, headers
        assert response.headers["Last-Modified"] == modified, headers
        if status == 304:
            assert response.data == b"", headers
            assert "Content-Type" not in response.headers
        else:
            assert response.data == first.data, headers
    head = client.head(path, headers={"If-None-Match": etag})
    assert head.status_code == 304 and head.headers["ETag"] == etag


def test_no_change_means_identical_bytes_and_no_rebuild(
        app: Flask, client: Any, learner: Learner, monkeypatch: pytest.MonkeyPatch) -> None:
    path = feed_path(app, learner.id)
    first = client.get(path)

    def rebuild(*_args: Any) -> bytes:
        raise AssertionError("rebuilt although nothing changed")

    monkeypatch.setattr(feed, "calendar_bytes", rebuild)
    again = client.get(path)
    assert again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_the_fast_path_answers_like_the_view(app: Flask, client: Any, learner: Learner,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = feed_path(app, learner.id)
    etag = client.get(path).headers["ETag"]
    requests = [("GET", {}), ("HEAD", {}), ("GET", {"If-None-Match": etag}),
                ("GET", {"If-Modified-Since": "garbage"}), ("GET", {"If-None-Match": '"x"'})]

    def answers() -> list[tuple[int, dict[str, str], bytes]]:
        out = []
        for method, headers in requests:
            r = client.open(path, method=method, headers=headers)
            out.append((r.status_code, {k: v for k, v in r.headers if k != "Vary"}, r.data))
        return out

    view = app.view_functions["calendar.feed"]
    calls: list[str] = []
    monkeypatch.setitem(app.view_functions, "calendar.feed",
                        lambda token: calls.append(token) or view(token))
    fast = answers()
    assert calls == []  # all answered in front of Flask
    assert isinstance(app.wsgi_app, polls.FastPolls)
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app.wsgi_app)  # the view alone
    assert answers() == fast
    assert len(calls) == len(requests)


# -- changes show up on the next poll -----------------------------------------------------

def test_tick_and_undo_show_on_the_next_poll(app: Flask, client: Any, auth: Any,
                                             learner: Learner) -> None:
    path = feed_path(app, learner.id)
    first = client.get(path)
    etag = first.headers["ETag"]
    first_id = milestone_ids(app, learner.id)[0]
    auth.login()
    client.submit(f"/milestones/{first_id}/done", {"note": "Wrote wc; tested it, too."})

    ticked = client.get(path, headers={"If-None-Match": etag})
    assert ticked.status_code == 200
    assert ticked.headers["ETag"] != etag
    assert parse_date(ticked.headers["Last-Modified"]) > parse_date(first.headers["Last-Modified"])
    event = events(ticked.data)[0]
    assert str(event["summary"]).startswith("✓ Go · ")
    assert "Your note: Wrote wc; tested it, too." in str(event["description"])
    assert event["last-modified"].dt > events(first.data)[0]["last-modified"].dt
    *others, review = events(ticked.data)[1:]  # the milestone done is up for review
    assert [str(e["summary"]) for e in others] == [
        str(e["summary"]) for e in events(first.data)[1:]]
    assert str(review["summary"]) == "Review · " + str(event["summary"]).removeprefix("✓ Go · ")
    assert review["categories"].cats == ["Review", "Core syntax"]
    check_bytes(ticked.data)

    client.submit(f"/milestones/{first_id}/undo")
    undone = client.get(path, headers={"If-None-Match": ticked.headers["ETag"]})
    assert undone.status_code == 200
    assert not str(events(undone.data)[0]["summary"]).startswith("✓")
    assert len(events(undone.data)) == len(events(first.data))  # its review is gone
    assert parse_date(undone.headers["Last-Modified"]) >= parse_date(
        ticked.headers["Last-Modified"])


def test_replan_keeps_uids_and_bumps_sequence(app: Flask, client: Any, learner: Learner) -> None:
    path = feed_path(app, learner.id)
    before = events(client.get(path).data)
    with app.app_context():
        plan = db.session.scalars(select(Plan)).one()
        tick(plan.milestones[0], note="", evidence_url="", now=PAST + timedelta(days=1))
        moved = changes.replan(plan, date(2027, 2, 1), PAST + timedelta(days=30))
        db.session.commit()
    assert moved > 0
    response = client.get(path)
    *after, review = events(response.data)  # the milestone ticked is up for review
    check_bytes(response.data)
    assert str(review["summary"]).startswith("Review · ")
    assert [str(e["uid"]) for e in after] == [str(e["uid"]) for e in before]
    changed = 0
    for old, new in zip(before, after, strict=True):
        if new.start != old.start:
            changed += 1
            assert new["sequence"] == old["sequence"] + 1
            assert new["last-modified"].dt > old["last-modified"].dt
            assert new.end == new.start + timedelta(days=1)
        else:
            assert new["sequence"] == old["sequence"]
    assert changed == moved


def test_a_new_plan_replaces_the_old_one(app: Flask, client: Any, make_plan: Any,
                                         learner: Learner) -> None:
    path = feed_path(app, learner.id)
    first = client.get(path)
    make_plan(learner.id, outcome="rust", now=PAST + timedelta(days=3))
    second = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert "NAME:Roadmap Tracker: Start with Rust" in second.data.decode()
    assert {str(e["uid"]) for e in events(second.data)}.isdisjoint(
        str(e["uid"]) for e in events(first.data))


def test_bytes_that_change_without_a_plan_change_still_move_last_modified(
        app: Flask, client: Any, learner: Learner) -> None:
    path = feed_path(app, learner.id)
    first = client.get(path)
    app.config["BASE_URL"] = "https://elsewhere.example"
    second = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert second.status_code == 200
    assert b"URL:https://elsewhere.example/milestones/" in second.data
    assert parse_date(second.headers["Last-Modified"]) > parse_date(first.headers["Last-Modified"])


# -- the alarm ----------------------------------------------------------------------------

def test_alarm_toggle_and_reminder_time(app: Flask, client: Any, auth: Any,
                                        learner: Learner) -> None:
    path = feed_path(app, learner.id)
    plain = client.get(path)
    assert b"VALARM" not in plain.data
    auth.login()
    assert client.post("/calendar/alarm", data={"feed_alarm": "y"}).status_code == 400  # CSRF
    client.submit("/calendar/alarm", {"feed_alarm": "y", "next": "/settings"})
    with_alarm = client.get(path, headers={"If-None-Match": plain.headers["ETag"]})
    assert with_alarm.status_code == 200
    assert with_alarm.data.count(b"TRIGGER:PT8H\r\n") == len(events(plain.data))
    check_bytes(with_alarm.data)
    check_parsers(with_alarm.data)

    # The settings page (not this module) changes the reminder time: the next poll sees it.
    with app.app_context():
        db.session.get(User, learner.id).reminder_time = time(6, 45)
        db.session.commit()
    moved = client.get(path, headers={"If-Modified-Since": with_alarm.headers["Last-Modified"]})
    assert moved.status_code == 200
    assert b"TRIGGER:PT6H45M\r\n" in moved.data

    client.submit("/calendar/alarm", {"next": "/settings"})  # unchecked: off
    assert b"VALARM" not in client.get(path).data


# -- download and pages -------------------------------------------------------------------

def test_download(app: Flask, client: Any, auth: Any, learner: Learner) -> None:
    assert "/login" in client.get("/plan/roadmap.ics").location
    auth.login()
    download = client.get("/plan/roadmap.ics")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == "attachment; filename=roadmap.ics"
    assert download.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert download.data == client.get(feed_path(app, learner.id)).data
    assert 'href="/plan/roadmap.ics"' in client.get("/dashboard").get_data(as_text=True)


def test_feed_without_a_plan_is_an_empty_calendar(app: Flask, client: Any,
                                                  make_user: Any) -> None:
    response = client.get(feed_path(app, make_user()))
    assert response.status_code == 200
    check_bytes(response.data)
    assert events(check_parsers(response.data).to_ical()) == []


def render_partial(app: Flask, user_id: int) -> str:
    with app.test_request_context("/settings"):
        user = db.session.get(User, user_id)
        login_user(user)
        return render_template_string('{% include "settings/_calendar.html" %}',
                                      calendar=calendar_card(user))


def test_settings_partial(app: Flask, learner: Learner) -> None:
    token = feed_path(app, learner.id)[10:-4]
    page = render_partial(app, learner.id)
    https = f"https://tracker.example/calendar/{token}.ics"
    assert f'value="{https}"' in page
    assert f'value="webcal://tracker.example/calendar/{token}.ics"' in page
    for field in ("feed-url", "feed-webcal"):
        assert f'<label for="{field}">' in page
        assert re.search(rf'<input id="{field}" type="text" readonly', page)
        assert f'data-copy="{field}" hidden' in page  # shown by copy.js only
    for words in ("From URL", "Apple Calendar", "Outlook", "Thunderbird",
                  "Make a new calendar address", "Save calendar alarm", "08:00"):
        assert words in page
    # A new address asks first (it breaks every subscription): a link, not a button.
    assert 'href="/settings/calendar/new-address"' in page and 'action="/calendar/alarm"' in page
    assert page.count('name="csrf_token"') == 1
    assert "copy.js" in page
    # One click to each client's own "subscribe from URL", the address filled in.
    links = dict(re.findall(r'href="([^"]+)" rel="noopener noreferrer">Add to ([^<]+)<', page))
    by_client = {client: html.unescape(link) for link, client in links.items()}
    assert by_client["Google Calendar"] == (
        "https://calendar.google.com/calendar/render?cid=" + quote(f"webcal://tracker.example"
                                                                 f"/calendar/{token}.ics", safe=""))
    assert by_client["Apple Calendar"] == f"webcal://tracker.example/calendar/{token}.ics"
    for client, host in (("Outlook.com", "outlook.live.com"),
                         ("Outlook for work or school", "outlook.office.com")):
        assert parse_qs(urlsplit(by_client[client]).query) == {"url": [https],
                                                               "name": ["Roadmap Tracker"]}
        assert urlsplit(by_client[client]).netloc == host
    assert "changes show up within a day" in page and page.count("Refreshes every few hours") == 2


def test_settings_partial_without_a_token(app: Flask, learner: Learner) -> None:
    with app.app_context():
        user = db.session.get(User, learner.id)
        user.feed_token_salt = None
        db.session.commit()
    page = render_partial(app, learner.id)
    assert "Create my calendar address" in page
    assert "/calendar/" not in page.replace("/calendar/rotate", "")


def test_a_deleted_account_takes_its_cached_feed_along(app: Flask, client: Any,
                                                       learner: Learner) -> None:
    path = feed_path(app, learner.id)
    client.get(path)
    with app.app_context():
        assert db.session.get(FeedCache, learner.id) is not None
        db.session.delete(db.session.get(User, learner.id))
        db.session.commit()
        assert db.session.scalars(select(FeedCache)).all() == []
    assert client.get(path).status_code == 404
