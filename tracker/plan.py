"""The dashboard and everything done to a plan: tick, undo, re-plan, pause."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, select
from wtforms import StringField, TextAreaField
from wtforms.validators import URL, Length, Optional

from . import progress
from .catalog import get_catalog
from .chart import render_burn_up
from .db import db, reads_first, reads_only, writing
from .forms import ActionForm, local_target, local_today
from .models import Milestone, Plan, utcnow

bp = Blueprint("plan", __name__)


class TickForm(FlaskForm):
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)],
                         description="What you built or learned (optional).")
    evidence_url = StringField(
        "Evidence link",
        validators=[Optional(), URL(message="Enter a full link, like https://github.com/you/repo."),
                    Length(max=500)],
        description="A repository, gist or write-up (optional).",
    )


# What the dashboard shows of the plan and its milestones, as plain rows: the page only
# reads, and ORM objects (the user's plans loaded to pick one, 90 milestones, unused
# columns parsed from text on SQLite) cost more than the rows they carry. Built once:
# building a select costs as much as running it.
CURRENT_PLAN = (
    select(Plan.id, Plan.start_date, Plan.study_days, Plan.paused_on, Plan.outcome,
           Plan.recommended)
    .where(Plan.user_id == bindparam("user_id"), Plan.archived_at.is_(None))
    .order_by(Plan.id.desc())
    .limit(1)
)
MILESTONE_STATES = (
    select(Milestone.id, Milestone.step_id, Milestone.phase_id, Milestone.due_date,
           Milestone.done_at, Milestone.note, Milestone.evidence_url)
    .where(Milestone.plan_id == bindparam("plan_id"))
    .order_by(Milestone.position)
)


class MilestoneRow(NamedTuple):
    """A row of MILESTONE_STATES, as a plain tuple.

    SQLAlchemy's Row finds a column by name in Python, 15 times the cost of a tuple's
    field, and the page reads 90 rows several times each.
    """

    id: int
    step_id: str
    phase_id: str
    due_date: date
    done_at: datetime | None
    note: str
    evidence_url: str


def _today() -> date:
    return local_today(current_user.timezone, utcnow())


def get_milestone(milestone_id: int) -> Milestone:
    """Return one of the learner's milestones; any other answers 404, never 403."""
    milestone = db.session.scalar(
        select(Milestone)
        .join(Plan)
        .where(Milestone.id == milestone_id, Plan.user_id == current_user.id)
    )
    if milestone is None:
        abort(404)
    return milestone


@bp.get("/dashboard")
@reads_only
@login_required
def dashboard() -> ResponseReturnValue:
    """Answer: what do I study today, am I on track, when will I finish?"""
    connection = db.session.connection()
    plan = connection.execute(CURRENT_PLAN, {"user_id": current_user.id}).first()
    if plan is None:
        return redirect(url_for("decide.questions"))
    rows = connection.execute(MILESTONE_STATES, {"plan_id": plan.id}).all()
    states = list(map(MilestoneRow._make, rows))
    summary = progress.summarize(plan, states, current_user, get_catalog(), _today())
    chart = render_burn_up(summary.dues, summary.done_on, plan.start_date, summary.today)
    # One phase's milestones are listed: ?phase=N, else the one being studied.
    shown = request.args.get("phase", type=int)
    if shown not in range(1, len(summary.phases) + 1):
        shown = summary.current_phase
    return render_template("plan/dashboard.html", s=summary, shown=shown, chart=chart)


@bp.get("/milestones/<int:milestone_id>")
@reads_only
@login_required
def milestone(milestone_id: int) -> ResponseReturnValue:
    """Show what to learn for one milestone, its checklist and the tick form."""
    m = get_milestone(milestone_id)
    return _render_milestone(m, TickForm(obj=m))


def _render_milestone(m: Milestone, form: TickForm, status: int = 200) -> ResponseReturnValue:
    step = get_catalog().milestone(m.step_id)
    return render_template("plan/milestone.html", m=m, step=step, form=form), status


