"""Every change to a learner's plan: start one, tick, skip, undo, push, re-plan, pause,
resume.

This is the one module that changes plans and milestones, and each change also marks the
learner's calendar changed (``User.calendar_changed_at``), which the cached feed is keyed
on: a new change belongs here, or the feed goes stale. The caller owns the session and
commits once; ``today`` and ``now`` are parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, func, update
from sqlalchemy.orm import object_session

if TYPE_CHECKING:
    from .switching import Switch

from ..core import scheduling
from ..core.days_off import clear_of_days_off, country_of
from ..core.roadmaps import Catalog, Roadmap, Step
from ..models import Milestone, Plan, User, UTCDateTime
from . import reviews


def create_plan(
    user: User,
    catalog: Catalog,
    *,
    outcome: str,
    recommended: str,
    answers: Mapping[str, list[str]],
    start: date,
    study_days: Collection[int],
    now: datetime,
    weekly_hours: int = scheduling.PACED_FOR_HOURS,
) -> Plan:
    """Enrol the learner in an outcome's roadmaps, dated from ``start``; archive the old plan."""
    return create_plan_from(user, catalog.roadmaps_for(outcome), outcome=outcome,
                            recommended=recommended, answers=answers, start=start,
                            study_days=study_days, now=now, weekly_hours=weekly_hours)


def create_plan_from(
    user: User,
    roadmaps: Sequence[Roadmap],
    *,
    outcome: str,
    recommended: str,
    answers: Mapping[str, list[str]],
    start: date,
    study_days: Collection[int],
    now: datetime,
    weekly_hours: int = scheduling.PACED_FOR_HOURS,
) -> Plan:
    """Enrol the learner in these roadmaps (an outcome's, or one uploaded), dated from
    ``start``; archive the old plan."""
    dated = dated_steps(roadmaps, start, study_days, weekly_hours)
    dues = clear_days_off(user, [due for *_, due in dated], study_days)
    plan = Plan(
        outcome=outcome,
        recommended=recommended,
        roadmaps=[r.id for r in roadmaps],
        answers=dict(answers),
        start_date=start,
        study_days="".join(str(d) for d in sorted(set(study_days))),
        weekly_hours=weekly_hours,
        created_at=now,
        updated_at=now,
        milestones=[
            Milestone(step_id=s.id, phase_id=phase_id, position=i, due_date=due, updated_at=now)
            for i, ((phase_id, s, _), due) in enumerate(zip(dated, dues, strict=True))
        ],
    )
    _replace_plan(user, plan, now)
    return plan


def dated_steps(roadmaps: Sequence[Roadmap], start: date, study_days: Collection[int],
                weekly_hours: int = scheduling.PACED_FOR_HOURS) -> list[tuple[str, Step, date]]:
    """Return (phase id, step, due date) of every step of the roadmaps, dated from ``start``
    at ``weekly_hours`` a week (days off not yet avoided: see clear_days_off)."""
    phases = [(r, p) for r in roadmaps for p in r.phases]
    dues = scheduling.schedule(
        [(scheduling.paced_days(p.days, weekly_hours), len(p.steps)) for _, p in phases],
        start, study_days)
    steps = [(f"{r.id}/{p.id}", s) for r, p in phases for s in p.steps]
    return [(phase_id, s, due) for (phase_id, s), due in zip(steps, dues, strict=True)]


def clear_days_off(user: User, dues: Sequence[date], study_days: Collection[int],
                   keep: Sequence[bool] | None = None) -> list[date]:
    """Move dates off the learner's public holidays (Christmas and New Year everywhere),
    unless they study on holidays; ``keep`` marks dates of work done, which stay."""
    if not user.holidays_off:
        return list(dues)
    return clear_of_days_off(dues, study_days, country_of(user.locale), keep)


def _replace_plan(user: User, plan: Plan, now: datetime) -> None:
    for old in user.plans:
        if old.archived_at is None:
            old.archived_at = now
    user.plans.append(plan)
    _calendar_changed(user, now)


def switch(change: Switch, now: datetime) -> Plan:
    """Move the learner to the switch's plan; the old one is archived as it was.

    A kept milestone takes its row's calendar UID along (the archived row gets a new one),
    with SEQUENCE bumped where its date moves, so calendars update the event in place.
    """
    old = change.plan
    kept: list[tuple[Milestone, Milestone]] = []
    new = Plan(outcome=change.outcome, recommended=old.recommended,
               roadmaps=[r.id for r in change.roadmaps], answers=dict(old.answers),
               start_date=min(m.due for m in change.moves), study_days=old.study_days,
               weekly_hours=old.weekly_hours, created_at=now, updated_at=now)
    for i, move in enumerate(change.moves):
        m = Milestone(step_id=move.step.id, phase_id=move.phase_id, position=i,
                      due_date=move.due, updated_at=now)
        if (k := move.kept) is not None:
            m.done_at, m.skipped_at, m.skip_reason = k.done_at, k.skipped_at, k.skip_reason
            m.note, m.evidence_url, m.checked = k.note, k.evidence_url, k.checked
            m.title, m.learn, m.done_when, m.links = k.title, k.learn, k.done_when, k.links
            m.uid, k.uid = k.uid, str(uuid.uuid4())
            m.sequence = k.sequence + (k.due_date != move.due)
            kept.append((k, m))
        new.milestones.append(m)
    old.archived_at = now
    session = object_session(old)
    assert session is not None
    session.flush()  # the archived rows give their UIDs up before the new rows take them
    _replace_plan(old.user, new, now)
    session.flush()
    reviews.follow(session, [(k.id, m.id) for k, m in kept])
    return new


