"""Plan state changes and summaries: enrol, tick, re-plan, pause; what the dashboard shows.

Works on models and the catalog but takes ``today``/``now`` as arguments; the caller owns
the session and commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from itertools import groupby
from operator import attrgetter
from typing import Any, Protocol

from sqlalchemy import Connection, Update, bindparam, func, select, update

from . import scheduling
from .models import Milestone, Plan, User, UTCDateTime, parse_weekdays
from .plans import Catalog, Phase, Roadmap
from .plans import Milestone as Step


def create_plan(
    user: User,
    catalog: Catalog,
    *,
    outcome: str,
    recommended: str,
    answers: Mapping[str, list[str]],
    start: date,
    study_days: Collection[int],
    now: datetime,
) -> Plan:
    """Enrol the learner in an outcome's roadmaps, dated from ``start``; archive the old plan."""
    for old in user.plans:
        if old.archived_at is None:
            old.archived_at = now
    roadmaps = catalog.roadmaps_for(outcome)
    phases = [(r, p) for r in roadmaps for p in r.phases]
    dues = scheduling.schedule([(p.days, len(p.milestones)) for _, p in phases], start, study_days)
    steps = [(f"{r.id}/{p.id}", m) for r, p in phases for m in p.milestones]
    plan = Plan(
        outcome=outcome,
        recommended=recommended,
        roadmaps=[r.id for r in roadmaps],
        answers=dict(answers),
        start_date=start,
        study_days="".join(str(d) for d in sorted(set(study_days))),
        created_at=now,
        updated_at=now,
        milestones=[
            Milestone(step_id=m.id, phase_id=phase_id, position=i, due_date=due, updated_at=now)
            for i, ((phase_id, m), due) in enumerate(zip(steps, dues, strict=True))
        ],
    )
    user.plans.append(plan)
    user.calendar_changed_at = now
    return plan


def current_plan(user: User) -> Plan | None:
    """Return the learner's plan in progress, if any."""
    return next((p for p in reversed(user.plans) if p.archived_at is None), None)


class MilestoneState(Protocol):
    """A milestone's stored state: a ``Milestone``, or a plain row of its columns."""

    @property
    def id(self) -> int: ...
    @property
    def step_id(self) -> str: ...
    @property
    def phase_id(self) -> str: ...
    @property
    def due_date(self) -> date: ...
    @property
    def done_at(self) -> datetime | None: ...
    @property
    def note(self) -> str: ...
    @property
    def evidence_url(self) -> str: ...


def done_dates(milestones: Sequence[MilestoneState], user: User) -> list[date | None]:
    """Return each milestone's completion day in the learner's zone (None while open)."""
    zone = user.zone
    return [m.done_at.astimezone(zone).date() if m.done_at else None for m in milestones]


# Tick and undo are single statements the database applies to the row as it is when it
# writes: the change depends on nothing read before, so a tick and an undo racing on the
# same row (two tabs) cannot lose one another, and on SQLite the write lock is held for
# two statements only. Built once ("b_" names: update() keeps column names for itself).
_OWN_MILESTONE = (Milestone.id == bindparam("b_milestone")) & Milestone.plan_id.in_(
    select(Plan.id).where(Plan.user_id == bindparam("b_user")))
_NOW = bindparam("b_now", type_=UTCDateTime())


def _sent_or_kept(column: Any) -> Any:
    # None keeps what was saved: the one-click button sends no note fields.
    return func.coalesce(bindparam(f"b_{column.key}", type_=column.type), column)


_TICK = (
    update(Milestone).where(_OWN_MILESTONE)
    .values(done_at=func.coalesce(Milestone.done_at, _NOW), updated_at=_NOW,
            note=_sent_or_kept(Milestone.note), evidence_url=_sent_or_kept(Milestone.evidence_url))
    .returning(Milestone.step_id)
)
_UNTICK = (update(Milestone).where(_OWN_MILESTONE).values(done_at=None, updated_at=_NOW)
           .returning(Milestone.step_id))
