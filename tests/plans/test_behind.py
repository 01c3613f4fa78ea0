"""Falling behind reads as a plan: how far, the one thing for today, re-plan or push a week;
and a pause stops the count."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tracker.core.days_off import clear_of_days_off
from tracker.database import db
from tracker.models import Milestone, Plan
from tracker.web.filters import day_text


def dues(app) -> list[date]:
    with app.app_context():
        return list(db.session.scalars(select(Milestone.due_date).order_by(Milestone.position)))


def started(app, make_user, make_plan, days_ago: int) -> int:
    """A learner on Mon-Fri whose plan started ``days_ago`` days ago, nothing done."""
    return make_plan(make_user(), start=date.today() - timedelta(days=days_ago))


def test_behind_shows_one_thing_and_two_ways_to_fit_the_plan(app, client, auth, make_user,
                                                              make_plan):
    started(app, make_user, make_plan, 14)
    auth.login()
    page = client.get("/dashboard").get_data(as_text=True)
    behind = page.split('id="behind"')[1].split("</section>")[0]
    assert "study days behind." in behind and "It happens" in behind
    assert behind.count("/done") == 1  # one thing for today, not a wall of late work
    assert "more waiting after it" in behind
    assert "Re-plan from today" in behind and "Push the rest a week" in behind
    assert "overdue" not in page  # no verdicts

    before = dues(app)
    response = client.submit("/plan/push-week")
    assert response.status_code == 302
    after = dues(app)
    # All open: each a week later, off Christmas Day and New Year's Day.
    assert after == clear_of_days_off([d + timedelta(days=7) for d in before], range(5), "")
    assert all(d.weekday() < 5 for d in after)  # still on the study days
    flashed = client.get("/dashboard").get_data(as_text=True)
    assert f"Pushed a week: {len(before)} milestones moved" in flashed
    assert day_text(max(after)) in flashed


def test_push_a_week_keeps_what_is_done_and_needs_the_form(app, client, auth, make_user,
                                                         make_plan):
    started(app, make_user, make_plan, 14)
    auth.login()
    with app.app_context():
        first = db.session.scalars(select(Milestone).order_by(Milestone.position)).first()
        first_id, first_due = first.id, first.due_date
    client.submit(f"/milestones/{first_id}/done")
    before = dues(app)
    assert client.post("/plan/push-week").status_code == 400  # no CSRF token: nothing moves
    assert dues(app) == before
    client.submit("/plan/push-week")
    after = dues(app)
    assert after[0] == first_due  # done stays where it was
    assert after[1:] == clear_of_days_off([d + timedelta(days=7) for d in before[1:]],
                                          range(5), "")


def test_a_paused_plan_stops_counting_behind(app, client, auth, make_user, make_plan):
    plan_id = started(app, make_user, make_plan, 14)
    auth.login()
    with app.app_context():  # paused ten days ago, three days into the plan
        db.session.get(Plan, plan_id).paused_on = date.today() - timedelta(days=11)
        db.session.commit()
    page = client.get("/dashboard").get_data(as_text=True)
    assert "nothing counts as late while you are away" in page
    status = page.split('id="pace-status">')[1].split("<")[0]
    paused_on = date.today() - timedelta(days=11)  # the count is the one of that day
    late = sum(1 for d in dues(app) if d < paused_on)
    assert status == f"{late} milestone{'s' if late != 1 else ''} behind"
    assert late < 5 and 'id="behind"' not in page  # and the behind card waits for the return
    with app.app_context():
        db.session.get(Plan, plan_id).paused_on = None
        db.session.commit()
    unpaused = client.get("/dashboard").get_data(as_text=True)
    assert unpaused.split('id="pace-status">')[1].split("<")[0] != status


def test_another_learner_has_nothing_to_push(app, client, auth, make_user, make_plan):
    started(app, make_user, make_plan, 14)
    make_user("eve@example.com")
    auth.login("eve@example.com")
    before = dues(app)
    assert client.submit("/plan/push-week").status_code == 404
    assert dues(app) == before
