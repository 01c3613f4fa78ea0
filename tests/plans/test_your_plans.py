"""Answering the questions again asks before replacing the plan, says what is kept, and the
old plan stays readable under Your plans; another learner's plan answers 404."""

from __future__ import annotations

from datetime import date, timedelta

from conftest import answered
from sqlalchemy import select

from tracker.database import db
from tracker.models import Milestone, Plan

START = {"outcome": "rust", "study_days": ["0", "2", "4"], "timezone": "Europe/Berlin"}


def plans(app) -> list[tuple[str, bool]]:
    with app.app_context():
        return [(p.outcome, p.archived_at is None)
                for p in db.session.scalars(select(Plan).order_by(Plan.id))]


def test_answering_again_asks_before_replacing(app, client, auth, learner):
    auth.login()
    with app.app_context():
        first = db.session.scalars(select(Milestone).order_by(Milestone.position)).first()
    client.submit(f"/milestones/{first.id}/done", {"note": "wc in Go"})
    answered(client)
    start = date.today() + timedelta(days=2)
    response = client.submit("/decide/result", {**START, "start_date": start.isoformat()})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Replace your plan with Start with Rust?" in page
    now = page.split('id="now-plan"')[1].split("</div>")[0]
    assert "Start with Go" in now and "1 of 33 milestones finished" in now
    after = page.split('id="new-plan"')[1].split("</div>")[0]
    assert "Monday, Wednesday, Friday" in after
    assert f'<time datetime="{start.isoformat()}">' in after
    kept = page.split('id="kept"')[1].split("</ul>")[0]
    assert 'href="/plans"' in kept and 'href="/plan/switch?to=rust"' in kept
    assert plans(app) == [("go", True)]  # nothing changed yet

    response = client.submit("/decide/result", {**START, "start_date": start.isoformat(),
                                                "confirm": "yes"})
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    assert plans(app) == [("go", False), ("rust", True)]

    history = client.get("/plans").get_data(as_text=True)
    table = history.split('id="plans"')[1].split("</table>")[0]
    assert table.index("Start with Rust") < table.index("Start with Go")  # newest first
    assert "1 of 33" in table and "<strong>current</strong>" in table
    with app.app_context():
        old_id = db.session.scalar(select(Plan.id).where(Plan.outcome == "go"))
        new_id = db.session.scalar(select(Plan.id).where(Plan.outcome == "rust"))
    old = client.get(f"/plans/{old_id}").get_data(as_text=True)
    assert "read only" in old and "1 of 33 milestones finished" in old and "wc in Go" in old
    main = old.split("<main")[1].split("</main>")[0]
    assert "Mark done" not in main and 'method="post"' not in main  # read only
    assert client.get(f"/plans/{new_id}").location.endswith("/dashboard")


def test_a_first_plan_needs_no_confirmation(app, client, auth, make_user):
    make_user()
    auth.login()
    answered(client)
    response = client.submit("/decide/result", {**START, "start_date": date.today().isoformat()})
    assert response.status_code == 302 and plans(app) == [("rust", True)]


def test_a_refused_start_shows_the_form_not_the_question(app, client, auth, learner):
    auth.login()
    answered(client)
    response = client.submit("/decide/result", {**START, "start_date": "2001-01-01",
                                                "confirm": "yes"})
    assert response.status_code == 400 and "or a later date" in response.get_data(as_text=True)
    assert plans(app) == [("go", True)]


def test_another_learners_plan_answers_404(app, client, auth, learner, make_user):
    make_user("eve@example.com")
    auth.login("eve@example.com")
    assert client.get(f"/plans/{learner.plan_id}").status_code == 404
    assert client.get("/plans/99999999").status_code == 404
    assert "No plan yet" in client.get("/plans").get_data(as_text=True)