_CALENDAR_CHANGED = (update(User).where(User.id == bindparam("b_user"))
                     .values(calendar_changed_at=_NOW))


def _change(connection: Connection, statement: Update, params: dict[str, Any]) -> str | None:
    step_id = connection.execute(statement, params).scalar()
    if step_id is not None:
        connection.execute(_CALENDAR_CHANGED, params)
    return step_id


def tick(
    connection: Connection, milestone_id: int, user_id: int, *, now: datetime,
    note: str | None = None, evidence_url: str | None = None,
) -> str | None:
    """Tick a learner's milestone off; a note or link left as None keeps what was saved.

    Ticking again keeps the first completion time. Returns the milestone's step id, or
    None when the milestone is not the learner's.
    """
    params = {"b_milestone": milestone_id, "b_user": user_id, "b_now": now,
              "b_note": note, "b_evidence_url": evidence_url}
    return _change(connection, _TICK, params)


def untick(connection: Connection, milestone_id: int, user_id: int, *, now: datetime) -> str | None:
    """Open a ticked milestone again, its note kept; None when it is not the learner's."""
    params = {"b_milestone": milestone_id, "b_user": user_id, "b_now": now}
    return _change(connection, _UNTICK, params)


def _move(plan: Plan, new_dues: Sequence[date], now: datetime) -> int:
    moved = 0
    for milestone, due in zip(plan.milestones, new_dues, strict=True):
        if milestone.due_date != due:
            milestone.due_date = due
            # Calendar clients take the new date only with a higher SEQUENCE.
            milestone.sequence += 1
            milestone.updated_at = now
            moved += 1
    if moved:
        plan.updated_at = now
        plan.user.calendar_changed_at = now
    return moved


def replan_preview(plan: Plan, today: date) -> list[date]:
    """Return the due dates a re-plan from ``today`` would give, changing nothing."""
    milestones = plan.milestones
    return scheduling.replan(
        [m.due_date for m in milestones], [m.is_done for m in milestones], today, plan.weekdays
    )


def replan(plan: Plan, today: date, now: datetime) -> int:
    """Restart the open milestones from today at their spacing; return how many moved."""
    return _move(plan, replan_preview(plan, today), now)


def pause(plan: Plan, today: date, now: datetime) -> None:
    """Pause the plan (a vacation): no reminders until it is resumed."""
    plan.paused_on = today
    plan.updated_at = now


def resume(plan: Plan, today: date, now: datetime) -> int:
    """Resume a paused plan, pushing open milestones back by the study days missed."""
    paused_on, plan.paused_on = plan.paused_on, None
    plan.updated_at = now
    if paused_on is None or today <= paused_on:
        return 0
    milestones = plan.milestones
    open_dues = [m.due_date for m in milestones if not m.is_done]
    shifted = iter(scheduling.shift(open_dues, paused_on, today, plan.weekdays))
    return _move(plan, [m.due_date if m.is_done else next(shifted) for m in milestones], now)


class PlanState(Protocol):
    """What a summary reads of a plan: a ``Plan``, or a plain row of its columns."""

    @property
    def start_date(self) -> date: ...
    @property
    def study_days(self) -> str: ...
    @property
    def paused_on(self) -> date | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def recommended(self) -> str: ...


# A Row is a plain slotted class, built fresh for each page and never shared: a frozen
# dataclass sets each field through object.__setattr__, five times the cost.
@dataclass(slots=True)
class Row:
    """A milestone as the dashboard shows it: state joined with roadmap text."""

    state: MilestoneState
    step: Step | None  # None when a roadmap no longer has this milestone
    done_on: date | None
    id: int
    due: date
    late: bool  # open and due before today
    title: str
    topic: str
    note: str
    evidence_url: str


