"""The sweep reads only learners whose next mail instant has come: that instant, kept in an
indexed column, must never be later than what the full per-minute computation would find.

Property: for any settings, zone, open milestones and moment (around DST changes in
several zones), ``Learner.next_instant`` equals the first moment at which the sweep's own
per-moment logic (``plan_reminders``) would bring a mail not yet brought.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.core.localtime import zone
from tracker.database import db
from tracker.models import NEVER, Notification, Plan, User
from tracker.plans import changes
from tracker.reminders import sweep as reminders
from tracker.reminders.learner import Learner

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata")
# The DST changes of 2027 in those zones: US 14 Mar and 7 Nov, EU 28 Mar and 31 Oct,
# Australia 4 Apr and 3 Oct.
CHANGES = (datetime(2027, 3, 14), datetime(2027, 3, 28), datetime(2027, 4, 4),
           datetime(2027, 10, 3), datetime(2027, 10, 31), datetime(2027, 11, 7))
STEP = timedelta(minutes=15)  # every time below is on a quarter hour, so is every instant
HORIZON = timedelta(days=13)  # the dues below reach 8 days ahead, the weekly mail 12

quarter_hours = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


def learner(zone_name: str, reminder: time, weekly_time: time, weekday: int, due: bool,
            nudge: int, weekly: bool, start: date, now: datetime) -> Learner:
    return Learner(1, zone(zone_name), reminder, due, nudge, weekly, weekday, weekly_time,
                   1, start, "01234", now - timedelta(days=60), now, False, [])


def first_by_brute_force(lr: Learner, now: datetime, open_dues: set[date],
                         review_dues: set[date] = frozenset()) -> datetime:
    """Step the sweep's own logic forward; return the first moment it brings new mail."""
    t = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) + STEP
    while t <= now + HORIZON:
        probe = replace(lr, reminders=[], weekly=None)
        probe.plan_reminders(t)
        for kind, _key, instant, day in probe.reminders:
            if instant > now and (day in open_dues
                                  or (kind == "due" and lr.reviews and day in review_dues)):
                return t
        if probe.weekly and probe.weekly[1] > now:
            return t
        t += STEP
    return NEVER


@settings(max_examples=150, deadline=None)
@given(zone_name=st.sampled_from(ZONES), reminder=quarter_hours, weekly_time=quarter_hours,
       weekday=st.integers(0, 6), due=st.booleans(), nudge=st.integers(0, 3),
       weekly=st.booleans(), change=st.sampled_from(CHANGES),
       offset=st.integers(-3 * 24 * 4, 3 * 24 * 4).map(lambda q: q * STEP),
       jitter=st.integers(0, 899), dues=st.sets(st.integers(-4, 8), max_size=6),
       start_offset=st.integers(-10, 5), reviews=st.booleans(),
       review_days=st.sets(st.integers(0, 8), max_size=4))
def test_the_kept_instant_is_the_first_the_full_computation_finds(
        zone_name, reminder, weekly_time, weekday, due, nudge, weekly, change, offset, jitter,
        dues, start_offset, reviews, review_days):
    now = change.replace(tzinfo=UTC) + offset + timedelta(seconds=jitter)
    lr = learner(zone_name, reminder, weekly_time, weekday, due, nudge, weekly,
                 now.date() + timedelta(days=start_offset), now)
    lr.reviews = reviews  # reviews due send the due-day reminder too (never a nudge)
    lr.plan_reminders(now)
    open_dues = {lr.today + timedelta(days=d) for d in dues}  # open milestones' due dates
    review_dues = {lr.today + timedelta(days=d) for d in review_days}
    expected = first_by_brute_force(lr, now, open_dues, review_dues)
    assert lr.next_instant(now, open_dues, review_dues=review_dues) == expected


def test_a_quiet_minute_reads_no_learner(app, make_user, make_plan):
    for i in range(5):
        make_plan(make_user(f"l{i}@example.com", timezone=ZONES[i]))
    monday = datetime(2027, 1, 4, 9, tzinfo=UTC)
    with app.app_context():
        reminders.sweep(monday)  # every learner is looked at once, and gets its instant
        kept = dict(db.session.execute(sa.select(User.id, User.next_mail_at)).all())
        assert all(monday < at < NEVER for at in kept.values())
        quiet = min(kept.values()) - timedelta(minutes=1)
        seen: list[str] = []

        def record(_conn, _cursor, statement, *_args):
            seen.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            counts = reminders.sweep(quiet)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
    assert counts.queued == 0
    assert len(seen) == 1 and "next_mail_at <=" in seen[0]  # one indexed SELECT, no rows


