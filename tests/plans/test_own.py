"""A learner's own milestones: added after another or on a date, edited, removed, and treated
like every other milestone on the dashboard, in the feed, the reminders and the weekly mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
from sqlalchemy import select

from tracker.calendar.tokens import feed_token
from tracker.database import db
from tracker.jobs.worker import run_once
from tracker.models import Milestone, User

OWN = {"title": "Build a URL shortener", "learn": "Put the first month together.",
       "done_when": "It runs in Docker\nIt has tests", "links": "Go by Example https://gobyexample.com/",
       "placement": "after"}


def rows(app) -> list[Milestone]:
    with app.app_context():
        found = list(db.session.scalars(select(Milestone).order_by(Milestone.position)))
        db.session.expunge_all()
        return found


def events(app, client) -> dict[str, icalendar.Event]:
    with app.app_context():
        token = feed_token(db.session.scalar(select(User)))
    calendar = icalendar.Calendar.from_ical(client.get(f"/calendar/{token}.ics").data)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_add_after_a_milestone_and_it_is_everywhere(app, client, auth, learner, smtp_server):
    auth.login()
    before = rows(app)
    page = client.get("/plan/milestones/new")
    assert page.status_code == 200 and "Add a milestone of your own" in page.get_data(as_text=True)
    response = client.submit("/plan/milestones/new", {**OWN, "after": before[2].id})
    assert response.status_code == 302
    after = rows(app)
    assert [m.position for m in after] == list(range(len(before) + 1))
    own = after[3]
    assert own.title == OWN["title"] and own.step_id.startswith("own/")
    assert own.done_when == ["It runs in Docker", "It has tests"]
    assert own.links == [["Go by Example", "https://gobyexample.com/"]]
    assert own.due_date > before[2].due_date and own.due_date.weekday() < 5
    assert own.phase_id == before[2].phase_id

    body = client.get(f"/milestones/{own.id}").get_data(as_text=True)
    assert "It has tests" in body and "https://gobyexample.com/" in body and "Your own" in body
    dashboard = client.get("/dashboard?phase=1").get_data(as_text=True)
    assert OWN["title"] in dashboard and f"of {len(before) + 1} milestones" in dashboard
    assert str(events(app, client)[own.uid]["SUMMARY"]).endswith(OWN["title"])

    # Its due morning brings a reminder about it, with its links.
    with app.app_context():
        run_once(datetime.combine(own.due_date, datetime.min.time(), UTC) + timedelta(hours=9))
    [due] = [m for m in smtp_server.messages if m["Subject"].startswith("Due today")]
    assert OWN["title"] in due["Subject"]


def test_add_on_a_date_lands_in_date_order(app, client, auth, learner):
    auth.login()
    before = rows(app)
    day = before[5].due_date
    client.submit("/plan/milestones/new", {**OWN, "placement": "date", "due_date": day.isoformat(),
                                           "after": before[0].id})
    after = rows(app)
    own = next(m for m in after if m.step_id.startswith("own/"))
    assert own.due_date == day and after[own.position - 1].due_date <= day
    assert all(m.due_date >= day for m in after[own.position + 1:])


def test_bad_input_is_answered_beside_each_field_and_kept(app, client, auth, learner):
    auth.login()
    response = client.submit("/plan/milestones/new", {
        "title": "", "links": "just words", "placement": "date", "due_date": "",
        "done_when": "keep me"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Give it a title." in body and "does not end in a link" in body
    assert "Enter the date" in body and "keep me" in body and "just words" in body
    assert not any(m.step_id.startswith("own/") for m in rows(app))


def test_edit_and_remove(app, client, auth, learner):
    auth.login()
    client.submit("/plan/milestones/new", {**OWN, "after": rows(app)[0].id})
    own = next(m for m in rows(app) if m.step_id.startswith("own/"))
    form = client.get(f"/milestones/{own.id}/edit").get_data(as_text=True)
    assert OWN["title"] in form and "It runs in Docker" in form
    later = own.due_date + timedelta(days=14)
    assert client.submit(f"/milestones/{own.id}/edit", {
        **OWN, "title": "A URL shortener, tested", "placement": "date",
        "due_date": later.isoformat(), "after": rows(app)[0].id}).status_code == 302
    edited = next(m for m in rows(app) if m.id == own.id)
    assert edited.title == "A URL shortener, tested" and edited.due_date == later
    assert edited.sequence == own.sequence + 1 and edited.uid == own.uid
    assert "A URL shortener, tested" in str(events(app, client)[own.uid]["SUMMARY"])

    assert client.submit(f"/milestones/{own.id}/delete").status_code == 302
    left = rows(app)
    assert own.id not in {m.id for m in left}
    assert [m.position for m in left] == list(range(len(left)))
    assert own.uid not in events(app, client)


def test_the_roadmaps_milestones_are_not_editable(app, client, auth, learner):
    auth.login()
    first = rows(app)[0]
    assert client.get(f"/milestones/{first.id}/edit").status_code == 404
    assert client.submit(f"/milestones/{first.id}/delete").status_code == 404
    assert client.get("/dashboard").status_code == 200
    assert len(rows(app)) == 33  # the plan is untouched
    assert rows(app)[0].title is None  # and the roadmap's text is not copied into the row
