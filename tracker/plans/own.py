"""A learner's own milestones: add one after another milestone or on a date, edit, remove.

Registered on the plans blueprint (tracker.plans.views).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ..core import scheduling
from ..database import db
from ..models import Milestone, Plan, utcnow
from ..web.filters import day_text
from ..web.forms import ActionForm
from . import changes
from .forms import OwnMilestoneForm
from .queries import current_plan, own_milestone
from .steps import is_own, new_own_step_id, steps_for
from .views import MILESTONE, bp, today


def _own_form(plan: Plan, editing: Milestone | None = None, **kwargs: Any) -> OwnMilestoneForm:
    """Return the own-milestone form, offering the plan's other milestones to follow."""
    form = OwnMilestoneForm(**kwargs)
    steps = steps_for(plan, own=plan.milestones)
    form.after.choices = [
        SelectChoice(m.id, f"{(s.title if (s := steps.step(m.step_id)) else m.step_id)}"
                           f" (due {day_text(m.due_date)})")
        for m in plan.milestones if m is not editing]
    return form


def _save_own(plan: Plan, m: Milestone, form: OwnMilestoneForm) -> None:
    m.title, m.learn = form.title.data.strip(), (form.learn.data or "").strip()
    if m.done_when != (items := form.done_when_items()):
        m.checked = None  # ticks were of the old list's places
    m.done_when, m.links = items, form.link_pairs()
    others = [x for x in plan.milestones if x is not m]
    after: Milestone | None
    if form.placement.data == "after":
        after = next(x for x in others if x.id == form.after.data)
        due = scheduling.next_study_day(after.due_date + timedelta(days=1), plan.weekdays)
    else:
        due = form.due_date.data
        after = next((x for x in reversed(others) if x.due_date <= due), None)
    changes.place_own(plan, m, after=after, due=due, now=utcnow())


@bp.route("/plan/milestones/new", methods=["GET", "POST"])
@login_required
def add_own() -> ResponseReturnValue:
    """Add a milestone of the learner's own to the plan."""
    plan = current_plan(current_user) or abort(404)
    form = _own_form(plan)
    if form.validate_on_submit():
        m = Milestone(step_id=new_own_step_id(), due_date=today(), position=0, phase_id="")
        _save_own(plan, m, form)
        db.session.commit()
        flash(f"Added to your plan: {m.title}, due {day_text(m.due_date)}.")
        return redirect(url_for("plans.milestone", milestone_id=m.id))
    return render_template("plans/own.html", form=form, m=None), 400 if form.errors else 200


@bp.route(f"{MILESTONE}/edit", methods=["GET", "POST"])
@login_required
def edit_own(milestone_id: int) -> ResponseReturnValue:
    """Change a milestone of the learner's own: its text, or when it is due."""
    m = own_milestone(current_user, milestone_id)
    if not is_own(m.step_id):
        abort(404)  # the roadmap's milestones are not the learner's to rewrite
    plan = m.plan
    form = _own_form(plan, editing=m, formdata=None if request.method == "GET" else request.form,
                     data={"title": m.title, "learn": m.learn, "due_date": m.due_date,
                           "done_when": "\n".join(m.done_when or ()), "placement": "date",
                           "links": "\n".join(f"{t} {u}" for t, u in (m.links or ()))})
    if form.validate_on_submit():
        _save_own(plan, m, form)
        db.session.commit()
        flash("Saved.")
        return redirect(url_for("plans.milestone", milestone_id=m.id))
    return render_template("plans/own.html", form=form, m=m), 400 if form.errors else 200


@bp.post(f"{MILESTONE}/delete")
@login_required
def delete_own(milestone_id: int) -> ResponseReturnValue:
    """Remove a milestone of the learner's own from the plan."""
    m = own_milestone(current_user, milestone_id)
    if not is_own(m.step_id):
        abort(404)
    if ActionForm().validate():
        title = m.title
        changes.delete_own(m, utcnow())
        db.session.commit()
        flash(f"Removed from your plan: {title}.")
    return redirect(url_for("plans.dashboard"))
