"""The end of a plan: what was done, a summary to share, and what to take on next.

Registered on the plans blueprint (tracker.plans.views).
"""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..catalog import get_catalog
from ..web.filters import day_text
from . import history
from .queries import current_plan, milestone_states
from .steps import steps_for
from .summary import summarize
from .views import bp, today

# What to take on after finishing a plan: the other language (Go-then-Rust has both).
NEXT = {"go": "rust", "rust": "go"}


@bp.get("/plan/complete")
@login_required
def complete() -> ResponseReturnValue:
    """Celebrate a finished plan; a plan with work left goes back to the dashboard."""
    plan = current_plan(current_user)
    if plan is None:
        return redirect(url_for("decide.questions"))
    steps = steps_for(plan)
    s = summarize(plan, milestone_states(plan), current_user.zone, steps, today())
    if s.pace.status != "done":
        return redirect(url_for("plans.dashboard"))
    title = steps.plan_title(plan)
    finished = max(d for d in s.done_on if d is not None)
    streak = history.plan_streaks(history.learners_log(current_user), s.today, plan.weekdays,
                                  history.pauses_of(plan.pauses, plan.paused_on))
    share = (f"I finished “{title}” with Roadmap Tracker: {s.pace.total} milestones from "
             f"{day_text(plan.start_date)} to {day_text(finished)}"
             + (f" ({s.skipped} of them known already)" if s.skipped else "")
             + f", with a longest streak of {streak.longest} study days.")
    following = get_catalog().decision.outcomes.get(NEXT.get(plan.outcome, ""))
    return render_template("plans/complete.html", s=s, title=title, finished=finished,
                           share=share, following=following, streak=streak)
