"""Your own roadmap: uploaded in the plans/ format, checked like `check-plans`, followed as a
plan like any other, and seen by its owner only."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import icalendar
from samples import ROADMAP
from sqlalchemy import select

from tracker.calendar.tokens import feed_token
from tracker.database import db
from tracker.jobs.worker import run_once
from tracker.models import Milestone, Plan, RoadmapUpload, User


def send(client, text: str | None = None, *, file: bytes | None = None, **fields):
    start = (date.today() + timedelta(days=1)).isoformat()
    data = {"start_date": start, "study_days": ["0", "1", "2", "3", "4"], **fields}
    if file is not None:
        data["file"] = (io.BytesIO(file), "kotlin.toml")
    if text is not None:
        data["source"] = text
    return client.submit("/plan/upload", data, content_type="multipart/form-data")


def test_a_valid_roadmap_becomes_the_plan(app, client, auth, make_user, smtp_server):
    make_user()
    auth.login()
    assert client.get("/plan/upload").status_code == 200
    response = send(client, file=ROADMAP.encode())
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        plan = db.session.scalar(select(Plan))
        ms = list(db.session.scalars(select(Milestone).order_by(Milestone.position)))
        assert plan.outcome == "upload" and plan.roadmaps == [ms[0].step_id.split("/")[0]]
        token = feed_token(db.session.scalar(select(User)))
    assert [m.step_id.split("/")[1] for m in ms] == ["basics", "coroutines"]
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Types, functions and null safety" in page and "Kotlin for backend work" in page
    assert "Coroutines" in client.get(f"/milestones/{ms[1].id}").get_data(as_text=True)
    calendar = icalendar.Calendar.from_ical(client.get(f"/calendar/{token}.ics").data)
    assert {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")} == {
        "Kotlin · Types, functions and null safety", "Kotlin · Coroutines"}
    with app.app_context():  # reminders come for it like for any plan
        run_once(datetime.combine(ms[0].due_date, datetime.min.time(), UTC) + timedelta(hours=9))
    assert any("Types, functions" in m["Subject"] for m in smtp_server.messages)


def test_problems_are_listed_by_field_and_the_text_is_kept(app, client, auth, make_user):
    make_user()
    auth.login()
    broken = ROADMAP.replace('days = 14\n\n[[phases]]', 'days = 20\n\n[[phases]]', 1) \
                    .replace('title = "Coroutines"', 'title = ""')
    response = send(client, file=broken.encode())
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "kotlin.toml: days: is 20 but the phases add up to 14" in body
    assert "kotlin.toml: phases[0].milestones[1].title: must be a non-empty string" in body
    assert "Structured concurrency." in body  # the file, kept in the form to be fixed
    with app.app_context():
        assert db.session.scalar(select(RoadmapUpload)) is None
    # Fixed in the text box and sent again: it goes through.
    assert send(client, ROADMAP).status_code == 302


def test_bad_files_are_refused_with_a_reason(app, client, auth, make_user):
    make_user()
    auth.login()
    syntax = send(client, file=b'id = "kotlin\ntitle = 1\n').get_data(as_text=True)
    assert "invalid TOML" in syntax and "line 1" in syntax
    assert "larger than 64 KB" in send(client, file=b"#" * 70_000).get_data(as_text=True)
    assert "not UTF-8" in send(client, file=b"\xff\xfe\x00x").get_data(as_text=True)
    nothing = send(client)
    assert nothing.status_code == 400 and "Choose a roadmap file" in nothing.get_data(as_text=True)
    past = send(client, ROADMAP, start_date="2020-01-01")
    assert past.status_code == 400 and "or a later date" in past.get_data(as_text=True)


def test_at_most_ten_uploads_each(app, client, auth, make_user):
    make_user()
    auth.login()
    for _ in range(10):
        assert send(client, ROADMAP).status_code == 302
    eleventh = send(client, ROADMAP)
    assert eleventh.status_code == 400
    assert "You have uploaded 10 roadmaps" in eleventh.get_data(as_text=True)


def test_only_its_owner_sees_it(app, client, auth, make_user, make_plan):
    make_user()
    other = make_user("other@example.com")
    make_plan(other)
    auth.login()
    send(client, ROADMAP)
    auth.logout()
    auth.login("other@example.com")
    assert "Kotlin" not in client.get("/dashboard").get_data(as_text=True)
    with app.app_context():
        mine = db.session.scalars(select(Milestone).where(Milestone.step_id.like("upload-%")))
        ids = [m.id for m in mine]
    for m_id in ids:
        assert client.get(f"/milestones/{m_id}").status_code == 404
