"""A next step after every tick: the flash names what comes next, milestone pages link to
their neighbours, and the last tick leads to the completion page with what comes next."""

from __future__ import annotations

import html
from datetime import date, timedelta

from sqlalchemy import select, update

from tracker.database import db
from tracker.models import Milestone, utcnow


def ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Milestone.id).order_by(Milestone.position)))


def test_a_tick_says_what_comes_next_and_pages_link_their_neighbours(app, client, auth,
                                                                      make_user, make_plan):
    make_plan(make_user(), start=date.today() - timedelta(days=7))
    auth.login()
    first, second, third, *_ = ids(app)
    response = client.submit(f"/milestones/{first}/done", {"next": "/dashboard"})
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    page = html.unescape(client.get("/dashboard").get_data(as_text=True))
    assert "Done: Toolchain, modules and your first program. Next up: " in page
    assert f'<a href="/milestones/{second}">Slices, maps, structs' in page

    page = client.get(f"/milestones/{second}").get_data(as_text=True)
    assert f'href="/milestones/{first}" rel="prev">← Toolchain' in page
    assert f'href="/milestones/{third}" rel="next">Errors as values' in page
    page = client.get(f"/milestones/{first}").get_data(as_text=True)
    assert 'rel="prev"' not in page and f'href="/milestones/{second}" rel="next"' in page


def test_the_last_tick_leads_to_the_completion_page(app, client, auth, make_user, make_plan):
    make_plan(make_user(), start=date.today() - timedelta(days=100))
    auth.login()
    assert client.get("/plan/complete").location.endswith("/dashboard")  # not finished yet
    *rest, last = ids(app)
    with app.app_context():
        db.session.execute(update(Milestone).where(Milestone.id.in_(rest[:-1]))
                           .values(done_at=utcnow()))
        db.session.execute(update(Milestone).where(Milestone.id == rest[-1])
                           .values(skipped_at=utcnow()))
        db.session.commit()
    response = client.submit(f"/milestones/{last}/done", {"next": "/dashboard"})
    assert response.location.endswith("/plan/complete")
    page = html.unescape(client.get("/plan/complete").get_data(as_text=True))
    assert "That was the last one!" in page
    assert "You did it: Start with Go" in page
    assert "I finished “Start with Go” with Roadmap Tracker: 33 milestones from" in page
    assert "(1 of them known already)" in page
    assert 'href="/plan/switch?to=rust"' in page  # the next plan, previewed first
    assert "See your summary" in client.get("/dashboard").get_data(as_text=True)