@dataclass
class PhaseRow:
    """A phase (a month) of the plan, as the dashboard shows it."""

    number: int  # 1-based, as in /dashboard?phase=N
    roadmap: Roadmap
    phase: Phase | None  # None when a roadmap no longer has this phase
    title: str
    name: str  # the title's head: "Month 2" of "Month 2: Concurrency"
    topic: str  # and its tail
    done: int
    total: int
    percent: int
    positions: range  # of its milestones in the plan
    row_at: Callable[[int], Row]  # the milestone at a position, joined with roadmap text

    @classmethod
    def of(
        cls,
        number: int,
        roadmap: Roadmap,
        phase: Phase | None,
        positions: range,
        done_on: Sequence[date | None],
        row_at: Callable[[int], Row],
    ) -> PhaseRow:
        """Count a phase's milestones done and split its title."""
        title = phase.title if phase else "Retired phase"
        name, _, topic = title.partition(":")
        done = sum(1 for i in positions if done_on[i])
        return cls(number, roadmap, phase, title, name, topic.strip(), done, len(positions),
                   done * 100 // len(positions), positions, row_at)

    @cached_property
    def rows(self) -> list[Row]:
        """Return its milestones joined with roadmap text, on first use."""
        # A page lists one phase: joining the other 80 milestones was a tenth of its work.
        return [self.row_at(i) for i in self.positions]


@dataclass(frozen=True)
class Summary:
    plan: PlanState
    weekdays: tuple[int, ...]
    today: date
    pace: scheduling.Pace
    dues: list[date]
    done_on: list[date | None]
    phases: list[PhaseRow]
    due_now: list[Row]  # open milestones due today or earlier: what to study now
    next_up: Row | None  # the first open milestone due after today

    @property
    def rows(self) -> list[Row]:
        """Return every milestone joined with roadmap text."""
        return [r for ph in self.phases for r in ph.rows]

    @property
    def study_days(self) -> str:
        """Name the days of the week the learner studies: "Mon, Wed, Fri"."""
        return ", ".join(scheduling.WEEKDAYS[d][:3] for d in self.weekdays)

    @property
    def current_phase(self) -> int:
        """Return the 1-based number of the phase being studied: the first with open work."""
        return next((ph.number for ph in self.phases if ph.done < ph.total), len(self.phases))


def summarize(
    plan: PlanState, states: Sequence[MilestoneState], user: User, catalog: Catalog, today: date
) -> Summary:
    """Join a plan's milestones with roadmap text and work out its pace at ``today``.

    The plan and its milestones may be models or plain rows of their columns.
    """
    done_on = done_dates(states, user)
    dues = [m.due_date for m in states]

    def row_at(i: int) -> Row:
        m, done, due = states[i], done_on[i], dues[i]
        step = catalog.milestone(m.step_id)
        return Row(m, step, done, m.id, due, done is None and due < today,
                   step.title if step else m.step_id, step.topic if step else "",
                   m.note, m.evidence_url)

    phases: list[PhaseRow] = []
    start = 0
    for number, (phase_id, group) in enumerate(groupby(states, key=attrgetter("phase_id")), 1):
        roadmap_id, _, slug = phase_id.partition("/")
        roadmap = catalog.roadmaps[roadmap_id]
        phase = next((p for p in roadmap.phases if p.id == slug), None)
        positions = range(start, start + sum(1 for _ in group))
        phases.append(PhaseRow.of(number, roadmap, phase, positions, done_on, row_at))
        start = positions.stop
    open_ = [i for i, done in enumerate(done_on) if done is None]
    due_now = [row_at(i) for i in open_ if dues[i] <= today]
    next_up = next((row_at(i) for i in open_ if dues[i] > today), None)
    weekdays = parse_weekdays(plan.study_days)
    pace = scheduling.pace(dues, done_on, today, weekdays)
    return Summary(plan, weekdays, today, pace, dues, done_on, phases, due_now, next_up)