def _calendar_changed(user: User, now: datetime) -> None:
    user.calendar_changed_at = now
    user.next_mail_at = now  # what is due, and so the next mail, may have moved


# Tick and undo are single statements the database applies to the row as it is when it
# writes: the change depends on nothing read before, so a tick and an undo racing on the
# same row (two tabs) cannot lose one another, and on SQLite the write lock is held for
# two statements only. ("b_" names: update() keeps column names for itself.)
_OWN_MILESTONE = (Milestone.id == bindparam("b_milestone")) & (
    Milestone.user_id == bindparam("b_user"))
_NOW = bindparam("b_now", type_=UTCDateTime())


def _sent_or_kept(column: Any) -> Any:
    # None keeps what was saved: the one-click button sends no note fields.
    return func.coalesce(bindparam(f"b_{column.key}", type_=column.type), column)


_TICK = (
    update(Milestone).where(_OWN_MILESTONE)
    .values(done_at=func.coalesce(Milestone.done_at, _NOW), skipped_at=None, skip_reason="",
            updated_at=_NOW, note=_sent_or_kept(Milestone.note),
            evidence_url=_sent_or_kept(Milestone.evidence_url))
    .returning(Milestone.step_id, Milestone.done_at)
)
_UNTICK = (update(Milestone).where(_OWN_MILESTONE)
           .values(done_at=None, skipped_at=None, skip_reason="", updated_at=_NOW)
           .returning(Milestone.step_id))
_CALENDAR_CHANGED = (update(User).where(User.id == bindparam("b_user"))
                     .values(calendar_changed_at=_NOW, next_mail_at=_NOW))


def tick(
    connection: Connection, milestone_id: int, user_id: int, *, now: datetime, today: date,
    note: str | None = None, evidence_url: str | None = None,
) -> str | None:
    """Tick a learner's milestone off; a note or link left as None keeps what was saved.

    Ticking again keeps the first completion time. A milestone newly done gets its first
    review, dated from ``today`` (the learner's date). Returns the milestone's step id, or
    None when the milestone is not the learner's.
    """
    params = {"b_milestone": milestone_id, "b_user": user_id, "b_now": now,
              "b_note": note, "b_evidence_url": evidence_url}
    row = connection.execute(_TICK, params).one_or_none()
    if row is None:
        return None
    connection.execute(_CALENDAR_CHANGED, params)
    if row.done_at == now:  # done just now, not before
        reviews.start(connection, milestone_id, user_id, now=now, today=today)
    return row.step_id


def untick(connection: Connection, milestone_id: int, user_id: int, *, now: datetime) -> str | None:
    """Open a done or skipped milestone again, its note kept; None when it is not the
    learner's. Its review ends (the answers given stay in the history)."""
    params = {"b_milestone": milestone_id, "b_user": user_id, "b_now": now}
    step_id = connection.execute(_UNTICK, params).scalar()
    if step_id is not None:
        connection.execute(_CALENDAR_CHANGED, params)
        reviews.stop(connection, milestone_id, user_id)
    return step_id


def skip(milestones: Sequence[Milestone], reason: str, now: datetime) -> int:
    """Mark open milestones skipped ("I already know this"); return how many were open.

    Done ones stay done: skipping a month skips only what is left of it.
    """
    skipped = 0
    for m in milestones:
        if m.done_at is None and m.skipped_at is None:
            m.skipped_at, m.skip_reason, m.updated_at = now, reason, now
            skipped += 1
    if skipped:
        _calendar_changed(milestones[0].plan.user, now)
    return skipped


def _move(plan: Plan, new_dues: Sequence[date], now: datetime) -> int:
    new_dues = clear_days_off(plan.user, new_dues, plan.weekdays,
                              keep=[m.is_finished for m in plan.milestones])
    moved = 0
    for milestone, due in zip(plan.milestones, new_dues, strict=True):
        if milestone.due_date != due:
            milestone.due_date = due
            # Calendar clients take the new date only with a higher SEQUENCE.
            milestone.sequence += 1
            milestone.updated_at = now
            moved += 1
    if moved:
        plan.updated_at = now
        _calendar_changed(plan.user, now)
    return moved


