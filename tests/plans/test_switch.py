"""Switch plan, keep progress: a preview first, then the work on shared steps comes along,
open milestones start from today, the feed keeps UIDs, and no reminder goes out twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
from sqlalchemy import select

from tracker.calendar.tokens import feed_token
from tracker.database import db
from tracker.jobs.worker import run_once
from tracker.models import Milestone, Notification, Plan, User


def plans(app) -> list[Plan]:
    with app.app_context():
        rows = list(db.session.scalars(select(Plan).order_by(Plan.id)))
        for p in rows:
            p.milestones  # noqa: B018  (loaded before the session closes)
        db.session.expunge_all()
        return rows


def started_go_plan(app, make_user, make_plan) -> list[Milestone]:
    """A learner two weeks into the Go plan: two done, one skipped, one with a note."""
    make_plan(make_user(), start=date.today() - timedelta(days=14))
    with app.app_context():
        ms = list(db.session.scalars(select(Milestone).order_by(Milestone.position)))
        now = datetime.now(UTC)
        ms[0].done_at = ms[1].done_at = now - timedelta(days=3)
        ms[2].skipped_at, ms[2].skip_reason = now, "known"
        ms[3].note = "halfway"
        db.session.commit()
        for m in ms:
            db.session.refresh(m)
        db.session.expunge_all()
        return ms


def feed(app, client) -> dict[str, icalendar.Event]:
    with app.app_context():
        token = feed_token(db.session.scalar(select(User)))
    calendar = icalendar.Calendar.from_ical(client.get(f"/calendar/{token}.ics").data)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_the_preview_says_what_comes_along_and_changes_nothing(app, client, auth, make_user,
                                                                make_plan):
    started_go_plan(app, make_user, make_plan)
    auth.login()
    for _ in range(2):
        page = client.get("/plan/switch?to=go-rust")
        assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "4 milestones with your work on them" in body  # done, done, skipped, noted
    assert 'id="left-list"' not in body  # Go-then-Rust has every Go step
    assert len(plans(app)) == 1
    rust = client.get("/plan/switch?to=rust").get_data(as_text=True)
    assert "0 milestones" in rust and 'id="left-list"' in rust  # Rust shares no step
    assert client.get("/plan/switch?to=go").status_code == 404  # already on it
    assert client.get("/plan/switch?to=cobol").status_code == 404
    assert 'href="/plan/switch?to=rust"' in client.get("/dashboard").get_data(as_text=True)


def test_switching_keeps_the_work_and_dates_the_rest_from_today(app, client, auth, make_user,
                                                                make_plan):
    before = started_go_plan(app, make_user, make_plan)
    auth.login()
    events_before = feed(app, client)
    response = client.submit("/plan/switch", {"to": "go-rust"})
    assert response.status_code == 302
    old, new = plans(app)
    assert old.archived_at is not None and new.archived_at is None and new.outcome == "go-rust"
    assert len(new.milestones) > len(before)
    by_step = {m.step_id: m for m in new.milestones}
    for was in before[:4]:
        now_ = by_step[was.step_id]
        assert (now_.done_at, now_.skipped_at, now_.note) == (was.done_at, was.skipped_at,
                                                              was.note)
        assert now_.uid == was.uid  # the calendar event carries on
    assert by_step[before[0].step_id].due_date == before[0].due_date  # done: its date stays
    open_dues = [m.due_date for m in new.milestones if not m.is_finished]
    assert min(open_dues) == max(date.today(), min(open_dues))  # nothing open in the past
    assert all(d.weekday() < 5 for d in open_dues)  # on the study days
    # The feed: the same UIDs for kept milestones, SEQUENCE bumped where the date moved.
    events = feed(app, client)
    for was in before[:4]:
        moved = by_step[was.step_id].due_date != was.due_date
        assert int(events[was.uid]["SEQUENCE"]) == int(events_before[was.uid]["SEQUENCE"]) + moved
    assert {m.uid for m in old.milestones}.isdisjoint(events)  # the archived plan is gone


def test_go_to_rust_and_back_loses_nothing(app, client, auth, make_user, make_plan):
    before = started_go_plan(app, make_user, make_plan)
    auth.login()
    client.submit("/plan/switch", {"to": "rust"})
    rust = plans(app)[-1]
    assert not any(m.is_finished for m in rust.milestones)
    client.submit("/plan/switch", {"to": "go"})
    go = {m.step_id: m for m in plans(app)[-1].milestones}
    assert go[before[0].step_id].done_at == before[0].done_at
    assert go[before[2].step_id].skip_reason == "known"
    assert go[before[3].step_id].note == "halfway"


def test_no_reminder_goes_out_twice_across_a_switch(app, client, auth, make_user, make_plan,
                                                    smtp_server):
    make_plan(make_user(), start=date(2027, 1, 4))
    auth.login()
    with app.app_context():
        first = db.session.scalars(select(Milestone).order_by(Milestone.position)).first()
        due_morning = datetime.combine(first.due_date, datetime.min.time(), UTC) + \
            timedelta(hours=9)
        run_once(due_morning)
    # The learner switches that morning; the next passes of the day find the new plan.
    client.submit("/plan/switch", {"to": "go-rust"})
    with app.app_context():
        run_once(due_morning + timedelta(minutes=5))
        run_once(due_morning + timedelta(hours=2))
        sent = [n for n in db.session.scalars(select(Notification))
                if n.kind == "due" and n.status == "sent"]
    # (A day the new plan dates in the past may be queued and expire unsent: never sent twice.)
    assert len(sent) == 1, [(n.dedupe_key, n.due_at) for n in sent]
    assert len([m for m in smtp_server.messages if m["Subject"].startswith("Due")]) == 1


def test_a_milestone_of_ones_own_comes_along(app, client, auth, make_user, make_plan):
    before = started_go_plan(app, make_user, make_plan)
    auth.login()
    client.submit("/plan/milestones/new", {"title": "My own project", "placement": "after",
                                           "after": before[4].id})
    own = next(m for m in plans(app)[0].milestones if m.step_id.startswith("own/"))
    assert "your own milestone" in client.get("/plan/switch?to=rust").get_data(as_text=True)
    client.submit("/plan/switch", {"to": "go-rust"})  # it stays after the step it followed
    both = plans(app)[-1].milestones
    at = next(i for i, m in enumerate(both) if m.step_id == own.step_id)
    assert both[at - 1].step_id == before[4].step_id
    assert both[at].title == "My own project" and both[at].uid == own.uid
    client.submit("/plan/switch", {"to": "rust"})  # Rust has no step of Go: it leads the plan
    rust = plans(app)[-1].milestones
    assert rust[0].step_id == own.step_id and rust[0].title == "My own project"
