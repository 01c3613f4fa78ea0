"""The dashboard and everything done to a plan from it: tick, skip, undo, re-plan, pause,
resume."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup

from ..catalog import get_catalog
from ..core.chart import render_burn_up
from ..core.history import render_heatmap
from ..core.localtime import local_today
from ..database import db, read_only, read_then_write, writing
from ..models import Milestone, utcnow
from ..web.filters import day_text, learners_locale
from ..web.forms import ActionForm
from ..web.urls import next_or_dashboard
from . import changes, history, reviews, switching
from .forms import ChecklistForm, SkipForm, TickForm
from .queries import Near, current_plan, first_open, milestone_states, neighbours, own_milestone
from .steps import milestone_step, milestone_title, step_title, steps_for
from .summary import summarize

bp = Blueprint("plans", __name__)
# Ids are 64-bit in the database: a larger number in a URL is no milestone (404), not an
# overflow in the driver.
MILESTONE = "/milestones/<int(max=9223372036854775807):milestone_id>"


def today() -> date:
    """Return the learner's date, in their zone."""
    return local_today(current_user.timezone, utcnow())


@bp.get("/dashboard")
@read_only
@login_required
def dashboard() -> ResponseReturnValue:
    """Answer: what do I study today, am I on track, when will I finish?"""
    plan = current_plan(current_user)
    if plan is None:
        return redirect(url_for("decide.questions"))
    states = milestone_states(plan)
    summary = summarize(plan, states, current_user.zone, steps_for(plan), today())
    chart = render_burn_up(summary.dues, summary.done_on, plan.start_date, summary.today,
                           skipped_on=summary.skipped_on)
    due, due_count = reviews.due_reviews(db.session, current_user, summary.today)
    log = history.learners_log(current_user)
    streak = history.plan_streaks(log, summary.today, plan.weekdays,
                                  history.pauses_of(plan.pauses, plan.paused_on))
    # One phase's milestones are listed: ?phase=N, else the one being studied.
    shown = request.args.get("phase", type=int)
    if shown not in range(1, len(summary.phases) + 1):
        shown = summary.current_phase
    return render_template("plans/dashboard.html", s=summary, shown=shown, chart=chart,
                           reviews=due, review_count=due_count, streak=streak,
                           heatmap=render_heatmap(log, summary.today))


@bp.get(MILESTONE)
@read_only
@login_required
def milestone(milestone_id: int) -> ResponseReturnValue:
    """Show what to learn for one milestone, its checklist and the tick form."""
    m = own_milestone(current_user, milestone_id)
    return _render_milestone(m, TickForm(obj=m))


def _render_milestone(m: Milestone, form: TickForm, status: int = 200,
                      skip: SkipForm | None = None,
                      checklist: ChecklistForm | None = None) -> ResponseReturnValue:
    step = milestone_step(m)
    before, after = neighbours(m)
    # What the refused form sent, else what is saved; only places the list still has.
    ticked = (checklist.item.data if checklist else m.checked) or ()
    checked = set(ticked) & set(range(len(step.done_when if step else ())))
    return render_template(
        "plans/milestone.html", m=m, step=step, form=form, skip=skip, checklist=checklist,
        checked=checked, before=before and (before, _title(before)),
        after=after and (after, _title(after))
    ), status


@bp.post(f"{MILESTONE}/checklist")
@login_required
def checklist(milestone_id: int) -> ResponseReturnValue:
    """Save which "done when" items are ticked; once all are, offer to mark it done."""
    m = own_milestone(current_user, milestone_id)
    step = milestone_step(m)
    items = step.done_when if step else ()
    form = ChecklistForm()
    form.item.choices = list(enumerate(items))
    if not form.validate():
        return _render_milestone(m, TickForm(obj=m), 400, checklist=form)
    m.checked = sorted(set(form.item.data or ())) or None
    db.session.commit()
    count = len(m.checked or ())
    if request.accept_mimetypes.best == "application/json":  # checklist.js: no page, no flash
        return {"checked": count, "total": len(items)}
    if count == len(items) and not m.is_finished:
        flash("Every item is checked. Ready to mark it done?")
    else:
        flash(f"Checklist saved: {count} of {len(items)} checked.")
    return redirect(url_for("plans.milestone", milestone_id=m.id) + "#tick-h")