def test_resuming_the_same_day_brings_the_mail_back(app, make_user, make_plan):
    user_id = make_user()
    plan_id = make_plan(user_id)
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        first_due = min(m.due_date for m in plan.milestones)
        morning = datetime.combine(first_due, time(9), UTC)
        changes.pause(plan, first_due, morning - timedelta(hours=3))
        db.session.commit()
        reminders.sweep(morning - timedelta(hours=2))  # paused: nothing until it changes
        assert db.session.get(User, user_id).next_mail_at == NEVER
        changes.resume(db.session.get(Plan, plan_id), first_due, morning - timedelta(hours=1))
        db.session.commit()
        assert reminders.sweep(morning).queued
        kinds = set(db.session.scalars(sa.select(Notification.kind)))
    assert "due" in kinds  # the due-day reminder of the day it was resumed


def test_with_nothing_due_in_the_dates_read_it_looks_again_after_them():
    now = datetime(2027, 3, 1, 12, tzinfo=UTC)
    lr = learner("Europe/Berlin", time(8), time(8), 0, True, 0, False, now.date(), now)
    lr.plan_reminders(now)
    read_until = lr.today + reminders.READ_AHEAD
    # The next milestone is due in three weeks, past the two weeks of dates read.
    look_again = lr.next_instant(now, [], read_until)
    assert look_again == datetime(2027, 3, 16, 7, tzinfo=UTC)  # 08:00 Berlin, 15 days on
    assert look_again < lr.next_instant(now, [lr.today + timedelta(days=21)])  # never later


def test_a_pass_reads_each_due_learner_once_in_instant_order(app, make_user, make_plan,
                                                             monkeypatch):
    # Batches follow (next_mail_at, id): instants out of id order, ties across a batch's
    # end, and learners not yet due, read with batches of two.
    monkeypatch.setattr(reminders, "USER_BATCH", 2)
    monday = datetime(2027, 1, 4, 9, tzinfo=UTC)
    instants = [monday - timedelta(minutes=m) for m in (5, 30, 30, 30, 1, 60)]
    instants += [monday + timedelta(minutes=1)]  # not due: never read
    ids = [make_user(f"k{i}@example.com") for i in range(len(instants))]
    for user_id in ids:
        make_plan(user_id)
    with app.app_context():
        for user_id, at in zip(ids, instants, strict=True):
            db.session.execute(sa.update(User).where(User.id == user_id)
                               .values(next_mail_at=at))
        db.session.commit()
    read: list[int] = []
    learners_of = reminders._learners

    def noting(after, now):
        batch = learners_of(after, now)
        read.extend(lr.user_id for lr in batch[0])
        return batch

    monkeypatch.setattr(reminders, "_learners", noting)
    with app.app_context():
        reminders.sweep(monday)
        weekly = set(db.session.scalars(
            sa.select(Notification.user_id).where(Notification.kind == "weekly")))
    order = sorted(ids[:-1], key=lambda i: (instants[ids.index(i)], i))
    assert read == order  # each due learner once, earliest instant first, ties by id
    assert weekly == set(ids[:-1])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_due_learners_come_off_the_index_whatever_the_statistics(app, make_user,
                                                                     database_url):
    # SQLite's planner walked the primary key for "id order, next_mail_at <= now", reading
    # every learner on a quiet minute (and PostgreSQL did so after each peak, on figures
    # gathered before it). In the index's own order no planner has a cheaper way.
    make_user()
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args):
        seen.append((statement, parameters))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            reminders.sweep(datetime(2027, 1, 4, 9, tzinfo=UTC))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        statement, parameters = next((s, p) for s, p in seen if "next_mail_at <=" in s)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")  # figures from a table where all are due at once
            plan = " ".join(row[-1] for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "ix_user_next_mail_at" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort: the rows come in the index's order


def test_a_learner_changed_behind_the_pass_is_swept_in_the_same_pass(app, make_user, make_plan,
                                                                     monkeypatch):
    # A tick sets the learner's instant to its own time; if the pass had already read that
    # learner, it reads from the start again and works the instant out anew.
    monkeypatch.setattr(reminders, "USER_BATCH", 1)
    first, second = make_user("a@example.com"), make_user("b@example.com")
    for user_id in (first, second):
        make_plan(user_id)
    monday = datetime(2027, 1, 4, 9, tzinfo=UTC)
    with app.app_context():
        for user_id, minutes in ((first, 30), (second, 10)):
            db.session.execute(sa.update(User).where(User.id == user_id)
                               .values(next_mail_at=monday - timedelta(minutes=minutes)))
        db.session.commit()
    batch_rows = reminders._batch_rows

    def ticking_first(learners, now):
        if [lr.user_id for lr in learners] == [second]:  # the first is behind the pass now
            db.session.execute(sa.update(User).where(User.id == first)
                               .values(next_mail_at=now - timedelta(minutes=20)))
        return batch_rows(learners, now)

    monkeypatch.setattr(reminders, "_batch_rows", ticking_first)
    with app.app_context():
        reminders.sweep(monday)
        kept = dict(db.session.execute(sa.select(User.id, User.next_mail_at)).all())
    assert all(at > monday for at in kept.values()), kept  # nobody left due for next minute
