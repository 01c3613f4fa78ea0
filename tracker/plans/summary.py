"""What the dashboard shows of a plan: its milestones joined with roadmap text, and its pace.

Pure over its arguments: a plan, its milestones, the catalog and ``today``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from itertools import groupby
from operator import attrgetter
from zoneinfo import ZoneInfo

from ..core import scheduling
from ..core.roadmaps import Catalog, Phase, Roadmap, Step
from ..models import Milestone, Plan


@dataclass
class Item:
    """A milestone as the dashboard lists it: its state joined with its step's text."""

    milestone: Milestone
    step: Step | None  # None when a roadmap no longer has this step
    done_on: date | None  # in the learner's zone
    late: bool  # open and due before today

    @property
    def id(self) -> int:
        return self.milestone.id

    @property
    def due(self) -> date:
        return self.milestone.due_date

    @property
    def title(self) -> str:
        return self.step.title if self.step else self.milestone.step_id

    @property
    def topic(self) -> str:
        return self.step.topic if self.step else ""

    @property
    def note(self) -> str:
        return self.milestone.note

    @property
    def evidence_url(self) -> str:
        return self.milestone.evidence_url


@dataclass
class PhaseRow:
    """A phase (a month) of the plan, as the dashboard shows it."""

    number: int  # 1-based, as in /dashboard?phase=N
    roadmap: Roadmap
    phase: Phase | None  # None when a roadmap no longer has this phase
    done: int
    total: int
    positions: range  # of its milestones in the plan
    item_at: Callable[[int], Item]  # the milestone at a position, joined with roadmap text

    @property
    def title(self) -> str:
        return self.phase.title if self.phase else "Retired phase"

    @property
    def name(self) -> str:
        """Return the title's head: "Month 2" of "Month 2: Concurrency"."""
        return self.title.partition(":")[0]

    @property
    def topic(self) -> str:
        """Return the title's tail: "Concurrency" of "Month 2: Concurrency"."""
        return self.title.partition(":")[2].strip()

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total

    @cached_property
    def items(self) -> list[Item]:
        """Return its milestones joined with roadmap text, on first use."""
        # A page lists one phase: joining the other 80 milestones was a tenth of its work.
        return [self.item_at(i) for i in self.positions]


@dataclass(frozen=True)
class Summary:
    plan: Plan
    today: date
    pace: scheduling.Pace
    dues: list[date]
    done_on: list[date | None]
    phases: list[PhaseRow]
    due_now: list[Item]  # open milestones due today or earlier: what to study now
    next_up: Item | None  # the first open milestone due after today

    @property
    def items(self) -> list[Item]:
        """Return every milestone joined with roadmap text."""
        return [item for ph in self.phases for item in ph.items]

    @property
    def study_days(self) -> str:
        """Name the days of the week the learner studies: "Mon, Wed, Fri"."""
        return ", ".join(scheduling.WEEKDAYS[d][:3] for d in self.plan.weekdays)

    @property
    def current_phase(self) -> int:
        """Return the 1-based number of the phase being studied: the first with open work."""
        return next((ph.number for ph in self.phases if ph.done < ph.total), len(self.phases))


def done_dates(milestones: Sequence[Milestone], zone: ZoneInfo) -> list[date | None]:
    """Return each milestone's completion day in the learner's zone (None while open)."""
    return [m.done_at.astimezone(zone).date() if m.done_at else None for m in milestones]


def summarize(
    plan: Plan, milestones: Sequence[Milestone], zone: ZoneInfo, catalog: Catalog, today: date
) -> Summary:
    """Join a plan's milestones with roadmap text and work out its pace at ``today``."""
    done_on = done_dates(milestones, zone)
    dues = [m.due_date for m in milestones]

    def item_at(i: int) -> Item:
        m = milestones[i]
        return Item(m, catalog.step(m.step_id), done_on[i], done_on[i] is None and dues[i] < today)

    phases: list[PhaseRow] = []
    start = 0
    for number, (phase_id, group) in enumerate(groupby(milestones, key=attrgetter("phase_id")), 1):
        roadmap_id, _, slug = phase_id.partition("/")
        roadmap = catalog.roadmaps[roadmap_id]
        phase = next((p for p in roadmap.phases if p.id == slug), None)
        positions = range(start, start + sum(1 for _ in group))
        done = sum(1 for i in positions if done_on[i])
        phases.append(PhaseRow(number, roadmap, phase, done, len(positions), positions, item_at))
        start = positions.stop
    open_ = [i for i, done in enumerate(done_on) if done is None]
    due_now = [item_at(i) for i in open_ if dues[i] <= today]
    next_up = next((item_at(i) for i in open_ if dues[i] > today), None)
    pace = scheduling.pace(dues, done_on, today, plan.weekdays)
    return Summary(plan, today, pace, dues, done_on, phases, due_now, next_up)
