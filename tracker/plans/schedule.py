"""Change a plan's study days and hours a week, and its start date before any work is done,
with a preview of what moves before anything does.

Registered on the plans blueprint (tracker.plans.views).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..database import db
from ..models import Plan, utcnow
from ..web.filters import day_text
from . import changes
from .forms import ScheduleForm
from .queries import current_plan, milestone_states
from .steps import steps_for
from .summary import summarize
from .views import bp, today


def _page(plan: Plan, form: ScheduleForm, status: int = 200, *,
          preview: bool = False) -> ResponseReturnValue:
    summary = summarize(plan, milestone_states(plan), current_user.zone, steps_for(plan),
                        form.today)
    moves, new_finish = [], None
    if preview:
        new_dues = changes.reschedule_preview(plan, form.start_date.data, form.study_days.data,
                                              form.weekly_hours.data, form.today)
        moves = [(item, due) for item, due in zip(summary.items, new_dues, strict=True)
                 if item.due != due]
        new_finish = max(new_dues)
    return render_template("plans/schedule.html", s=summary, form=form, preview=preview,
                           moves=moves, new_finish=new_finish), status


@bp.route("/plan/schedule", methods=["GET", "POST"])
@login_required
def schedule() -> ResponseReturnValue:
    """Show the study days and start; a post previews the change, a confirmed one makes it."""
    plan = current_plan(current_user) or abort(404)
    form = ScheduleForm(today=today(), begun=any(m.is_finished for m in plan.milestones))
    if not form.is_submitted():
        form.start_date.data, form.study_days.data = plan.start_date, list(plan.weekdays)
        form.weekly_hours.data = plan.weekly_hours
        return _page(plan, form)
    if not form.validate():
        return _page(plan, form, 400)
    if form.begun:
        form.start_date.data = plan.start_date
    if form.confirm.data != "yes":
        return _page(plan, form, preview=True)
    before = max(m.due_date for m in plan.milestones)
    moved = changes.reschedule(plan, form.start_date.data, form.study_days.data,
                               form.weekly_hours.data, form.today, utcnow())
    db.session.commit()
    after = max(m.due_date for m in plan.milestones)
    flash(f"Schedule changed: {moved} milestone{'s' if moved != 1 else ''} moved, and the plan "
          f"now ends on {day_text(after)}"
          + (f" (it ended on {day_text(before)} before)." if after != before else "."))
    return redirect(url_for("plans.dashboard"))
