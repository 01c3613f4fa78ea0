"""The core journey through the Flask test client: sign-up to re-plan."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tracker.database import db
from tracker.models import Milestone, Plan, utcnow

GO_ANSWERS = {
    "job-security": "yes",
    "low-level-debugging": "no",
    "simplicity-or-control": "simplicity",
    "broad-or-niche": "broad",
    "goal": "job-quickly",
    "sounds-like-me": ["backend-jobs-quickly", "team-velocity"],
}


def answer_ids(app):
    """Return the first answer id of each question, from the real decision flow."""
    from tracker.catalog import get_catalog

    with app.app_context():
        return {q.id: q.answers[0].id for q in get_catalog().decision.questions}


def test_signup_decide_plan_tick_undo_replan(app, client, auth):
    assert auth.signup().status_code == 302  # signed in, on to the questions

    page = client.get("/decide")
    assert "Do I want job security fast?" in page.get_data(as_text=True)
    answers = answer_ids(app)
    response = client.submit("/decide", answers)
    assert response.status_code == 302 and response.location.endswith("/decide/result")

    result = client.get("/decide/result").get_data(as_text=True)
    assert "Why" in result and "recommended" in result

    today = utcnow().date()
    response = client.submit(
        "/decide/result",
        {"outcome": "go", "start_date": today.isoformat(),
         "study_days": ["0", "1", "2", "3", "4", "5", "6"], "timezone": "UTC"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "0 of 33 milestones done" in dashboard
    with app.app_context():
        plan = db.session.scalars(select(Plan)).one()
        as_lists = {k: [v] if not isinstance(v, list) else v for k, v in answers.items()}
        assert plan.answers == as_lists
        first = plan.milestones[0]
        first_id = first.id
        dues = [m.due_date for m in plan.milestones]
    assert dues == sorted(dues) and dues[0] >= today and dues[-1] < today + timedelta(days=90)

    response = client.submit(f"/milestones/{first_id}/done",
                             {"note": "wrote hello.go", "evidence_url": "https://github.com/me/hello"})
    assert response.status_code == 302
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "1 of 33 milestones done" in dashboard and "wrote hello.go" in dashboard

    client.submit(f"/milestones/{first_id}/undo")
    assert "0 of 33 milestones done" in client.get("/dashboard").get_data(as_text=True)

    # Ticking again with the one-click button keeps the note saved before.
    client.submit(f"/milestones/{first_id}/done")
    with app.app_context():
        again = db.session.get(Milestone, first_id)
        assert again.is_done and again.note == "wrote hello.go"
        assert again.evidence_url == "https://github.com/me/hello"
    client.submit(f"/milestones/{first_id}/undo")

    # Fall behind: move the plan two weeks into the past, then re-plan from today.
    with app.app_context():
        for m in db.session.scalars(select(Milestone)):
            m.due_date -= timedelta(days=14)
        db.session.commit()
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r"\d+ milestones? behind", dashboard)
    preview = client.get("/replan").get_data(as_text=True)
    assert "New finish date" in preview
    client.submit("/replan")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "on track" in dashboard
    with app.app_context():
        first = db.session.scalars(select(Milestone).order_by(Milestone.position)).first()
        assert first.due_date == today and first.sequence == 1


def test_replan_never_moves_done_milestones(app, client, auth, make_user, make_plan):
    user_id = make_user()
    plan_id = make_plan(user_id, start=utcnow().date() - timedelta(days=30))
    auth.login()
    with app.app_context():
        ms = db.session.get(Plan, plan_id).milestones
        done_id, done_due = ms[0].id, ms[0].due_date
    client.submit(f"/milestones/{done_id}/done")
    client.submit("/replan")
    with app.app_context():
        m = db.session.get(Milestone, done_id)
        assert m.due_date == done_due and m.sequence == 0 and m.is_done


def test_other_learners_milestone_is_404(app, client, auth, make_user, make_plan):
    other = make_user("other@example.com")
    other_plan = make_plan(other)
    make_user()
    auth.login()
    with app.app_context():
        theirs = db.session.get(Plan, other_plan).milestones[0].id
    assert client.get(f"/milestones/{theirs}").status_code == 404
    assert client.submit(f"/milestones/{theirs}/done").status_code == 404
    assert client.submit(f"/milestones/{theirs}/undo").status_code == 404
    with app.app_context():
        assert db.session.get(Milestone, theirs).done_at is None


def test_missing_csrf_is_400(app, client, auth, make_user, make_plan):
    make_plan(make_user())
    auth.login()
    with app.app_context():
        mid = db.session.scalars(select(Milestone.id)).first()
    assert client.post(f"/milestones/{mid}/done", data={}).status_code == 400
    assert client.post("/login", data={"email": "a@b.c", "password": "x"}).status_code == 400
    with app.app_context():
        assert db.session.get(Milestone, mid).done_at is None


def test_bad_start_date_and_zone_keep_values(client, auth, app):
    auth.signup()
    auth.login()
    client.submit("/decide", answer_ids(app))
    response = client.submit(
        "/decide/result",
        {"outcome": "rust", "start_date": "2020-02-30", "study_days": ["1", "3"],
         "timezone": "Mars/Olympus"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Unknown time zone" in page and 'value="Mars/Olympus"' in page
    assert "Enter a start date" in page or "Not a valid date" in page
    assert re.search(r'value="rust"[^>]*checked|checked[^>]*value="rust"', page)
    assert re.search(r'value="1"[^>]*checked|checked[^>]*value="1"', page)

    response = client.submit(
        "/decide/result",
        {"outcome": "go", "start_date": "2001-01-01", "study_days": ["0"],
         "timezone": "Europe/Berlin"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "or a later date" in page
    assert 'value="2001-01-01"' in page
    assert 'value="Europe/Berlin"' in page


def test_no_study_days_is_an_error(client, auth, app):
    auth.signup()
    auth.login()
    client.submit("/decide", answer_ids(app))
    response = client.submit(
        "/decide/result",
        {"outcome": "go", "start_date": utcnow().date().isoformat(), "timezone": "UTC"},
    )
    assert response.status_code == 400
    assert "Pick at least one study day" in response.get_data(as_text=True)


def test_unanswered_questions_rerender_with_answers_kept(client, auth, app):
    auth.signup()
    auth.login()
    response = client.submit("/decide", {"job-security": "no"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Pick one answer." in page
    assert re.search(r'checked[^>]*value="no"|value="no"[^>]*checked', page)


def test_pause_and_resume(app, client, auth, make_user, make_plan):
    user_id = make_user()
    today = utcnow().date()
    make_plan(user_id, start=today)
    auth.login()
    client.submit("/pause")
    assert "paused" in client.get("/dashboard").get_data(as_text=True)
    with app.app_context():
        plan = db.session.scalars(select(Plan)).one()
        plan.paused_on = today - timedelta(days=7)  # the break started a week ago
        before = [m.due_date for m in plan.milestones]
        db.session.commit()
    client.submit("/resume")
    with app.app_context():
        plan = db.session.scalars(select(Plan)).one()
        after = [m.due_date for m in plan.milestones]
        assert plan.paused_on is None
        assert all(a > b for a, b in zip(after, before, strict=True))


def test_dashboard_without_plan_goes_to_decide(client, auth):
    auth.signup()
    auth.login()
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.location.endswith("/decide")


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"
    assert "scheduler" in response.json


def test_dashboard_lists_one_month_at_a_time(app, client, auth, make_user, make_plan):
    make_user()
    plan_id = make_plan(make_user("months@example.com"), outcome="go-rust")
    auth.login("months@example.com")
    with app.app_context():
        rows = db.session.execute(
            select(Milestone.id, Milestone.phase_id)
            .where(Milestone.plan_id == plan_id)
            .order_by(Milestone.position)
        ).all()
    phases = list(dict.fromkeys(p for _, p in rows))
    ids = {phase: [i for i, p in rows if p == phase] for phase in phases}

    def listed(page: str) -> set[int]:
        return {int(i) for i in re.findall(r'<li class="milestone[^"]*" id="m-(\d+)"', page)}

    # By default the month being studied: the first with open work.
    page = client.get("/dashboard").get_data(as_text=True)
    assert listed(page) == set(ids[phases[0]]) and len(phases) == 6
    assert 'href="/dashboard?phase=4#phase-4"' in page  # every month is a link away

    # Another month on request; ticking there comes back to it, and the count moves.
    page = client.get("/dashboard?phase=4").get_data(as_text=True)
    assert listed(page) == set(ids[phases[3]]) and 'rel="prev"' in page and 'rel="next"' in page
    # Each row's button posts to its own milestone and names the row to come back to.
    target = ids[phases[3]][0]
    back = f"/dashboard?phase=4#m-{target}"
    button = f'formaction="/milestones/{target}/done" name="next" value="{back}"'
    assert page.count(button) == 1
    response = client.submit(f"/milestones/{target}/done", {"next": back})
    assert response.status_code == 302 and response.location.endswith(back)
    page = client.get("/dashboard?phase=4").get_data(as_text=True)
    assert "1 of 65 milestones done" in page
    assert f'formaction="/milestones/{target}/undo" name="next" value="{back}"' in page

    # A month number out of range or not a number shows the current month, not an error.
    for bad in ("0", "7", "x", "-1"):
        page = client.get(f"/dashboard?phase={bad}").get_data(as_text=True)
        assert listed(page) == set(ids[phases[0]])

    # Once the first month is all done, the dashboard opens on the second.
    with app.app_context():
        for m in db.session.scalars(select(Milestone).where(Milestone.id.in_(ids[phases[0]]))):
            m.done_at = utcnow()
        db.session.commit()
    assert listed(client.get("/dashboard").get_data(as_text=True)) == set(ids[phases[1]])
