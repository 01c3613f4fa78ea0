"""The reminder sweep: what is due at ``now`` for every learner becomes outbox rows.

Three streams, each at a local wall-clock time in the learner's IANA zone, stored in UTC:
a due-day reminder (one email listing the open milestones due that day), an overdue nudge
``nudge_days`` after a due date, and the weekly progress email. The sweep is idempotent:
each email has a dedupe key, so running it twice, or on two workers at once, queues it once.
It reads learners in batches with a constant number of statements per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import aliased

from . import mail, outbox, scheduling
from .catalog import get_catalog
from .db import db
from .models import Milestone, Notification, Plan, User
from .outbox import Counts

# A due-day reminder or nudge this late is dropped (recorded as skipped), not sent late.
GRACE = timedelta(hours=12)
# The latest weekly email is sent after downtime, unless the next one is nearer.
WEEKLY_GRACE = timedelta(days=4)
USER_BATCH = 500
SWEEP_LOCK = 0x5357  # advisory lock class of sweep batches ("SW")
LISTED = 10  # milestones listed per section of the weekly email; the rest are counted


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Return the UTC instant when the wall clock in ``zone`` shows ``at`` on ``day``.

    A time skipped by a spring-forward change moves to the first minute after the gap;
    a time that occurs twice (fall-back) means its first occurrence.
    """
    naive = datetime.combine(day, at)
    instant = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first occurrence
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # In a gap, fold=0 lands after it and fold=1 before it: the gap ends between the two,
    # at the first minute whose wall clock has passed ``naive``.
    lo = int(naive.replace(tzinfo=zone, fold=1).timestamp()) // 60
    hi = int(instant.timestamp()) // 60
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid * 60, zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi * 60, UTC)


def iso_week(day: date) -> str:
    """Return ``day``'s ISO week as 2027-W01."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class _Learner:
    """One learner's settings and current plan, as the sweep reads them (no ORM objects)."""

    user_id: int
    zone: ZoneInfo
    reminder_time: time
    due_reminders: bool
    nudge_days: int
    weekly_enabled: bool
    weekly_weekday: int
    weekly_time: time
    plan_id: int
    start_date: date
    study_days: str
    plan_created_at: datetime
    today: date = field(init=False)

    # Due-day and nudge mail to consider: (kind, key, instant, the due date it is about).
    reminders: list[tuple[str, str, datetime, date]] = field(default_factory=list)
    weekly: tuple[str, datetime, date] | None = None  # key, instant, local date

    def plan_reminders(self, now: datetime) -> None:
        """Work out which mail has its local time at or before ``now``."""
        self.today = now.astimezone(self.zone).date()
        # Yesterday too: a reminder set for 23:30 may still be within grace after midnight.
        for day in (self.today - timedelta(days=1), self.today):
            instant = local_instant(day, self.reminder_time, self.zone)
            if instant > now or instant < self.plan_created_at:
                continue
            if self.due_reminders:
                self.reminders.append(("due", f"due:{self.user_id}:{day}", instant, day))
            if self.nudge_days > 0:
                due = day - timedelta(days=self.nudge_days)
                self.reminders.append(("nudge", f"nudge:{self.user_id}:{due}", instant, due))
        if self.weekly_enabled:
            # Only the latest weekly time: after downtime, missed weeks are not sent.
            day = self.today - timedelta(days=(self.today.weekday() - self.weekly_weekday) % 7)
            instant = local_instant(day, self.weekly_time, self.zone)
            if instant > now:
                day -= timedelta(days=7)
                instant = local_instant(day, self.weekly_time, self.zone)
            if instant >= self.plan_created_at and day >= self.start_date:
                self.weekly = (f"weekly:{self.user_id}:{iso_week(day)}", instant, day)


