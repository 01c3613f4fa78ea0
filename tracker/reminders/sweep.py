"""The reminder sweep: what is due at ``now`` for every learner becomes outbox rows.

Three streams, each at a local wall-clock time in the learner's IANA zone, stored in UTC:
a due-day reminder (one email listing the open milestones due that day), an overdue nudge
``nudge_days`` after a due date, and the weekly progress email. The sweep is idempotent:
each email has a dedupe key, so running it twice, or on two workers at once, queues it once.
It reads learners in batches with a constant number of statements per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from ..catalog import get_catalog
from ..core.localtime import zone
from ..core.scheduling import weekdays_of
from ..database import db
from ..mail import outbox
from ..mail.outbox import Counts
from ..models import NEVER, Milestone, Notification, Plan, Review, User, UTCDateTime
from ..plans import history
from ..plans.queries import current_plan_id
from ..plans.steps import is_learners
from .learner import Learner
from .weekly import weekly_numbers

# A due-day reminder or nudge this late is dropped (recorded as skipped), not sent late.
GRACE = timedelta(hours=12)
# The latest weekly email is sent after downtime, unless the next one is nearer.
WEEKLY_GRACE = timedelta(days=4)
USER_BATCH = 500
READ_AHEAD = timedelta(days=14)  # of due dates, when working out a learner's next mail
REVIEWS_LISTED = 10  # in one due-day reminder
SWEEP_LOCK = 0x5357  # advisory lock class of sweep batches ("SW")


Place = tuple[datetime, int]  # a learner's (next_mail_at, id): where a batch ends


def _learners(after: Place | None, now: datetime
              ) -> tuple[list[Learner], list[tuple[int, datetime]], Place | None]:
    """Return the next batch of learners the sweep looks at now: those with mail, (id,
    next_mail_at as read) of those who can have none (unconfirmed, paused, no plan, every
    mail off), and the place of the batch's last learner.

    Read in the order of the (next_mail_at, id) index, from the place the last batch ended:
    the index answers however stale the planner's figures are. Ordered by id instead,
    PostgreSQL walked the whole primary key on the quiet minutes after each peak (the peak
    had moved a third of the instants since the last ANALYZE), and SQLite always did.
    """
    due = User.next_mail_at <= now  # the index: only who is due
    if after is not None:
        due &= sa.tuple_(User.next_mail_at, User.id) > sa.tuple_(
            sa.literal(after[0], UTCDateTime()), sa.literal(after[1]))
    rows = db.session.execute(
        select(User.id, User.timezone, User.reminder_time, User.due_reminders, User.nudge_days,
               User.weekly_enabled, User.weekly_weekday, User.weekly_time,
               Plan.id, Plan.start_date, Plan.study_days, Plan.created_at, User.next_mail_at,
               User.reviews_enabled, Plan.pauses, User.email_verified_at, Plan.paused_on)
        .outerjoin(Plan, Plan.id == current_plan_id(User.id))
        .where(due)
        .order_by(User.next_mail_at, User.id)
        .limit(USER_BATCH)
    ).all()
    # rows[-1][0] is User.id (Plan.id, selected too, has the same name).
    last = (rows[-1].next_mail_at, rows[-1][0]) if rows else None
    learners, idle = [], []
    for user_id, zone_name, *settings, verified_at, paused_on in rows:
        learner = Learner(user_id, zone(zone_name), *settings)
        if (verified_at is None or learner.plan_id is None or paused_on is not None
                or not (learner.due_reminders or learner.nudge_days > 0
                        or learner.weekly_enabled)):
            idle.append((user_id, learner.next_mail_at))
            continue
        learner.plan_reminders(now)
        learners.append(learner)
    return learners, idle, last


def _existing(keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    if not keys:
        return set()
    return set(db.session.scalars(
        select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys))
    ))


def sweep(now: datetime) -> Counts:
    """Queue every reminder and weekly email due at ``now``; return queued/skipped counts."""
    counts = Counts()
    # A pass that read anyone reads once more from the start. That finds the learners a
    # change moved behind it while it ran, and steps over the index entries its own writes
    # replaced, which PostgreSQL then marks dead: else the next quiet minute would step
    # over them (1.4 s at 1,000,000 learners after the peak, docs/scaling.md).
    for _ in range(2):
        if not _sweep_from_the_start(now, counts):
            break
    return counts


def _sweep_from_the_start(now: datetime, counts: Counts) -> bool:
    """Sweep every learner due at ``now``, batch by batch; say whether any was read."""
    place = None
    while True:
        learners, idle, last = _learners(place, now)
        if last is None:
            db.session.rollback()  # nothing to write: let go of the read (SQLite's write lock)
            return place is not None
        place = last
        if not _take_batch(last[1]):  # a batch is named by its last learner
            db.session.rollback()  # another worker is sweeping these learners
        else:
            rows = _batch_rows(learners, now)
            inserted = outbox.queue_many(db.session, rows)
            _set_next(learners, idle, now)
            db.session.commit()  # a batch at a time: SQLite's write lock is not held for long
            for row in rows:
                if row["dedupe_key"] in inserted:
                    if row["status"] == "skipped":
                        counts.skipped += 1
                    else:
                        counts.queued += 1
        if len(learners) + len(idle) < USER_BATCH:
            return True


_NEXT = (sa.update(User)
         .where(User.id == sa.bindparam("b_id"), User.next_mail_at == sa.bindparam("b_seen"))
         .values(next_mail_at=sa.bindparam("b_next")))


def _set_next(learners: Sequence[Learner], idle: Sequence[tuple[int, datetime]],
              now: datetime) -> None:
    """Keep each learner's next mail instant, worked out from their open milestones.

    Written only over the value read: a change since (a tick, new settings) has set it to
    the change's time, and the next sweep looks again.
    """
    open_dues: dict[int, list[date]] = {}
    read_until = None
    if learners:
        # Two weeks of due dates are enough to find the next one; a plan with none in them
        # is looked at again after them (a plan's whole future was most of a busy pass).
        earliest = min(lr.today - timedelta(days=lr.nudge_days + 1) for lr in learners)
        read_until = min(lr.today for lr in learners) + READ_AHEAD
        for plan_id, due in db.session.execute(
            select(Milestone.plan_id, Milestone.due_date).distinct()
            .where(Milestone.user_id.in_([lr.user_id for lr in learners]),
                   Milestone.plan_id.in_([lr.plan_id for lr in learners]),
                   Milestone.done_at.is_(None), Milestone.skipped_at.is_(None),
                   Milestone.due_date.between(earliest, read_until))
        ):
            open_dues.setdefault(plan_id, []).append(due)
        review_dues = _review_days([lr for lr in learners if lr.reviews and lr.due_reminders],
                                   min(lr.today for lr in learners), read_until)
    params = [{"b_id": lr.user_id, "b_seen": lr.next_mail_at,
               "b_next": lr.next_instant(now, open_dues.get(lr.plan_id, []), read_until,
                                         review_dues.get(lr.user_id, ()))}
              for lr in learners]
    params += [{"b_id": user_id, "b_seen": seen, "b_next": NEVER} for user_id, seen in idle]
    if params:
        db.session.connection().execute(_NEXT, params)


def _review_days(learners: Sequence[Learner], first: date,
                 last: date) -> dict[int, list[date]]:
    """Return the days from ``first`` to ``last`` with a review due, by learner."""
    found: dict[int, list[date]] = {}
    if learners:
        for user_id, due in db.session.execute(
            select(Review.user_id, Review.due_on).distinct()
            .where(Review.user_id.in_([lr.user_id for lr in learners]),
                   Review.due_on.between(first, last))
        ):
            found.setdefault(user_id, []).append(due)
    return found


def _waiting_reviews(learners: Sequence[Learner], last: date) -> dict[int, list[tuple[int, date]]]:
    """Return (id, due day) of every review due by ``last``, oldest first, by learner."""
    found: dict[int, list[tuple[int, date]]] = {}
    if learners:
        for review_id, user_id, due in db.session.execute(
            select(Review.id, Review.user_id, Review.due_on)
            .where(Review.user_id.in_([lr.user_id for lr in learners]), Review.due_on <= last)
            .order_by(Review.due_on, Review.id)
        ):
            found.setdefault(user_id, []).append((review_id, due))
    return found


def _take_batch(last_id: int) -> bool:
    """Say whether this worker sweeps the batch ending at learner ``last_id``.

    Workers running at once see the same batches. On PostgreSQL, a transaction-level
    advisory lock marks a batch taken until its commit, so the workers split the learners
    instead of each sweeping all of them (the dedupe keys keep the mail single either way,
    but then the work does not shrink as workers are added). SQLite has one writer anyway.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.session.scalar(select(sa.func.pg_try_advisory_xact_lock(SWEEP_LOCK, last_id))))


