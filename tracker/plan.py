"""The dashboard and everything done to a plan: tick, undo, re-plan, pause."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple, cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import URL, Length, Optional

from . import progress
from .catalog import get_catalog
from .chart import render_burn_up
from .db import db, reads_only
from .forms import local_today
from .models import Milestone, Plan, utcnow
from .plans import Milestone as Step

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


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""

    def hidden_tag(self, *fields: Any) -> Markup:
        """Render the hidden CSRF field, once per form: it is the same for every button."""
        # The dashboard has a button per milestone; rendering the field through WTForms
        # each time was a third of the page's CPU at 90 milestones.
        if fields:
            return super().hidden_tag(*fields)
        if self._hidden is None:
            self._hidden = super().hidden_tag()
        return self._hidden

    _hidden: Markup | None = None


def _today() -> date:
    return local_today(current_user.timezone, utcnow())


def get_milestone(milestone_id: int) -> Milestone:
    """Return one of the learner's milestones; any other answers 404, never 403."""
    milestone = db.session.scalar(
        select(Milestone).join(Plan).where(Milestone.id == milestone_id, Plan.user_id == current_user.id)
    )
    if milestone is None:
        abort(404)
    return milestone


@lru_cache(maxsize=4096)
def day(d: date, fmt: str = "%a %-d %b") -> Markup:
    """Render a day as a ``<time>`` element."""
    # Cached: a plan's few hundred dates come back on every request.
    return Markup(f'<time datetime="{d.isoformat()}">{d.strftime(fmt)}</time>')


class Line(NamedTuple):
    """A milestone row of the dashboard, with its text and links worked out once."""

    id: int
    title: Markup
    topic: Markup | None
    due: date
    due_label: Markup
    done_on: date | None
    done_label: Markup | None
    late: bool
    note: str | None
    evidence_url: str | None
    href: str  # the links are HTML-escaped already
    action: str


def _row_html(r: Line, csrf: Markup, home: Markup) -> str:
    """Render one milestone of a phase list, with its one-click done/undo form."""
    # One string per row instead of a dozen template outputs: at 90 rows the autoescaping of
    # each output was most of the render. Text from the learner or the catalog is escaped
    # here (title and topic already are).
    title = r.title
    if r.done_on:
        cls, icon, state = " done", "✓", f"· done {r.done_label}"
        button = (f'<button type="submit" class="secondary small">Undo'
                  f'<span class="visually-hidden">: {title}</span></button>\n  ')
    else:
        cls, icon, state = (" late", "!", "· <strong>overdue</strong>") if r.late else ("", "", "")
        button = (f'<button type="submit" class="small">Mark done'
                  f'<span class="visually-hidden">: {title}</span></button>')
    note = f'<p class="note">{escape(r.note)}</p>' if r.note else ""
    evidence = (f'<p class="evidence"><a href="{escape(r.evidence_url)}" rel="nofollow noopener">'
                f'Evidence<span class="visually-hidden"> for {title}</span></a></p>'
                if r.evidence_url else "")
    return f"""
    <li class="milestone{cls}" id="m-{r.id}">
      <div class="m-main">
        <span class="m-icon" aria-hidden="true">{icon}</span>
        <a class="m-title" href="{r.href}">{title}</a>
        <span class="m-meta">{f"{r.topic} · " if r.topic else ""}due {r.due_label}
          {state}</span>
        {note}
        {evidence}
      </div>
      <div class="m-action"><form method="post" action="{r.action}" class="inline">
  {csrf}
  <input type="hidden" name="next" value="{home}#m-{r.id}">
  {button}
</form></div>
    </li>
  """


class Section(NamedTuple):
    """A phase of the plan as the dashboard shows it: a month bar and a list of milestones."""

    roadmap: Any
    title: str
    done: int
    total: int
    percent: int
    open: bool
    lines: list[Line]
    html: Markup  # the milestone list items


_texts: dict[str, tuple[Step, Markup, Markup]] = {}


def _step_text(step: Step) -> tuple[Markup, Markup]:
    """Return a catalog milestone's title and topic, escaped once per catalog."""
    known = _texts.get(step.id)
    if known is None or known[0] is not step:  # a reloaded catalog has new Step objects
        known = _texts[step.id] = (step, escape(step.title), escape(step.topic))
    return known[1], known[2]


def _url_parts(endpoint: str) -> tuple[Markup, Markup]:
    # One url_for per endpoint and string formatting per row: url_for for each of 90 rows
    # was a tenth of the page's CPU.
    head, _, tail = url_for(endpoint, milestone_id=2**31 - 1).partition(str(2**31 - 1))
    return escape(head), escape(tail)


def dashboard_lines(
    summary: progress.Summary, csrf: Markup, home: str
) -> tuple[list[Line], list[Section]]:
    """Return the dashboard's rows in plan order, and its phases with their rendered rows."""
    today = summary.today
    show_head, show_tail = _url_parts("plan.milestone")
    done_head, done_tail = _url_parts("plan.done")
    undo_head, undo_tail = _url_parts("plan.undo")
    next_url = escape(home)
    lines: list[Line] = []  # summarize's phases hold its rows in plan order
    sections: list[Section] = []
    first_open = True
    for ph in summary.phases:
        group: list[Line] = []
        done = 0
        for r in ph.rows:
            m, step, done_on = r.state, r.step, r.done_on
            mid, due = m.id, m.due_date
            title, topic = _step_text(step) if step else (escape(m.step_id), None)
            line = Line(
                mid,
                title,
                topic,
                due,
                day(due),
                done_on,
                day(done_on) if done_on else None,
                not done_on and due < today,
                m.note,
                m.evidence_url,
                f"{show_head}{mid}{show_tail}",
                f"{undo_head}{mid}{undo_tail}" if done_on else f"{done_head}{mid}{done_tail}",
            )
            done += bool(done_on)
            group.append(line)
        lines += group
        total = len(group)
        # The phase with the first open milestone is unfolded; the others stay shut.
        current = first_open and done < total
        first_open = first_open and not current
        sections.append(Section(ph.roadmap, ph.phase.title if ph.phase else "Retired phase", done,
                                total, done * 100 // total if total else 0, current, group,
                                Markup("".join([_row_html(r, csrf, next_url) for r in group]))))
    return lines, sections


