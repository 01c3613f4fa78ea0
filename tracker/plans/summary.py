"""What the dashboard shows of a plan: its milestones joined with roadmap text, and its pace.

Pure over its arguments: a plan, its milestones, the steps they name and ``today``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from itertools import groupby
from zoneinfo import ZoneInfo

from ..core import scheduling
from ..core.roadmaps import Phase, Roadmap, Step
from ..models import Plan
from .queries import MilestoneState
from .steps import Steps


@dataclass
class Item:
    """A milestone as the dashboard lists it: its state joined with its step's text."""

    id: int
    step: Step
    due: date
    done_on: date | None  # in the learner's zone
    skipped_on: date | None  # "I already know this", in the learner's zone
    skip_reason: str
    late: bool  # open and due before today
    note: str
    evidence_url: str

    @property
    def finished(self) -> bool:
        """Say whether it needs no more work: done or skipped."""
        return self.done_on is not None or self.skipped_on is not None

    @property
    def title(self) -> str:
        return self.step.title

    @property
    def topic(self) -> str:
        return self.step.topic


@dataclass
class PhaseRow:
    """A phase (a month) of the plan, as the dashboard shows it."""

    number: int  # 1-based, as in /dashboard?phase=N
    roadmap: Roadmap
    phase: Phase | None  # None when a roadmap no longer has this phase
    done: int  # finished: done or skipped
    skipped: int
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
    pace: scheduling.Pace  # its "done" counts skipped milestones: they need no more work
    dues: list[date]
    done_on: list[date | None]  # done or skipped, the day it was
    skipped_on: list[date | None]
    phases: list[PhaseRow]
    due_now: list[Item]  # open milestones due today or earlier: what to study now
    next_up: Item | None  # the first open milestone due after today

    @property
    def skipped(self) -> int:
        """Return how many milestones were skipped."""
        return sum(1 for d in self.skipped_on if d is not None)

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


def done_dates(done_at: Sequence[datetime | None], zone: ZoneInfo) -> list[date | None]:
    """Return each completion instant as a day in the learner's zone (None while open)."""
    return [d.astimezone(zone).date() if d else None for d in done_at]


def summarize(
    plan: Plan, milestones: Sequence[MilestoneState], zone: ZoneInfo, steps: Steps,
    today: date
) -> Summary:
    """Join a plan's milestones with roadmap text and work out its pace at ``today``.

    A milestone whose step left ``plans/`` is neither listed nor counted: its row, and the
    progress recorded on it, stay in the database for when it comes back.
    """
    found = [(m, step) for m in milestones if (step := steps.step(m.step_id)) is not None]
    milestones = [m for m, _ in found]
    texts = [step for _, step in found]
    # One column at a time: the pace and chart read two columns of every milestone, the
    # page lists a few dozen milestones in full.
    ids, step_ids, phase_ids, due, done_at, skipped_at, reasons, notes, links = (
        zip(*milestones, strict=True) if milestones else ((),) * 9)
    dues = list(due)
    skipped_on = done_dates(skipped_at, zone)
    # Done or skipped: either needs no more work, for the pace, the chart and the counts.
    done_on = [d or s for d, s in zip(done_dates(done_at, zone), skipped_on, strict=True)]

    late_before = scheduling.as_of(today, plan.paused_on)  # a pause stops the clock

    def item_at(i: int) -> Item:
        step = texts[i]
        done = done_on[i] if skipped_on[i] is None else None
        return Item(ids[i], step, dues[i], done, skipped_on[i], reasons[i],
                    done_on[i] is None and dues[i] < late_before, notes[i], links[i])

    phases: list[PhaseRow] = []
    start = 0
    for number, (phase_id, group) in enumerate(groupby(phase_ids), 1):
        roadmap_id, _, slug = phase_id.partition("/")
        roadmap = steps.roadmaps[roadmap_id]
        phase = next((p for p in roadmap.phases if p.id == slug), None)
        positions = range(start, start + sum(1 for _ in group))
        done = sum(1 for i in positions if done_on[i])
        skipped = sum(1 for i in positions if skipped_on[i])
        phases.append(PhaseRow(number, roadmap, phase, done, skipped, len(positions), positions,
                               item_at))
        start = positions.stop
    open_ = [i for i, done in enumerate(done_on) if done is None]
    due_now = [item_at(i) for i in open_ if dues[i] <= today]
    next_up = next((item_at(i) for i in open_ if dues[i] > today), None)
    pace = scheduling.pace(dues, done_on, today, plan.weekdays, plan.paused_on)
    return Summary(plan, today, pace, dues, done_on, skipped_on, phases, due_now, next_up)