def _batch_rows(learners: Sequence[Learner], now: datetime) -> list[dict[str, Any]]:
    """Return the new outbox rows for a batch of learners, in a fixed number of queries."""
    # Keys queued earlier are dropped before inserting: a conflicting INSERT still uses
    # up a sequence value on PostgreSQL, and the sweep runs every minute.
    existing = _existing(
        [k for lr in learners for _, k, _, _ in lr.reminders]
        + [lr.weekly[0] for lr in learners if lr.weekly]
    )
    rows: list[dict[str, Any]] = []

    wanted = [lr for lr in learners if any(k not in existing for _, k, _, _ in lr.reminders)]
    if wanted:
        days = {d for lr in wanted for *_, d in lr.reminders}
        open_by_plan: dict[tuple[int, date], list[int]] = {}
        catalog = get_catalog()
        for m_id, plan_id, due, step_id in db.session.execute(
            select(Milestone.id, Milestone.plan_id, Milestone.due_date, Milestone.step_id)
            .where(Milestone.user_id.in_([lr.user_id for lr in wanted]),
                   Milestone.plan_id.in_([lr.plan_id for lr in wanted]),
                   Milestone.due_date.in_(days), Milestone.done_at.is_(None),
                   Milestone.skipped_at.is_(None))
            .order_by(Milestone.plan_id, Milestone.position)
        ):
            if is_learners(step_id) or catalog.step(step_id):  # gone from plans/: no reminder
                open_by_plan.setdefault((plan_id, due), []).append(m_id)
        reviews = _waiting_reviews([lr for lr in wanted if lr.reviews], max(days))
        for lr in wanted:
            for kind, key, instant, day in lr.reminders:
                ids = open_by_plan.get((lr.plan_id, day), [])
                # A review due that day sends the reminder too; it lists the older ones
                # still waiting, which send none of their own (no daily mail about them).
                waiting = ([(r_id, on) for r_id, on in reviews.get(lr.user_id, ()) if on <= day]
                           if kind == "due" else [])
                if key in existing or not (ids or any(on == day for _, on in waiting)):
                    continue
                stale = now - instant > GRACE
                payload = {"plan_id": lr.plan_id, "date": day.isoformat(), "milestones": ids}
                if waiting:
                    payload["reviews"] = [r_id for r_id, _ in waiting[:REVIEWS_LISTED]]
                rows.append(outbox.row(
                    user_id=lr.user_id, kind=kind, dedupe_key=key, due_at=instant, now=now,
                    payload=payload, status="skipped" if stale else "pending",
                    expires_at=instant + GRACE))

    weekly = [lr for lr in learners if lr.weekly and lr.weekly[0] not in existing]
    if weekly:
        m = Milestone
        catalog = get_catalog()
        milestones = {
            # Steps gone from plans/ are left out of the numbers; their rows stay.
            plan_id: [row[1:] for row in plan_rows
                      if is_learners(row[2]) or catalog.step(row[2]) is not None]
            for plan_id, plan_rows in groupby(db.session.execute(
                select(m.plan_id, m.id, m.step_id, m.due_date, m.done_at, m.skipped_at)
                .where(m.user_id.in_([lr.user_id for lr in weekly]),
                       m.plan_id.in_([lr.plan_id for lr in weekly]))
                .order_by(m.plan_id, m.position)
            ), key=itemgetter(0))
        }
        done = history.actions(db.session, [lr.user_id for lr in weekly])
        for lr in weekly:
            assert lr.weekly is not None
            key, instant, day = lr.weekly
            numbers = weekly_numbers(lr.plan_id, lr.start_date, lr.study_days,
                                     milestones.get(lr.plan_id, []), lr.today, lr.zone)
            if numbers is not None:
                numbers["streak"], numbers["longest_streak"] = history.plan_streaks(
                    history.local_log(done[lr.user_id], lr.zone), lr.today,
                    weekdays_of(lr.study_days), history.pauses_of(lr.pauses))
                stale = now - instant > WEEKLY_GRACE
                rows.append(outbox.row(
                    user_id=lr.user_id, kind="weekly", dedupe_key=key, due_at=instant, now=now,
                    payload=numbers, status="skipped" if stale else "pending",
                    expires_at=instant + WEEKLY_GRACE))
    return rows


