"""Tick and undo: what they change, and that on SQLite they hold the write lock only to write."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import select

from tracker.database import db
from tracker.models import Milestone, User


def first_milestone(app) -> int:
    with app.app_context():
        return db.session.scalars(select(Milestone.id).order_by(Milestone.id)).first()


def state(app, milestone_id: int) -> tuple[Milestone, User]:
    with app.app_context():
        m = db.session.get(Milestone, milestone_id)
        user = m.plan.user
        db.session.expunge_all()
        return m, user


def test_ticking_again_keeps_the_first_done_time_and_saves_the_note(
    app, client, auth, make_user, make_plan
):
    make_plan(make_user())
    auth.login()
    mid = first_milestone(app)
    before = state(app, mid)[1].calendar_changed_at
    client.submit(f"/milestones/{mid}/done", {"note": "first", "evidence_url": ""})
    first, user = state(app, mid)
    assert first.done_at is not None and first.note == "first"
    assert user.calendar_changed_at != before  # the feed is built again
    client.submit(f"/milestones/{mid}/done", {"note": "second", "evidence_url": ""})
    again, _ = state(app, mid)
    assert again.done_at == first.done_at and again.note == "second"
    assert again.updated_at > first.updated_at
    client.submit(f"/milestones/{mid}/undo")
    undone, user = state(app, mid)
    assert undone.done_at is None and undone.note == "second"
    assert user.calendar_changed_at >= again.updated_at


def test_a_form_error_shows_the_form_again_with_a_token(app, client, auth, make_user, make_plan):
    make_plan(make_user())
    auth.login()
    mid = first_milestone(app)
    response = client.submit(f"/milestones/{mid}/done", {"note": "n", "evidence_url": "not a link"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Enter a full link" in page
    assert 'name="csrf_token" type="hidden" value="' in page  # so the form can be sent again
    assert state(app, mid)[0].done_at is None


def test_a_nul_in_a_note_is_refused_beside_the_field(app, client, auth, make_user, make_plan):
    # Every form refuses control characters; PostgreSQL cannot store a NUL and answered 500.
    make_plan(make_user())
    auth.login()
    mid = first_milestone(app)
    response = client.submit(f"/milestones/{mid}/done",
                             {"note": "built it\x00", "evidence_url": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Remove the control characters" in page
    assert "built it" in page  # what was typed is kept
    assert state(app, mid)[0].done_at is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_tick_reads_beside_a_writer_and_waits_for_it_only_to_write(
    app, client, auth, make_user, make_plan, database_url
):
    make_plan(make_user())
    auth.login()
    mid = first_milestone(app)
    token = client.csrf_token()
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    answers: list[int] = []
    tick = threading.Thread(
        target=lambda: answers.append(
            client.post(f"/milestones/{mid}/done", data={"csrf_token": token}).status_code
        )
    )
    try:
        # A form error is answered from reads alone, without the lock (busy timeout: 10 s).
        started = time.monotonic()
        bad = {"csrf_token": token, "evidence_url": "not a link"}
        assert client.post(f"/milestones/{mid}/done", data=bad).status_code == 400
        assert time.monotonic() - started < 5
        tick.start()
        tick.join(0.3)
        assert tick.is_alive() and not answers  # waiting to write
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    tick.join(10)
    assert answers == [302]
    assert state(app, mid)[0].done_at is not None


@pytest.mark.parametrize("milestone_id", ["99999999999999999999", "9223372036854775808",
                                          "18446744073709551616", "0", "-1", "1e3", "%00"])
def test_ids_that_cannot_be_a_row_answer_404(client, auth, learner, milestone_id):
    # Past 2**63 - 1 an id used to reach the driver and overflow (500 on SQLite).
    auth.login()
    assert client.get(f"/milestones/{milestone_id}").status_code == 404
    for action in ("done", "undo"):
        response = client.submit(f"/milestones/{milestone_id}/{action}")
        assert response.status_code == 404, (milestone_id, action)
