"""Finding a learner's plan and milestones: the one ``current_plan``, and 404 for others'."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from flask import abort
from sqlalchemy import Row, ScalarSelect, bindparam, func, select
from sqlalchemy.orm import aliased

from ..database import db
from ..models import Milestone, Plan, User


def current_plan_id(user_id: Any) -> ScalarSelect[int]:
    """Return the id of a learner's current plan as SQL: the newest not archived.

    ``user_id`` is an id, or ``User.id`` in a query over many learners (the sweep). Starting
    a plan archives the one before, so there is at most one; the newest wins regardless.
    """
    plan = aliased(Plan)
    return (
        select(func.max(plan.id))
        .where(plan.user_id == user_id, plan.archived_at.is_(None))
        .scalar_subquery()
    )


# Built once: the statement is the same for every learner.
_CURRENT_PLAN = select(Plan).where(Plan.id == current_plan_id(bindparam("user_id")))


def current_plan(user: User) -> Plan | None:
    """Return the learner's plan in progress, if any."""
    return db.session.scalars(_CURRENT_PLAN, {"user_id": user.id}).first()


# What pages read of a plan's milestones, as rows: a page only reads them, and 90 ORM objects
# cost the dashboard half its time (bench/cost.py: 4.2 ms a page against 2.0 ms with rows).
MilestoneState = Row[int, str, str, date, datetime | None, datetime | None, str, str, str]
_STATES = (
    select(Milestone.id, Milestone.step_id, Milestone.phase_id, Milestone.due_date,
           Milestone.done_at, Milestone.skipped_at, Milestone.skip_reason, Milestone.note,
           Milestone.evidence_url)
    .where(Milestone.user_id == bindparam("user_id"), Milestone.plan_id == bindparam("plan_id"))
    .order_by(Milestone.position)
)


def milestone_states(plan: Plan) -> list[MilestoneState]:
    """Return the plan's milestones in order, as rows of what the pages show."""
    # Plain rows need none of the ORM's loading: run the statement on the session's connection.
    return list(db.session.connection().execute(
        _STATES, {"user_id": plan.user_id, "plan_id": plan.id}).all())


def own_milestone(user: User, milestone_id: int) -> Milestone:
    """Return one of the learner's milestones; any other answers 404, never 403."""
    milestone = db.session.scalar(
        select(Milestone).where(Milestone.id == milestone_id, Milestone.user_id == user.id))
    if milestone is None:
        abort(404)
    return milestone


# A milestone's neighbours in its plan, and a plan's first open milestone: (id, step id, due).
_NEIGHBOURS = (
    select(Milestone.position, Milestone.id, Milestone.step_id, Milestone.due_date)
    .where(Milestone.user_id == bindparam("user_id"), Milestone.plan_id == bindparam("plan_id"),
           Milestone.position.in_([bindparam("before"), bindparam("after")]))
)
_FIRST_OPEN = (
    select(Milestone.id, Milestone.step_id, Milestone.due_date)
    .where(Milestone.user_id == bindparam("user_id"),
           Milestone.plan_id == current_plan_id(bindparam("user_id")),
           Milestone.done_at.is_(None), Milestone.skipped_at.is_(None))
    .order_by(Milestone.position).limit(1)
)


class Near(NamedTuple):
    """A milestone named from another page: where it is, its step and its due date."""

    id: int
    step_id: str
    due: date


def neighbours(m: Milestone) -> tuple[Near | None, Near | None]:
    """Return the milestones before and after ``m`` in its plan."""
    around = {"user_id": m.user_id, "plan_id": m.plan_id, "before": m.position - 1,
              "after": m.position + 1}
    rows = {position: Near(m_id, step_id, due)
            for position, m_id, step_id, due in db.session.execute(_NEIGHBOURS, around)}
    return rows.get(m.position - 1), rows.get(m.position + 1)


def first_open(user_id: int) -> Near | None:
    """Return the learner's next milestone to work on; None when the current plan is
    finished (or there is none)."""
    row = db.session.execute(_FIRST_OPEN, {"user_id": user_id}).first()
    return Near(*row) if row else None