@bp.post(f"{MILESTONE}/done")
@read_then_write
@login_required
def done(milestone_id: int) -> ResponseReturnValue:
    """Tick a milestone off, with an optional note and evidence link."""
    form = TickForm()
    if not form.validate():
        return _render_milestone(own_milestone(current_user, milestone_id), form, 400)
    sent = request.form  # the one-click buttons send no note fields: keep what was saved
    locale = learners_locale()  # read now: the commit below expires the learner's row
    with writing():  # on SQLite, holds the write lock for these few statements only
        step_id = changes.tick(
            db.session.connection(), milestone_id, current_user.id, now=utcnow(), today=today(),
            note=(form.note.data or "") if "note" in sent else None,
            evidence_url=(form.evidence_url.data or "") if "evidence_url" in sent else None)
        # In the same transaction: one indexed row, and no second BEGIN after it.
        following = first_open(current_user.id) if step_id is not None else None
    if step_id is None:
        abort(404)
    title = step_title(step_id, lambda: own_milestone(current_user, milestone_id))
    if following is None:  # the last one: the plan is finished
        flash(f"Done: {title}. That was the last one!")
        return redirect(url_for("plans.complete"))
    # What comes next, a click away: the after-tick question is always "and now?".
    flash(Markup("Done: {}. Next up: <a href=\"{}\">{}</a>, due {}.").format(
        title, url_for("plans.milestone", milestone_id=following.id),
        _title(following), day_text(following.due, locale)))
    return redirect(next_or_dashboard(request.form.get("next")))


def _title(near: Near) -> str:
    return step_title(near.step_id, lambda: db.session.get_one(Milestone, near.id))


@bp.post(f"{MILESTONE}/skip")
@login_required
def skip(milestone_id: int) -> ResponseReturnValue:
    """Mark a milestone skipped ("I already know this"), with an optional reason."""
    m = own_milestone(current_user, milestone_id)
    form = SkipForm(prefix="skip")
    if not form.validate():
        return _render_milestone(m, TickForm(obj=m), 400, skip=form)
    if changes.skip([m], (form.reason.data or "").strip(), utcnow()):
        db.session.commit()
        flash(f"Skipped: {milestone_title(m)}. It counts as finished; Undo brings it back.")
    return redirect(next_or_dashboard(request.form.get("next")))


@bp.post("/plan/phases/<int(max=999):number>/skip")
@login_required
def skip_phase(number: int) -> ResponseReturnValue:
    """Skip what is left of one month of the plan in one go."""
    plan = current_plan(current_user) or abort(404)
    phase_ids = list(dict.fromkeys(m.phase_id for m in plan.milestones))
    if not 1 <= number <= len(phase_ids):
        abort(404)
    if ActionForm().validate():
        skipped = changes.skip([m for m in plan.milestones if m.phase_id == phase_ids[number - 1]],
                               "Skipped the whole month", utcnow())
        db.session.commit()
        flash(f"Skipped {skipped} milestone{'s' if skipped != 1 else ''} of this month. Each "
              "has an Undo." if skipped else "Nothing left to skip in this month.")
    return redirect(url_for("plans.dashboard", phase=number) + f"#phase-{number}")


@bp.post(f"{MILESTONE}/undo")
@read_then_write
@login_required
def undo(milestone_id: int) -> ResponseReturnValue:
    """Open a ticked milestone again."""
    if ActionForm().validate():
        with writing():
            step_id = changes.untick(db.session.connection(), milestone_id, current_user.id,
                                     now=utcnow())
        if step_id is None:
            abort(404)
        flash("Open again: it is back in your plan.")
    return redirect(next_or_dashboard(request.form.get("next")))


