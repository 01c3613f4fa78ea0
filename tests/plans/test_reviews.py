"""Spaced review: a tick schedules a review through FSRS, the dashboard lists what is due,
an answer sets the next date, undo ends it, a switch takes it along; history and streaks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tracker.core.history import Day, render_heatmap, streaks, study_log
from tracker.core.review import Answer, answer_review, first_review
from tracker.database import db
from tracker.models import Milestone, Review, ReviewAnswer, User

# --- the pure core -----------------------------------------------------------------------


def test_finishing_counts_as_a_first_good_recall_and_answers_space_reviews_out():
    now = datetime(2027, 3, 1, 12, tzinfo=UTC)
    card, first = first_review(now, date(2027, 3, 1))
    assert first == date(2027, 3, 3)  # FSRS-6's first "Good" interval: two days
    later = datetime(2027, 3, 3, 12, tzinfo=UTC)
    nexts = {a: answer_review(card, a, later, date(2027, 3, 3))[1] for a in Answer}
    assert nexts[Answer.AGAIN] < nexts[Answer.HARD] < nexts[Answer.GOOD] < nexts[Answer.EASY]
    assert nexts[Answer.GOOD] - date(2027, 3, 3) > first - date(2027, 3, 1)  # gaps grow


@pytest.mark.parametrize("zone_name, local_day, utc_instant", [
    # The evening before a spring change, when UTC is already on the next day or not.
    ("Europe/Berlin", date(2027, 3, 27), datetime(2027, 3, 27, 22, 30, tzinfo=UTC)),
    ("America/New_York", date(2027, 3, 13), datetime(2027, 3, 14, 4, 30, tzinfo=UTC)),
    ("Australia/Sydney", date(2027, 4, 3), datetime(2027, 4, 3, 12, 30, tzinfo=UTC)),
    ("Pacific/Auckland", date(2027, 9, 25), datetime(2027, 9, 25, 11, 30, tzinfo=UTC)),
    ("Asia/Kolkata", date(2027, 3, 27), datetime(2027, 3, 27, 18, 0, tzinfo=UTC)),
])
def test_review_dates_are_whole_local_days_across_a_dst_change(zone_name, local_day,
                                                              utc_instant):
    assert utc_instant.astimezone(ZoneInfo(zone_name)).date() == local_day
    card, first = first_review(utc_instant, local_day)
    assert first == local_day + timedelta(days=2)  # never one off by the hour that moved
    card, nxt = answer_review(card, Answer.GOOD, utc_instant + timedelta(days=2), first)
    assert nxt == first + timedelta(days=11)


def test_streaks_count_study_days_and_forgive_rest_days_and_breaks():
    mon = date(2027, 3, 1)
    weekdays = (0, 1, 2, 3, 4)
    week = {mon + timedelta(days=n) for n in range(5)}  # Mon-Fri
    # The weekend is a rest: Monday carries the streak on; today (Tuesday) is not over yet.
    active = week | {mon + timedelta(days=7)}
    assert streaks(active, mon + timedelta(days=8), weekdays) == (6, 6)
    # A study day missed ends it.
    assert streaks(active, mon + timedelta(days=9), weekdays).current == 0
    # A rest day with work adds one.
    assert streaks(week | {mon + timedelta(days=5)}, mon + timedelta(days=5), weekdays) == (6, 6)
    # A break (the second week) neither adds nor ends it, and an open break neither.
    active = week | {mon + timedelta(days=14)}
    brk = [(mon + timedelta(days=7), mon + timedelta(days=14))]
    assert streaks(active, mon + timedelta(days=14), weekdays, brk).current == 6
    assert streaks(active, mon + timedelta(days=14), weekdays).current == 1
    assert streaks(week, mon + timedelta(days=30), weekdays, [(mon + timedelta(days=5), None)]
                   ).current == 5
    assert streaks(set(), mon, weekdays) == (0, 0)


def test_the_heatmap_draws_each_day_and_tells_them_as_a_table():
    today = date(2027, 3, 10)
    log = study_log([today, today], [today - timedelta(days=1)], [today - timedelta(days=40)])
    assert log[today] == Day(done=2)
    html = str(render_heatmap(log, today))
    assert html.count("<rect") == 25 * 7 + today.weekday() + 1  # every day up to today
    assert f'data-day="{today.isoformat()}" data-count="2"' in html
    assert "<th scope=\"row\">2027-03-10</th><td>2</td><td>0</td><td>0</td>" in html
    assert "3 days with something done" in html


# --- in the app ----------------------------------------------------------------------------


def _rows(app, model):
    with app.app_context():
        rows = list(db.session.scalars(select(model).order_by(model.id)))
        db.session.expunge_all()
        return rows


def test_a_tick_schedules_a_review_the_dashboard_shows_it_and_an_answer_moves_it(
        app, client, auth, make_user, make_plan):
    user_id = make_user(timezone="Europe/Berlin")
    make_plan(user_id, start=date.today() - timedelta(days=10))
    auth.login()
    first = _rows(app, Milestone)[0]
    assert client.submit(f"/milestones/{first.id}/done").status_code == 302
    [review] = _rows(app, Review)
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    assert review.milestone_id == first.id and review.due_on == today + timedelta(days=2)
    assert "reviews-due" not in client.get("/dashboard").get_data(as_text=True)
    # Ticking again (a note) keeps the review as it is.
    client.submit(f"/milestones/{first.id}/done", {"note": "more", "evidence_url": ""})
    assert _rows(app, Review)[0].card == review.card

    with app.app_context():  # two days on, by moving the review back
        db.session.get(Review, review.id).due_on = today
        db.session.commit()
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="due-reviews"' in page and f"/reviews/{review.id}" in page
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "How well do you still know it?" in page and "Is this still true?" in page
    response = client.submit(f"/reviews/{review.id}", {"answer": str(Answer.GOOD.value)})
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    [answered] = _rows(app, Review)
    assert answered.due_on > today and answered.sequence == 1
    [logged] = _rows(app, ReviewAnswer)
    assert logged.rating == 3 and logged.milestone_id == first.id
    assert "Reviewed:" in client.get("/dashboard").get_data(as_text=True)

    # A bad answer is refused beside the buttons and changes nothing.
    response = client.submit(f"/reviews/{review.id}", {"answer": "9"})
    assert response.status_code == 400 and "Choose how well" in response.get_data(as_text=True)
    assert len(_rows(app, ReviewAnswer)) == 1

    # Undo ends the review; the answer stays in the history.
    client.submit(f"/milestones/{first.id}/undo")
    assert _rows(app, Review) == [] and len(_rows(app, ReviewAnswer)) == 1


def test_reviews_off_hides_them_everywhere_and_keeps_them(app, client, auth, make_user,
                                                          make_plan):
    user_id = make_user()
    make_plan(user_id, start=date.today() - timedelta(days=10))
    auth.login()
    first = _rows(app, Milestone)[0]
    client.submit(f"/milestones/{first.id}/done")
    with app.app_context():
        db.session.execute(Review.__table__.update().values(due_on=date(2020, 1, 1)))
        db.session.get(User, user_id).reviews_enabled = False
        db.session.commit()
    assert "due-reviews" not in client.get("/dashboard").get_data(as_text=True)
    assert "Reviews are turned off" in client.get("/reviews").get_data(as_text=True)
    assert len(_rows(app, Review)) == 1


def test_another_learners_review_answers_404(app, client, auth, make_user, make_plan):
    alice = make_user("alice@example.com")
    make_plan(alice, start=date.today() - timedelta(days=3))
    auth.login("alice@example.com")
    client.submit(f"/milestones/{_rows(app, Milestone)[0].id}/done")
    [review] = _rows(app, Review)
    make_user("eve@example.com")
    auth.logout()
    auth.login("eve@example.com")
    assert client.get(f"/reviews/{review.id}").status_code == 404
    assert client.submit(f"/reviews/{review.id}", {"answer": "3"}).status_code == 404
    assert _rows(app, Review)[0].sequence == 0


def test_the_dashboard_counts_the_streak_and_draws_the_history(app, client, auth, make_user,
                                                               make_plan):
    user_id = make_user()
    make_plan(user_id, start=date.today() - timedelta(days=20), study_days=tuple(range(7)))
    auth.login()
    page = client.get("/dashboard").get_data(as_text=True)
    assert "A new streak starts" in page and 'class="heatmap"' in page
    first = _rows(app, Milestone)[0]
    client.submit(f"/milestones/{first.id}/done")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "<strong>1</strong> study day in a row" in page
    assert 'data-count="1"' in page


# --- in the mail -------------------------------------------------------------------------

MONDAY = datetime(2027, 1, 4, tzinfo=UTC)


def _finish_first(app, user_id, plan_id, finished_at):
    """Tick the plan's first milestone at ``finished_at`` as the app does; return its id."""
    from tracker.plans import changes

    with app.app_context():
        first = db.session.scalars(select(Milestone).where(Milestone.plan_id == plan_id)
                                   .order_by(Milestone.position)).first()
        # Everything else far away: the only mail about this learner is about the review.
        db.session.execute(Milestone.__table__.update()
                           .where(Milestone.plan_id == plan_id, Milestone.id != first.id)
                           .values(due_date=date(2030, 1, 1)))
        changes.tick(db.session.connection(), first.id, user_id, now=finished_at,
                     today=finished_at.date())
        db.session.commit()
        return first.id


