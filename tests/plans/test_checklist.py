"""A milestone's "done when" items are a real checklist: saved per milestone, kept through a
switch, and once all are ticked the page offers to mark it done (it is allowed before)."""

from __future__ import annotations

from sqlalchemy import select

from tracker.database import db
from tracker.models import Milestone
from tracker.plans.steps import milestone_step


def first(app) -> tuple[int, int]:
    """Return the learner's first milestone and how many "done when" items it has."""
    with app.app_context():
        m = db.session.scalars(select(Milestone).order_by(Milestone.position)).first()
        return m.id, len(milestone_step(m).done_when)


def checked(app, milestone_id: int) -> list[int] | None:
    with app.app_context():
        return db.session.get(Milestone, milestone_id).checked


def test_tick_items_then_the_page_offers_to_mark_it_done(app, client, auth, learner):
    auth.login()
    m_id, total = first(app)
    assert total >= 2
    page = client.get(f"/milestones/{m_id}").get_data(as_text=True)
    assert page.count('type="checkbox" name="item"') == total
    assert f"0 of {total} checked" in page and 'id="checklist-ready" hidden' in page

    response = client.submit(f"/milestones/{m_id}/checklist", {"item": ["1"]})
    assert response.status_code == 302 and response.location.endswith(f"/milestones/{m_id}#tick-h")
    assert checked(app, m_id) == [1]
    page = client.get(f"/milestones/{m_id}").get_data(as_text=True)
    assert f"Checklist saved: 1 of {total} checked." in page
    assert 'name="item" value="1" checked' in page and 'name="item" value="0">' in page
    assert "You can mark it done before the checklist is complete." in page

    client.submit(f"/milestones/{m_id}/checklist", {"item": [str(i) for i in range(total)]})
    assert checked(app, m_id) == list(range(total))
    page = client.get(f"/milestones/{m_id}").get_data(as_text=True)
    assert "Every item is checked. Ready to mark it done?" in page
    assert 'id="checklist-ready" hidden' not in page and 'id="checklist-early" hidden' in page

    client.submit(f"/milestones/{m_id}/checklist", {})  # untick all
    assert checked(app, m_id) is None


def test_the_script_saves_without_a_page_or_a_flash(app, client, auth, learner):
    auth.login()
    m_id, total = first(app)
    response = client.submit(f"/milestones/{m_id}/checklist", {"item": ["0"]},
                             headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json == {"checked": 1, "total": total}
    assert "Checklist saved" not in client.get(f"/milestones/{m_id}").get_data(as_text=True)


def test_bad_items_are_refused_beside_the_list_and_change_nothing(app, client, auth, learner):
    auth.login()
    m_id, total = first(app)
    client.submit(f"/milestones/{m_id}/checklist", {"item": ["0"]})
    for bad in ([str(total)], ["x"], ["-1"]):
        response = client.submit(f"/milestones/{m_id}/checklist", {"item": bad})
        page = response.get_data(as_text=True)
        assert response.status_code == 400, bad
        assert 'href="#item"' in page  # the error summary links to the list
        assert checked(app, m_id) == [0]
    assert client.post(f"/milestones/{m_id}/checklist", data={"item": "1"}).status_code == 400
    assert checked(app, m_id) == [0]  # no CSRF token, nothing saved


def test_another_learners_checklist_answers_404(app, client, auth, learner, make_user):
    m_id, _ = first(app)
    make_user("eve@example.com")
    auth.login("eve@example.com")
    assert client.submit(f"/milestones/{m_id}/checklist", {"item": ["0"]}).status_code == 404
    assert checked(app, m_id) is None


def test_a_checklist_begun_comes_along_a_switch(app, client, auth, learner):
    auth.login()
    m_id, _ = first(app)
    client.submit(f"/milestones/{m_id}/checklist", {"item": ["0"]})
    preview = client.get("/plan/switch?to=go-rust").get_data(as_text=True)
    assert "1 milestone with your work on it" in preview or "with your work" in preview
    client.submit("/plan/switch", {"to": "go-rust"})
    with app.app_context():
        step_id = db.session.get(Milestone, m_id).step_id
        rows = db.session.scalars(select(Milestone).where(Milestone.step_id == step_id,
                                                          Milestone.id != m_id)).all()
    assert [r.checked for r in rows] == [[0]]