def _learners(after_id: int, now: datetime) -> list[_Learner]:
    other = aliased(Plan)  # the learner's current plan: the newest one not archived
    current = (
        select(sa.func.max(other.id))
        .where(other.user_id == User.id, other.archived_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(User.id, User.timezone, User.reminder_time, User.due_reminders, User.nudge_days,
               User.weekly_enabled, User.weekly_weekday, User.weekly_time,
               Plan.id, Plan.start_date, Plan.study_days, Plan.created_at)
        .join(Plan, Plan.id == current)
        .where(User.id > after_id, User.email_verified_at.is_not(None), Plan.paused_on.is_(None),
               sa.or_(User.due_reminders, User.nudge_days > 0, User.weekly_enabled))
        .order_by(User.id)
        .limit(USER_BATCH)
    ).all()
    learners = []
    for user_id, zone, *settings in rows:
        learner = _Learner(user_id, _zone(zone), *settings)
        learner.plan_reminders(now)
        learners.append(learner)
    return learners


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
    after_id = 0
    while learners := _learners(after_id, now):
        first, after_id = learners[0].user_id, learners[-1].user_id
        if not _take_batch(first):
            db.session.rollback()  # another worker is sweeping these learners
        else:
            rows = _batch_rows(learners, now)
            inserted = outbox.queue_many(db.session, rows)
            db.session.commit()  # a batch at a time: SQLite's write lock is not held for long
            for row in rows:
                if row["dedupe_key"] in inserted:
                    if row["status"] == "skipped":
                        counts.skipped += 1
                    else:
                        counts.queued += 1
        if len(learners) < USER_BATCH:
            break
    return counts


def _take_batch(first_id: int) -> bool:
    """Say whether this worker sweeps the batch starting at learner ``first_id``.

    Workers running at once see the same batches. On PostgreSQL, a transaction-level
    advisory lock marks a batch taken until its commit, so the workers split the learners
    instead of each sweeping all of them (the dedupe keys keep the mail single either way,
    but then the work does not shrink as workers are added). SQLite has one writer anyway.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.session.scalar(select(sa.func.pg_try_advisory_xact_lock(SWEEP_LOCK, first_id))))


def _batch_rows(learners: Sequence[_Learner], now: datetime) -> list[dict[str, Any]]:
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
        for m_id, plan_id, due in db.session.execute(
            select(Milestone.id, Milestone.plan_id, Milestone.due_date)
            .where(Milestone.plan_id.in_([lr.plan_id for lr in wanted]),
                   Milestone.due_date.in_(days), Milestone.done_at.is_(None))
            .order_by(Milestone.plan_id, Milestone.position)
        ):
            open_by_plan.setdefault((plan_id, due), []).append(m_id)
        for lr in wanted:
            for kind, key, instant, day in lr.reminders:
                ids = open_by_plan.get((lr.plan_id, day))
                if key in existing or not ids:
                    continue
                stale = now - instant > GRACE
                payload = {"plan_id": lr.plan_id, "date": day.isoformat(), "milestones": ids}
                rows.append(outbox.row(
                    user_id=lr.user_id, kind=kind, dedupe_key=key, due_at=instant, now=now,
                    payload=payload, status="skipped" if stale else "pending",
                    expires_at=instant + GRACE))

    weekly = [lr for lr in learners if lr.weekly and lr.weekly[0] not in existing]
    if weekly:
        m = _milestones  # Core columns: plain tuples, none of the ORM's per-row work
        milestones = {
            plan_id: [row[1:] for row in plan_rows]
            for plan_id, plan_rows in groupby(db.session.execute(
                select(m.c.plan_id, m.c.id, m.c.step_id, m.c.due_date, m.c.done_at)
                .where(m.c.plan_id.in_([lr.plan_id for lr in weekly]))
                .order_by(m.c.plan_id, m.c.position)
            ), key=itemgetter(0))
        }
        for lr in weekly:
            assert lr.weekly is not None
            key, instant, day = lr.weekly
            numbers = weekly_numbers(lr, milestones.get(lr.plan_id, []))
            if numbers is not None:
                stale = now - instant > WEEKLY_GRACE
                rows.append(outbox.row(
                    user_id=lr.user_id, kind="weekly", dedupe_key=key, due_at=instant, now=now,
                    payload=numbers, status="skipped" if stale else "pending",
                    expires_at=instant + WEEKLY_GRACE))
    return rows


_milestones = cast(sa.Table, Milestone.__table__)


def weekly_numbers(
    learner: _Learner, milestones: Sequence[tuple[int, str, date, datetime | None]]
) -> dict[str, Any] | None:
    """Return what the weekly email says, as JSON; None for a plan that is finished.

    ``milestones`` are (id, step id, due date, done at) in plan order.
    """
    today, zone = learner.today, learner.zone
    done_on = [done_at.astimezone(zone).date() if done_at else None
               for _, _, _, done_at in milestones]
    if None not in done_on:  # finished, or no milestones at all
        return None
    dues = [due for _, _, due, _ in milestones]
    pace = scheduling.pace(dues, done_on, today, [int(d) for d in learner.study_days])
    # One pass sorts the milestones into the email's three sections.
    week_ago, week_ahead = today - timedelta(days=7), today + timedelta(days=7)
    done_recently, due_soon, overdue = [], [], []
    for (m_id, step_id, due, _), done in zip(milestones, done_on, strict=True):
        if done is not None:
            if week_ago < done <= today:
                done_recently.append((m_id, step_id, done))
        elif due < today:
            overdue.append((m_id, step_id, due))
        elif due < week_ahead:
            due_soon.append((m_id, step_id, due))

    def listed(rows: list[tuple[int, str, date]]) -> dict[str, Any]:
        return {"count": len(rows),
                "items": [[m_id, step_id, d.isoformat()] for m_id, step_id, d in rows[:LISTED]]}

    week = max(1, (today - learner.start_date).days // 7 + 1)
    weeks = (pace.planned_finish - learner.start_date).days // 7 + 1
    return {
        "plan_id": learner.plan_id,
        "today": today.isoformat(),
        "week": week,
        "weeks": max(weeks, week),
        "done": pace.done,
        "total": pace.total,
        "percent": pace.percent,
        "status": pace.status,
        "label": pace.label,
        "planned_finish": pace.planned_finish.isoformat(),
        "projected_finish": pace.projected_finish.isoformat(),
        "done_recently": listed(done_recently),
        "due_soon": listed(due_soon),
        "overdue": listed(overdue),
    }


# -- The mail for each stream ------------------------------------------------------------


def _unsubscribe_url(user: User, stream: str) -> str:
    from .settings import unsubscribe_url  # the settings blueprint owns the tokens

    return unsubscribe_url(user, stream)


@lru_cache(maxsize=1024)  # the same few dates in thousands of emails
def day_label(day: date) -> str:
    """Say a date the way the mail does: Monday 4 January 2027."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def _current_plan(n: Notification, user: User) -> Plan | None:
    """Return the plan a notification is about if reminders for it still make sense."""
    plan = db.session.get(Plan, n.payload.get("plan_id"))
    if plan is None or plan.user_id != user.id or plan.archived_at or plan.paused_on:
        return None
    return plan


def _items(milestones: Iterable[tuple[int, str, date]]) -> list[dict[str, Any]]:
    catalog = get_catalog()
    base = current_app.config["BASE_URL"].rstrip("/")
    items = []
    for m_id, step_id, due in milestones:
        step = catalog.milestone(step_id)
        items.append({"title": step.title if step else step_id, "topic": step.topic if step else "",
                      "url": f"{base}/milestones/{m_id}", "due": day_label(due)})
    return items


def _reminder(
    n: Notification, user: User, *, stream: str, subject: str, template: str
) -> mail.Email | None:
    plan = _current_plan(n, user)
    if plan is None or not user.is_verified:
        return None
    day = date.fromisoformat(n.payload["date"])
    # Only milestones still open and still due that day: a tick or a re-plan since queueing wins.
    milestones = db.session.execute(
        select(Milestone.id, Milestone.step_id, Milestone.due_date)
        .where(Milestone.id.in_(n.payload["milestones"]), Milestone.plan_id == plan.id,
               Milestone.done_at.is_(None), Milestone.due_date == day)
        .order_by(Milestone.position)
    ).all()
    if not milestones:
        return None
    items = _items(milestones)
    what = items[0]["title"] if len(items) == 1 else f"{len(items)} milestones"
    return mail.compose(
        to=user.email,
        subject=subject.format(what=what, day=day_label(day)),
        template=template,
        context={"items": items, "day": day_label(day)},
        unsubscribe_url=_unsubscribe_url(user, stream),
        message_id=n.message_id,
    )


def compose_due(n: Notification, user: User) -> mail.Email | None:
    """Build the due-day reminder: every open milestone due that day in one email."""
    if not user.due_reminders:
        return None
    return _reminder(n, user, stream="due", subject="Due today: {what}", template="due")


def compose_nudge(n: Notification, user: User) -> mail.Email | None:
    """Build the overdue nudge for milestones still open some days after their due date."""
    if user.nudge_days <= 0:
        return None
    return _reminder(n, user, stream="nudge", subject="Still open: {what} (due {day})",
                     template="nudge")


def compose_weekly(n: Notification, user: User) -> mail.Email | None:
    """Build the weekly progress email from the numbers the sweep worked out."""
    if not user.weekly_enabled or not user.is_verified or _current_plan(n, user) is None:
        return None
    p = n.payload
    sections = {
        name: {"count": p[name]["count"],
               "items": _items((i, s, date.fromisoformat(d)) for i, s, d in p[name]["items"])}
        for name in ("done_recently", "due_soon", "overdue")
    }
    return mail.compose(
        to=user.email,
        subject=f"Week {p['week']} of {p['weeks']} · {p['done']}/{p['total']} done · {p['label']}",
        template="weekly",
        context={**p, **sections,
                 "projected_finish": day_label(date.fromisoformat(p["projected_finish"])),
                 "planned_finish": day_label(date.fromisoformat(p["planned_finish"])),
                 "late": p["projected_finish"] > p["planned_finish"]},
        unsubscribe_url=_unsubscribe_url(user, "weekly"),
        message_id=n.message_id,
    )


def init_app(app: Flask) -> None:
    """Register the reminder and weekly mail with the outbox."""
    outbox.register_composer("due", compose_due)
    outbox.register_composer("nudge", compose_nudge)
    outbox.register_composer("weekly", compose_weekly)