def place_own(plan: Plan, milestone: Milestone, *, after: Milestone | None, due: date,
              now: datetime) -> None:
    """Put a milestone of the learner's own into the plan, after ``after`` (or first), due
    ``due``; a milestone already in the plan moves there. Positions stay 0..n-1."""
    others = [m for m in plan.milestones if m is not milestone]
    at = others.index(after) + 1 if after is not None else 0
    neighbour = after or (others[0] if others else None)
    milestone.phase_id = neighbour.phase_id if neighbour else "own/own"
    if milestone.due_date != due and milestone.id is not None:
        milestone.sequence += 1  # calendars take a moved date only with a higher SEQUENCE
    milestone.due_date, milestone.updated_at = due, now
    others.insert(at, milestone)
    for i, m in enumerate(others):
        m.position = i
    if milestone not in plan.milestones:
        plan.milestones.append(milestone)
    plan.updated_at = now
    _calendar_changed(plan.user, now)


def delete_own(milestone: Milestone, now: datetime) -> None:
    """Remove a milestone of the learner's own; the ones after it close up."""
    plan = milestone.plan
    plan.milestones.remove(milestone)  # delete-orphan: the row goes
    for i, m in enumerate(plan.milestones):
        m.position = i
    plan.updated_at = now
    _calendar_changed(plan.user, now)

PUSH_DAYS = 7  # "push a week", from a reminder or the dashboard: the dates keep their weekday


def push(milestone: Milestone, days: int, now: datetime) -> int:
    """Move a milestone and every open one after it ``days`` later; return how many moved.

    Whole weeks keep each date on its weekday, so on the learner's study days; the order of
    the plan is kept.
    """
    plan = milestone.plan
    return _move(plan, [m.due_date + timedelta(days=days)
                        if m.position >= milestone.position and not m.is_finished else m.due_date
                        for m in plan.milestones], now)


def replan_preview(plan: Plan, today: date) -> list[date]:
    """Return the due dates a re-plan from ``today`` would give, changing nothing."""
    milestones = plan.milestones
    finished = [m.is_finished for m in milestones]
    return clear_days_off(plan.user, scheduling.replan(
        [m.due_date for m in milestones], finished, today, plan.weekdays), plan.weekdays,
        keep=finished)


def reschedule_preview(plan: Plan, start: date, study_days: Collection[int],
                       weekly_hours: int, today: date) -> list[date]:
    """Return the due dates new study days and hours a week (and, before any work, a new
    start) would give.

    A plan with nothing finished is laid out again from ``start``. Otherwise finished
    milestones keep their dates and the open ones follow from the first open one's date, or
    from today when that has passed. Each keeps its distance from the first in study days,
    stretched by the change of hours (half the hours, twice the days).
    """
    milestones = plan.milestones
    days = sorted(set(study_days))
    stretch = plan.weekly_hours / weekly_hours
    finished = [m.is_finished for m in milestones]
    if not any(finished):
        dues = scheduling.relay([m.due_date for m in milestones], plan.start_date, start,
                                plan.weekdays, days, stretch)
    else:
        open_dues = [m.due_date for m, done in zip(milestones, finished, strict=True)
                     if not done]
        moved = iter(scheduling.relay(open_dues, open_dues[0], max(open_dues[0], today),
                                      plan.weekdays, days, stretch) if open_dues else [])
        dues = [m.due_date if done else next(moved)
                for m, done in zip(milestones, finished, strict=True)]
    return clear_days_off(plan.user, dues, days, keep=finished)


def reschedule(plan: Plan, start: date, study_days: Collection[int], weekly_hours: int,
               today: date, now: datetime) -> int:
    """Change the plan's study days and hours (and start, before any work); return how many
    milestones moved."""
    new_dues = reschedule_preview(plan, start, study_days, weekly_hours, today)
    if not any(m.is_finished for m in plan.milestones):
        plan.start_date = start
    plan.study_days = "".join(str(d) for d in sorted(set(study_days)))
    plan.weekly_hours = weekly_hours
    plan.updated_at = plan.user.next_mail_at = now  # the sweep's next instant may move
    return _move(plan, new_dues, now)


def keep_days_off(plan: Plan, now: datetime) -> int:
    """Move open milestones off the learner's days off (after a change of country or of
    studying on holidays); return how many moved."""
    return _move(plan, [m.due_date for m in plan.milestones], now)


def replan(plan: Plan, today: date, now: datetime) -> int:
    """Restart the open milestones from today at their spacing; return how many moved."""
    return _move(plan, replan_preview(plan, today), now)


def pause(plan: Plan, today: date, now: datetime) -> None:
    """Pause the plan (a vacation): no reminders until it is resumed."""
    plan.paused_on = today
    plan.updated_at = now


def resume(plan: Plan, today: date, now: datetime) -> int:
    """Resume a paused plan, pushing open milestones back by the study days missed."""
    paused_on, plan.paused_on = plan.paused_on, None
    plan.updated_at = plan.user.next_mail_at = now  # its mail starts again: the sweep looks
    if paused_on is not None and today > paused_on:  # the break keeps a streak going
        plan.pauses = [*plan.pauses, [paused_on.isoformat(), today.isoformat()]]
    if paused_on is None or today <= paused_on:
        return 0
    milestones = plan.milestones
    open_dues = [m.due_date for m in milestones if not m.is_finished]
    shifted = iter(scheduling.shift(open_dues, paused_on, today, plan.weekdays))
    return _move(plan, [m.due_date if m.is_finished else next(shifted) for m in milestones],
                 now)