def _change_milestone(change: Any, milestone_id: int, **fields: Any) -> str:
    """Tick or untick one of the learner's milestones; 404 when it is not theirs."""
    with writing():  # on SQLite, holds the write lock for the two statements only
        step_id = change(
            db.session.connection(), milestone_id, current_user.id, now=utcnow(), **fields
        )
    if step_id is None:
        abort(404)
    return step_id


@bp.post("/milestones/<int:milestone_id>/done")
@reads_first
@login_required
def done(milestone_id: int) -> ResponseReturnValue:
    """Tick a milestone off, with an optional note and evidence link."""
    # CSRFProtect checked the token before the view: a form with a CSRF field would sign a
    # fresh one (a tenth of a tick's CPU) that only the page with the errors shows.
    form = TickForm(meta={"csrf": not g.get("csrf_valid", False)})
    if not form.validate():
        form = TickForm()
        form.validate()  # the same errors, on a form that renders the token
        return _render_milestone(get_milestone(milestone_id), form, 400)
    sent = request.form
    step_id = _change_milestone(
        progress.tick, milestone_id,
        note=(form.note.data or "") if "note" in sent else None,
        evidence_url=(form.evidence_url.data or "") if "evidence_url" in sent else None)
    step = get_catalog().milestone(step_id)
    flash(f"Done: {step.title if step else step_id}.")
    return redirect(local_target(request.form.get("next")))


@bp.post("/milestones/<int:milestone_id>/undo")
@reads_first
@login_required
def undo(milestone_id: int) -> ResponseReturnValue:
    """Open a ticked milestone again."""
    if ActionForm().validate():
        _change_milestone(progress.untick, milestone_id)
        flash("Marked as not done.")
    return redirect(local_target(request.form.get("next")))


@bp.get("/replan")
@reads_only
@login_required
def replan_preview() -> ResponseReturnValue:
    """Preview a re-plan from today: the new finish date before anything moves."""
    plan = progress.current_plan(current_user) or abort(404)
    today = _today()
    summary = progress.summarize(plan, plan.milestones, current_user, get_catalog(), today)
    new_dues = progress.replan_preview(plan, today)
    moves = [(row, due) for row, due in zip(summary.rows, new_dues, strict=True) if row.due != due]
    return render_template("plan/replan.html", s=summary, new_finish=max(new_dues), moves=moves)


@bp.post("/replan")
@login_required
def replan() -> ResponseReturnValue:
    """Move the open milestones so the next one is due from today."""
    plan = progress.current_plan(current_user) or abort(404)
    if ActionForm().validate():
        moved = progress.replan(plan, _today(), utcnow())
        db.session.commit()
        flash(f"Re-planned: {moved} milestone{'s' if moved != 1 else ''} moved." if moved
              else "Nothing to move: you are on schedule.")
    return redirect(url_for("plan.dashboard"))


@bp.post("/pause")
@login_required
def pause() -> ResponseReturnValue:
    """Pause the plan for a break; reminders stop."""
    plan = progress.current_plan(current_user) or abort(404)
    if ActionForm().validate() and plan.paused_on is None:
        progress.pause(plan, _today(), utcnow())
        db.session.commit()
        flash("Plan paused. Resume when you are back; "
              "open milestones move by the days you were away.")
    return redirect(url_for("plan.dashboard"))


@bp.post("/resume")
@login_required
def resume() -> ResponseReturnValue:
    """Resume a paused plan, shifting open milestones by the break."""
    plan = progress.current_plan(current_user) or abort(404)
    if ActionForm().validate() and plan.paused_on is not None:
        moved = progress.resume(plan, _today(), utcnow())
        db.session.commit()
        flash(f"Welcome back: {moved} milestone{'s' if moved != 1 else ''} moved."
              if moved else "Welcome back.")
    return redirect(url_for("plan.dashboard"))
