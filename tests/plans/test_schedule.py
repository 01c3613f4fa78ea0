"""Study days and the start date change on the plan one follows, after a preview of what
moves; done milestones keep their dates. A new plan may start up to 30 days back."""

from __future__ import annotations

from datetime import date, timedelta

from conftest import answered
from sqlalchemy import select

from tracker.core.scheduling import relay, shift, study_index
from tracker.database import db
from tracker.models import Milestone, Plan

MWF = (0, 2, 4)


def test_relay_keeps_each_gap_in_study_days() -> None:
    weekdays = (0, 1, 2, 3, 4)
    dues = [date(2027, 1, 4), date(2027, 1, 5), date(2027, 1, 8), date(2027, 1, 12)]  # 0 1 4 6
    moved = relay(dues, dues[0], date(2027, 1, 4), weekdays, MWF)
    assert [d.weekday() in MWF for d in moved] == [True] * 4
    assert [study_index(d, MWF) - study_index(moved[0], MWF) for d in moved] == [0, 1, 4, 6]
    assert moved[0] == date(2027, 1, 4) and moved[-1] == date(2027, 1, 18)
    assert relay(dues, dues[0], date(2027, 2, 1), weekdays, weekdays) == shift(
        dues, dues[0], date(2027, 2, 1), weekdays)


def dues(app) -> list[date]:
    with app.app_context():
        return list(db.session.scalars(select(Milestone.due_date).order_by(Milestone.position)))


def plan_of(app) -> Plan:
    with app.app_context():
        plan = db.session.scalars(select(Plan)).one()
        db.session.expunge(plan)
        return plan


def test_before_any_work_start_and_days_move_after_a_preview(app, client, auth, make_user,
                                                             make_plan):
    make_plan(make_user(), start=date.today() + timedelta(days=3))
    auth.login()
    page = client.get("/plan/schedule").get_data(as_text=True)
    assert f'value="{(date.today() + timedelta(days=3)).isoformat()}"' in page
    before = dues(app)
    start = date.today() - timedelta(days=10)  # began ten days ago, on paper
    form = {"start_date": start.isoformat(), "study_days": ["0", "2", "4"]}
    preview = client.submit("/plan/schedule", form)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="preview"' in page
    assert 'id="new-days">Monday, Wednesday, Friday<' in page
    assert dues(app) == before  # a preview changes nothing

    response = client.submit("/plan/schedule", {**form, "confirm": "yes"})
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    after = dues(app)
    moved = sum(1 for b, a in zip(before, after, strict=True) if a != b)
    assert f'id="move-count">{moved}<' in page and moved > 25  # the preview told the truth
    assert all(d.weekday() in MWF for d in after) and after == sorted(after)
    assert start <= after[0] < start + timedelta(days=7)
    assert max(after) > max(before)  # three days a week: the same work takes longer
    plan = plan_of(app)
    assert (plan.start_date, plan.study_days) == (start, "024")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f"Schedule changed: {moved} milestones moved" in dashboard
    assert "behind" in dashboard.split('id="pace-status"')[1][:80]  # ten days back: work due


def test_with_work_done_the_start_stays_and_done_keeps_its_date(app, client, auth, make_user,
                                                                make_plan):
    make_plan(make_user(), start=date.today())
    auth.login()
    with app.app_context():
        first = db.session.scalars(select(Milestone).order_by(Milestone.position)).first()
        first_id, first_due = first.id, first.due_date
    client.submit(f"/milestones/{first_id}/done")
    page = client.get("/plan/schedule").get_data(as_text=True)
    assert 'name="start_date"' not in page.split("</form>")[0] and 'id="start-kept"' in page
    before = dues(app)
    client.submit("/plan/schedule", {"start_date": "2001-01-01", "study_days": ["5", "6"],
                                     "confirm": "yes"})  # the start is not the learner's now
    after = dues(app)
    assert after[0] == first_due and plan_of(app).start_date == date.today()
    assert plan_of(app).study_days == "56"
    assert all(d.weekday() in (5, 6) for d in after[1:]) and after[1:] == sorted(after[1:])
    assert after[1] >= before[1]  # open work follows on from the next one due, never earlier


def test_bad_input_is_refused_beside_the_field_and_kept(app, client, auth, make_user,
                                                        make_plan):
    make_plan(make_user(), start=date.today())
    auth.login()
    before = dues(app)
    too_early = (date.today() - timedelta(days=31)).isoformat()
    for form, message in [
        ({"start_date": date.today().isoformat()}, "Pick at least one study day."),
        ({"start_date": too_early, "study_days": ["1"]}, "a plan can start at most 30 days ago"),
        ({"start_date": "someday", "study_days": ["1"]}, "Not a valid date value."),
        ({"start_date": "", "study_days": ["1"]}, "Not a valid date value."),
        ({"study_days": ["1"]}, "Enter a start date"),
        ({"start_date": date.today().isoformat(), "study_days": ["9"]}, "is not a valid choice"),
    ]:
        response = client.submit("/plan/schedule", {**form, "confirm": "yes"})
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and message in page, form
        assert 'class="error-summary"' in page or "There is a problem" in page
        if form.get("start_date"):
            assert f'value="{form["start_date"]}"' in page
        assert dues(app) == before


def test_without_a_plan_there_is_no_schedule(client, auth, make_user):
    make_user()
    auth.login()
    assert client.get("/plan/schedule").status_code == 404
    assert client.submit("/plan/schedule", {"study_days": ["1"]}).status_code == 404


def test_a_new_plan_may_start_up_to_30_days_back(app, client, auth, make_user):
    make_user()
    auth.login()
    answered(client)
    start = date.today() - timedelta(days=20)
    response = client.submit("/decide/result", {"outcome": "go", "start_date": start.isoformat(),
                                                "study_days": ["0", "1", "2", "3", "4"],
                                                "timezone": "UTC"})
    assert response.status_code == 302
    assert plan_of(app).start_date == start and dues(app)[0] >= start
    assert "behind" in client.get("/dashboard").get_data(as_text=True)