# What the dashboard reads of a milestone.
_SHOWN = (Milestone.id, Milestone.step_id, Milestone.phase_id, Milestone.due_date,
          Milestone.done_at, Milestone.note, Milestone.evidence_url)


def _read_milestones(plan: Plan) -> Sequence[Milestone]:
    """Return the plan's milestones as plain read-only rows, in plan order."""
    # Rows rather than ORM objects: the page only reads them, and building 90 identity-mapped
    # Milestones was a quarter of its CPU. The rows have the attributes summarize reads.
    rows = db.session.execute(select(*_SHOWN).where(Milestone.plan_id == plan.id)
                              .order_by(Milestone.position)).all()
    return cast(Sequence[Milestone], rows)


@bp.get("/dashboard")
@reads_only
@login_required
def dashboard() -> ResponseReturnValue:
    """Answer: what do I study today, am I on track, when will I finish?"""
    plan = progress.current_plan(current_user)
    if plan is None:
        return redirect(url_for("decide.questions"))
    summary = progress.summarize(plan, current_user, get_catalog(), _today(),
                                 _read_milestones(plan))
    action = ActionForm()
    csrf, home = action.hidden_tag(), url_for("plan.dashboard")
    rows, sections = dashboard_lines(summary, csrf, home)
    today = summary.today
    due_now = [r for r in rows if not r.done_on and r.due <= today]
    next_up = next((r for r in rows if not r.done_on and r.due > today), None)
    chart = render_burn_up([r.due for r in rows], [r.done_on for r in rows], plan.start_date, today)
    return render_template("plan/dashboard.html", s=summary, plan=plan, today=today, rows=rows,
                           sections=sections, due_now=due_now, next_up=next_up, action=action,
                           csrf=csrf, chart=chart, day=day, home=home)


@bp.get("/milestones/<int:milestone_id>")
@reads_only
@login_required
def milestone(milestone_id: int) -> ResponseReturnValue:
    """Show what to learn for one milestone, its checklist and the tick form."""
    m = get_milestone(milestone_id)
    return _render_milestone(m, TickForm(obj=m))


def _render_milestone(m: Milestone, form: TickForm, status: int = 200) -> ResponseReturnValue:
    step = get_catalog().milestone(m.step_id)
    return render_template("plan/milestone.html", m=m, step=step, form=form, action=ActionForm()), status


@bp.post("/milestones/<int:milestone_id>/done")
@login_required
def done(milestone_id: int) -> ResponseReturnValue:
    """Tick a milestone off, with an optional note and evidence link."""
    m = get_milestone(milestone_id)
    form = TickForm()
    if not form.validate():
        return _render_milestone(m, form, 400)
    # The one-click button sends no note fields: keep a note saved earlier.
    sent = request.form
    progress.set_done(m, current_user, now=utcnow(),
                      note=(form.note.data or "") if "note" in sent else None,
                      evidence_url=(form.evidence_url.data or "") if "evidence_url" in sent else None)
    step_id = m.step_id  # read before the commit expires it: no reload query for the message
    db.session.commit()
    step = get_catalog().milestone(step_id)
    flash(f"Done: {step.title if step else step_id}.")
    return redirect(_back())


@bp.post("/milestones/<int:milestone_id>/undo")
@login_required
def undo(milestone_id: int) -> ResponseReturnValue:
    """Open a ticked milestone again."""
    m = get_milestone(milestone_id)
    if ActionForm().validate():
        progress.set_open(m, current_user, now=utcnow())
        db.session.commit()
        flash("Marked as not done.")
    return redirect(_back())


def _back() -> str:
    # Return to the page the button was on (dashboard or milestone), never off-site.
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("plan.dashboard")


@bp.get("/replan")
@reads_only
@login_required
def replan_preview() -> ResponseReturnValue:
    """Preview a re-plan from today: the new finish date before anything moves."""
    plan = progress.current_plan(current_user) or abort(404)
    today = _today()
    summary = progress.summarize(plan, current_user, get_catalog(), today)
    new_dues = progress.replan_preview(plan, today)
    moves = [(row, due) for row, due in zip(summary.rows, new_dues, strict=True) if row.state.due_date != due]
    return render_template("plan/replan.html", s=summary, new_finish=max(new_dues), moves=moves,
                           action=ActionForm())


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
        flash("Plan paused. Resume when you are back; open milestones move by the days you were away.")
    return redirect(url_for("plan.dashboard"))


@bp.post("/resume")
@login_required
def resume() -> ResponseReturnValue:
    """Resume a paused plan, shifting open milestones by the break."""
    plan = progress.current_plan(current_user) or abort(404)
    if ActionForm().validate() and plan.paused_on is not None:
        moved = progress.resume(plan, _today(), utcnow())
        db.session.commit()
        flash(f"Welcome back: {moved} milestone{'s' if moved != 1 else ''} moved." if moved else "Welcome back.")
    return redirect(url_for("plan.dashboard"))
