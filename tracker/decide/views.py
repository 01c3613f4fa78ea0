"""The decision flow: questions, the recommendation with its reasons, starting a plan."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ..catalog import get_catalog
from ..core.decision import recommend
from ..core.localtime import local_today
from ..core.roadmaps import Catalog
from ..database import db
from ..models import Plan, utcnow
from ..plans import changes
from ..plans.queries import current_plan
from .forms import StartPlanForm, decision_form

bp = Blueprint("decide", __name__, url_prefix="/decide")

@bp.route("", methods=["GET", "POST"])
@login_required
def questions() -> ResponseReturnValue:
    """Ask the questions one per screen (``?step=N``), or all on one (``?step=all``).

    Each screen's answers join those kept in the session, so Back and "Change my answers"
    show what was answered; the last screen goes on to the recommendation.
    """
    flow = get_catalog().decision
    count = len(flow.questions)
    step = _step(request.values.get("step", "1" if request.method == "GET" else "all"), count)
    if step is None:
        abort(404)
    shown = flow.questions if step == ALL else flow.questions[step - 1:step]
    kept = session.get("decision", {}).get("answers", {})
    # Kept as lists; a single-answer question's radios take the one value.
    form = decision_form(flow, shown, data={
        q.id: (kept.get(q.id) or [None])[0] if q.kind == "single" else kept.get(q.id, [])
        for q in shown})
    back = request.form.get("go") == "back"  # keeps what this screen has, answered or not
    valid = form.is_submitted() and form.validate()
    if valid or back and form.is_submitted() and not form.csrf_token.errors:
        answers = {**kept, **{q.id: _as_list(form[q.id].data) for q in shown
                              if not back or form[q.id].validate(form)}}
        session["decision"] = {"answers": answers}
        if back and step != ALL and step > 1:
            return redirect(url_for("decide.questions", step=step - 1))
        if step != ALL and step < count:
            return redirect(url_for("decide.questions", step=step + 1))
        return redirect(url_for("decide.result"))
    return render_template("decide/questions.html", flow=flow, form=form, shown=shown,
                           step=step, count=count), 400 if form.errors else 200


ALL = 0  # the step that shows every question at once


def _step(value: str, count: int) -> int | None:
    """Read the step asked for: a question's number (1-based) or "all"; None if neither."""
    if value == "all":
        return ALL
    return int(value) if value.isdigit() and 1 <= int(value) <= count else None


def _progress(plan: Plan) -> tuple[int, int]:
    """Return (finished, total) milestones of a plan."""
    return sum(1 for m in plan.milestones if m.is_finished), len(plan.milestones)


def _new_plan(catalog: Catalog, form: StartPlanForm) -> dict[str, Any]:
    """Say what the form would start: how many milestones, from when to when."""
    dated = changes.dated_steps(catalog.roadmaps_for(form.outcome.data), form.start_date.data,
                                form.study_days.data, form.weekly_hours.data)
    dues = changes.clear_days_off(current_user, [due for *_, due in dated], form.study_days.data)
    return {"outcome": catalog.decision.outcomes[form.outcome.data], "count": len(dated),
            "start": form.start_date.data, "finish": max(dues),
            "days": sorted(form.study_days.data)}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@bp.route("/result", methods=["GET", "POST"])
@login_required
def result() -> ResponseReturnValue:
    """Explain the recommendation and start the chosen plan."""
    catalog = get_catalog()
    decision = session.get("decision")
    unanswered = next((n for n, q in enumerate(catalog.decision.questions, 1)
                       if q.kind == "single" and not (decision or {}).get("answers", {}).get(q.id)),
                      None)
    if not decision or unanswered:  # back to the first question still waiting for an answer
        return redirect(url_for("decide.questions", step=unanswered or 1))
    recommendation = recommend(catalog.decision, decision["answers"])
    form = StartPlanForm()
    form.outcome.choices = [SelectChoice(o.id, o.title) for o in catalog.decision.outcomes.values()]
    if not form.is_submitted():
        form.outcome.data = recommendation.outcome.id
        form.timezone.data = current_user.timezone
        form.start_date.data = local_today(current_user.timezone, utcnow())
        current = current_plan(current_user)  # a new plan keeps the days one studies on
        form.study_days.data = list(current.weekdays) if current else [0, 1, 2, 3, 4]
        form.weekly_hours.data = current.weekly_hours if current else 10
    elif form.validate():
        current = current_plan(current_user)
        if current is not None and request.form.get("confirm") != "yes":
            # A new plan archives the one followed now: say what changes, and ask.
            return render_template("decide/replace.html", form=form, current=current,
                                   outcomes=catalog.decision.outcomes,
                                   progress=_progress(current), new=_new_plan(catalog, form))
        now = utcnow()
        current_user.timezone = form.timezone.data
        changes.create_plan(
            current_user,
            catalog,
            outcome=form.outcome.data,
            recommended=recommendation.outcome.id,
            answers=decision["answers"],
            start=form.start_date.data,
            study_days=form.study_days.data,
            now=now,
            weekly_hours=form.weekly_hours.data,
        )
        db.session.commit()
        session.pop("decision", None)
        return redirect(url_for("plans.dashboard"))
    return render_template(
        "decide/result.html",
        flow=catalog.decision,
        recommendation=recommendation,
        days={
            o.id: sum(r.days for r in catalog.roadmaps_for(o.id))
            for o in catalog.decision.outcomes.values()
        },
        form=form,
        current=current_plan(current_user),
    ), 400 if form.errors else 200
