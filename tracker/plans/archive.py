"""Your plans: every plan the learner followed, the current one and those archived when they
started another, each readable as it was left.

Registered on the plans blueprint (tracker.plans.views).
"""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..database import db, read_only
from ..models import Milestone, Plan
from .queries import milestone_states
from .steps import steps_for
from .summary import summarize
from .views import bp, today


@bp.get("/plans")
@read_only
@login_required
def plan_history() -> ResponseReturnValue:
    """List the learner's plans, newest first, with what was done in each."""
    plans = db.session.scalars(select(Plan).where(Plan.user_id == current_user.id)
                               .order_by(Plan.id.desc())).all()
    # One statement counts every plan's milestones, rather than loading each plan's rows.
    counts = {plan_id: (finished, total) for plan_id, finished, total in db.session.execute(
        select(Milestone.plan_id,
               func.count(Milestone.done_at) + func.count(Milestone.skipped_at),
               func.count())
        .where(Milestone.user_id == current_user.id).group_by(Milestone.plan_id))}
    rows = [(plan, steps_for(plan).plan_title(plan), *counts.get(plan.id, (0, 0)))
            for plan in plans]
    return render_template("plans/history.html", rows=rows)


@bp.get("/plans/<int(max=9223372036854775807):plan_id>")
@read_only
@login_required
def old_plan(plan_id: int) -> ResponseReturnValue:
    """Show an archived plan as it was left; the current one is the dashboard."""
    plan = db.session.scalar(select(Plan).where(Plan.id == plan_id,
                                                Plan.user_id == current_user.id))
    if plan is None:
        abort(404)  # another learner's plan is no plan: 404, never 403
    if plan.archived_at is None:
        return redirect(url_for("plans.dashboard"))
    steps = steps_for(plan)
    s = summarize(plan, milestone_states(plan), current_user.zone, steps, today())
    return render_template("plans/old_plan.html", s=s, title=steps.plan_title(plan),
                           archived_on=plan.archived_at.astimezone(current_user.zone).date())