def test_a_review_due_sends_the_due_day_email_once_and_waits_without_daily_mail(
        app, make_user, make_plan, smtp_server):
    from conftest import deliver_mail, outbox_rows

    from tracker.jobs.worker import run_once

    user_id = make_user(weekly_enabled=False, nudge_days=0)
    plan_id = make_plan(user_id, start=date(2027, 1, 4), now=datetime(2026, 1, 1, tzinfo=UTC))
    _finish_first(app, user_id, plan_id, MONDAY + timedelta(hours=10))
    [review] = _rows(app, Review)
    assert review.due_on == date(2027, 1, 6)  # Wednesday
    for day in range(1, 6):  # Tuesday to Saturday at 08:00 UTC, the reminder time
        with app.app_context():
            run_once(MONDAY + timedelta(days=day, hours=8))
        deliver_mail(app, MONDAY + timedelta(days=day, hours=8, minutes=1))
    rows = outbox_rows(app, kind="due")
    assert [r.dedupe_key for r in rows] == [f"due:{user_id}:2027-01-06"]  # that day only
    [message] = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert message["Subject"] == "Review today: Toolchain, modules and your first program"
    assert f"/reviews/{review.id}" in text and f"/reviews/{review.id}" in html
    assert "A review for Wednesday 6 January 2027" in text

    # Answered before the mail goes out: the mail has nothing left to say and is not sent.
    with app.app_context():
        run_once(MONDAY + timedelta(days=7, hours=8))  # nothing due: no mail queued
    assert len(outbox_rows(app, kind="due")) == 1