@bp.get("/replan")
@read_only
@login_required
def replan_preview() -> ResponseReturnValue:
    """Preview a re-plan from today: the new finish date before anything moves."""
    plan = current_plan(current_user) or abort(404)
    day = today()
    summary = summarize(plan, milestone_states(plan), current_user.zone, steps_for(plan), day)
    new_dues = changes.replan_preview(plan, day)
    moves = [(item, due) for item, due in zip(summary.items, new_dues, strict=True)
             if item.due != due]
    return render_template("plans/replan.html", s=summary, new_finish=max(new_dues), moves=moves)


@bp.post("/replan")
@login_required
def replan() -> ResponseReturnValue:
    """Move the open milestones so the next one is due from today."""
    plan = current_plan(current_user) or abort(404)
    if ActionForm().validate():
        moved = changes.replan(plan, today(), utcnow())
        db.session.commit()
        flash(f"Re-planned: {moved} milestone{'s' if moved != 1 else ''} moved." if moved
              else "Nothing to move: you are on schedule.")
    return redirect(url_for("plans.dashboard"))


@bp.post("/plan/push-week")
@login_required
def push_week() -> ResponseReturnValue:
    """Move the rest of the plan a week later: for a week that went to something else."""
    plan = current_plan(current_user) or abort(404)
    if ActionForm().validate():
        first = next((m for m in plan.milestones if not m.is_finished), None)
        moved = changes.push(first, changes.PUSH_DAYS, utcnow()) if first else 0
        db.session.commit()
        finish = max(m.due_date for m in plan.milestones)
        flash(f"Pushed a week: {moved} milestone{'s' if moved != 1 else ''} moved, and the "
              f"plan now ends on {day_text(finish)}." if moved else "Nothing left to move.")
    return redirect(url_for("plans.dashboard"))


def _switch_to(outcome: str | None) -> switching.Switch:
    """Work out the switch the page asks for; 404 without a plan or for an unknown outcome."""
    plan = current_plan(current_user) or abort(404)
    catalog = get_catalog()
    if outcome is None or outcome not in catalog.decision.outcomes or outcome == plan.outcome:
        abort(404)
    return switching.plan_switch(plan, catalog, outcome, today())


@bp.get("/plan/switch")
@login_required
def switch_preview() -> ResponseReturnValue:
    """Show what switching to another plan keeps and moves, before anything changes."""
    change = _switch_to(request.args.get("to"))
    outcome = get_catalog().decision.outcomes[change.outcome]
    return render_template("plans/switch.html", change=change, outcome=outcome,
                           step_title=milestone_title, form=ActionForm())


@bp.post("/plan/switch")
@login_required
def switch() -> ResponseReturnValue:
    """Switch to another outcome's plan, keeping the work on the steps both share."""
    change = _switch_to(request.form.get("to"))
    if not ActionForm().validate():
        return redirect(url_for("plans.switch_preview", to=change.outcome))
    changes.switch(change, utcnow())
    db.session.commit()
    kept = len(change.carried)
    flash(f"Switched. {kept} milestone{'s' if kept != 1 else ''} with your work on "
          f"{'them' if kept != 1 else 'it'} came along; the rest starts from today.")
    return redirect(url_for("plans.dashboard"))


@bp.post("/pause")
@login_required
def pause() -> ResponseReturnValue:
    """Pause the plan for a break; reminders stop."""
    plan = current_plan(current_user) or abort(404)
    if ActionForm().validate() and plan.paused_on is None:
        changes.pause(plan, today(), utcnow())
        db.session.commit()
        flash("Plan paused. Resume when you are back; "
              "open milestones move by the days you were away.")
    return redirect(url_for("plans.dashboard"))


@bp.post("/resume")
@login_required
def resume() -> ResponseReturnValue:
    """Resume a paused plan, shifting open milestones by the break."""
    plan = current_plan(current_user) or abort(404)
    if ActionForm().validate() and plan.paused_on is not None:
        moved = changes.resume(plan, today(), utcnow())
        db.session.commit()
        flash(f"Welcome back: {moved} milestone{'s' if moved != 1 else ''} moved."
              if moved else "Welcome back.")
    return redirect(url_for("plans.dashboard"))
