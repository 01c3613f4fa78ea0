"""Skip ("I already know this"): one milestone or the rest of a month, shown apart from done
on every surface, counted as finished by the pace, and undone like a tick."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
from sqlalchemy import select

from tracker.calendar.tokens import feed_token
from tracker.database import db
from tracker.jobs.worker import run_once
from tracker.models import Milestone, Notification, User
from tracker.reminders.weekly import weekly_numbers


def milestones(app, user_id=None) -> list[Milestone]:
    with app.app_context():
        rows = list(db.session.scalars(select(Milestone).order_by(Milestone.id)))
        db.session.expunge_all()
        return rows


def test_skip_with_a_reason_shows_apart_and_undo_reopens(app, client, auth, make_user,
                                                         make_plan):
    # Started two weeks ago, so that today is on the chart.
    make_plan(make_user(), start=date.today() - timedelta(days=14))
    auth.login()
    first = milestones(app)[0]
    page = client.get(f"/milestones/{first.id}").get_data(as_text=True)
    assert "Already know this?" in page and "Skip this milestone" in page
    response = client.submit(f"/milestones/{first.id}/skip",
                             {"skip-reason": "I write Go at work", "next": "/dashboard"})
    assert response.status_code == 302
    skipped = milestones(app)[0]
    assert skipped.skipped_at is not None and skipped.done_at is None
    assert skipped.skip_reason == "I write Go at work"

    dashboard = client.get("/dashboard?phase=1").get_data(as_text=True)
    assert "1 of 33 milestones done" in dashboard  # it counts as finished
    assert "1 of them skipped" in dashboard
    assert 'class="milestone skipped"' in dashboard and "skipped: I write Go at work" in dashboard
    assert 'class="key key-skipped"' in dashboard and 'class="skipped"' in dashboard  # chart

    assert client.submit(f"/milestones/{first.id}/undo").status_code == 302
    reopened = milestones(app)[0]
    assert reopened.skipped_at is None and reopened.skip_reason == ""
    page = client.get("/dashboard?phase=1").get_data(as_text=True)
    assert not any(mark in page for mark in ('class="milestone skipped"', "of them skipped",
                                             "key-skipped", "skipped: I write"))


def test_a_long_reason_is_refused_beside_the_field_and_kept(app, client, auth, learner):
    auth.login()
    first = milestones(app)[0]
    response = client.submit(f"/milestones/{first.id}/skip", {"skip-reason": "x" * 501})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "x" * 501 in page
    assert "Field cannot be longer than 500 characters." in page
    assert milestones(app)[0].skipped_at is None


def test_skip_the_rest_of_a_month_in_one_action(app, client, auth, learner):
    auth.login()
    first, second = milestones(app)[:2]
    client.submit(f"/milestones/{first.id}/done")
    response = client.submit("/plan/phases/1/skip")
    assert response.status_code == 302 and response.location.endswith("?phase=1#phase-1")
    rows = milestones(app)
    month_1 = [m for m in rows if m.phase_id == first.phase_id]
    assert rows[0].done_at is not None and rows[0].skipped_at is None  # done stays done
    assert all(m.skipped_at is not None for m in month_1[1:])
    assert all(m.skipped_at is None for m in rows if m.phase_id != first.phase_id)
    page = client.get("/dashboard?phase=1").get_data(as_text=True)
    assert f"{len(month_1)} of {len(month_1)} done ({len(month_1) - 1} skipped)" in page
    assert "skip the rest" not in page  # nothing left to skip there
    assert client.submit("/plan/phases/99/skip").status_code == 404


def test_skipping_what_is_late_puts_the_plan_back_on_track(app, client, auth, learner):
    auth.login()
    rows = milestones(app)
    with app.app_context():  # two milestones fell due in the past
        for m in rows[:2]:
            db.session.get(Milestone, m.id).due_date = date.today() - timedelta(days=3)
        db.session.commit()
    assert "2 milestones behind" in client.get("/dashboard").get_data(as_text=True)
    for m in rows[:2]:
        client.submit(f"/milestones/{m.id}/skip")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "behind" not in page.split('id="pace-status"')[1][:60]


def test_the_feed_keeps_the_event_and_marks_it(app, client, auth, learner):
    auth.login()
    first = milestones(app)[0]
    client.submit(f"/milestones/{first.id}/skip", {"skip-reason": "known"})
    with app.app_context():
        token = feed_token(db.session.get(User, learner.id))
    calendar = icalendar.Calendar.from_ical(client.get(f"/calendar/{token}.ics").data)
    [event] = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == first.uid]
    assert str(event["SUMMARY"]).startswith("(skipped) ")
    assert str(event["DESCRIPTION"]).startswith("Skipped: known")
    assert int(event["SEQUENCE"]) == first.sequence  # the date did not move


def test_a_skipped_milestone_sends_no_reminder(app, client, auth, learner, smtp_server):
    auth.login()
    first = milestones(app)[0]
    client.submit(f"/milestones/{first.id}/skip")
    due_day = datetime.combine(first.due_date, datetime.min.time(), UTC) + timedelta(hours=9)
    with app.app_context():
        run_once(due_day)
        kinds = [n.kind for n in db.session.scalars(select(Notification))]
    assert "due" not in kinds


def test_the_weekly_numbers_count_skipped_as_done_and_list_them_apart():
    zone = UTC
    today = date(2027, 1, 11)
    at = datetime(2027, 1, 8, 12, tzinfo=UTC)
    rows = [(1, "go/a", date(2027, 1, 5), at, None), (2, "go/b", date(2027, 1, 7), None, at),
            (3, "go/c", date(2027, 1, 12), None, None)]
    numbers = weekly_numbers(1, date(2027, 1, 4), "01234", rows, today, zone)
    assert numbers["done"] == 2 and numbers["skipped"] == 1 and numbers["total"] == 3
    assert numbers["done_recently"]["items"] == [[1, "go/a", "2027-01-08"],
                                                 [2, "go/b", "2027-01-08", "skipped"]]