def test_a_review_answered_since_queueing_drops_out_of_the_mail(app, make_user, make_plan,
                                                                smtp_server):
    from conftest import deliver_mail

    from tracker.plans import reviews
    from tracker.reminders.sweep import sweep

    user_id = make_user(weekly_enabled=False, nudge_days=0)
    plan_id = make_plan(user_id, start=date(2027, 1, 4), now=datetime(2026, 1, 1, tzinfo=UTC))
    _finish_first(app, user_id, plan_id, MONDAY + timedelta(hours=10))
    wednesday = MONDAY + timedelta(days=2, hours=8)
    with app.app_context():
        assert sweep(wednesday).queued == 1
        review = db.session.scalars(select(Review)).one()
        reviews.answer(review, db.session.get(User, user_id), Answer.GOOD,
                       now=wednesday + timedelta(seconds=5), today=wednesday.date())
        db.session.commit()
    deliver_mail(app, wednesday + timedelta(minutes=1))
    assert smtp_server.messages == []


def test_the_weekly_email_tells_the_streak(app, make_user, make_plan, smtp_server):
    from conftest import deliver_mail

    from tracker.jobs.worker import run_once

    user_id = make_user(due_reminders=False, nudge_days=0)  # weekly on Monday 08:00
    plan_id = make_plan(user_id, start=date(2027, 1, 4), now=datetime(2026, 1, 1, tzinfo=UTC))
    from tracker.plans import changes

    with app.app_context():
        ms = db.session.scalars(select(Milestone).where(Milestone.plan_id == plan_id)
                                .order_by(Milestone.position)).all()
        for i, m in enumerate(ms[:3]):  # Wed, Thu, Fri of the first week
            at = MONDAY + timedelta(days=2 + i, hours=18)
            changes.tick(db.session.connection(), m.id, user_id, now=at, today=at.date())
        db.session.commit()
        run_once(MONDAY + timedelta(days=7, hours=8))
    deliver_mail(app, MONDAY + timedelta(days=7, hours=8, minutes=1))
    [message] = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    # The weekend is a rest and Monday is not over: the streak of three holds.
    assert "Study streak: 3 study days in a row (longest: 3)." in text
    assert "<strong>3 study days in a row</strong>" in html
