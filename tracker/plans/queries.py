"""Finding a learner's plan and milestones: the one ``current_plan``, and 404 for others'."""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import ScalarSelect, func, select
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


def current_plan(user: User) -> Plan | None:
    """Return the learner's plan in progress, if any."""
    return db.session.scalar(select(Plan).where(Plan.id == current_plan_id(user.id)))


def own_milestone(user: User, milestone_id: int) -> Milestone:
    """Return one of the learner's milestones; any other answers 404, never 403."""
    milestone = db.session.scalar(
        select(Milestone).join(Plan)
        .where(Milestone.id == milestone_id, Plan.user_id == user.id)
    )
    if milestone is None:
        abort(404)
    return milestone
