"""Switching a plan to another outcome: what comes along and what moves, worked out before
anything changes (the preview), for ``changes.switch`` to carry out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..core import scheduling
from ..core.roadmaps import Catalog, Roadmap, Step
from ..models import Milestone, Plan
from .changes import clear_days_off, dated_steps
from .steps import is_own, own_step


@dataclass(frozen=True)
class Move:
    """One milestone of a switched plan: its step, its new date, and the row it keeps."""

    phase_id: str
    step: Step
    due: date
    kept: Milestone | None  # the current plan's row for the same step, if any

    @property
    def carries(self) -> bool:
        """Say whether the learner's work comes along: done, skipped, noted, begun, own."""
        return self.kept is not None and (is_own(self.kept.step_id) or _has_work(self.kept))

    @property
    def finished(self) -> bool:
        return self.kept is not None and self.kept.is_finished


def _has_work(m: Milestone) -> bool:
    return m.is_finished or bool(m.note) or bool(m.evidence_url) or bool(m.checked)


@dataclass(frozen=True)
class Switch:
    """What moving a plan to another outcome does, worked out before anything changes."""

    plan: Plan
    outcome: str
    roadmaps: tuple[Roadmap, ...]
    moves: list[Move]

    @property
    def carried(self) -> list[Move]:
        return [m for m in self.moves if m.carries]

    @property
    def left_behind(self) -> list[Milestone]:
        """Return the current plan's milestones with work on them that the new one lacks."""
        steps = {m.step.id for m in self.moves}
        return [m for m in self.plan.milestones if m.step_id not in steps and _has_work(m)]

    @property
    def open_moves(self) -> list[Move]:
        return [m for m in self.moves if not m.finished]

    @property
    def finish(self) -> date:
        return max(m.due for m in self.moves)


def plan_switch(plan: Plan, catalog: Catalog, outcome: str, today: date) -> Switch:
    """Work out a switch of ``plan`` to ``outcome``'s roadmaps from ``today``, changing nothing.

    Work on a step the new plan also has comes along, with its date if it is done or
    skipped; everything open is dated from today on the learner's study days, at the new
    roadmaps' own spacing. Work left in an earlier plan comes back too: switching Go to Rust
    and back to Go loses nothing.
    """
    roadmaps = catalog.roadmaps_for(outcome)
    rows = {m.step_id: m for old in plan.user.plans if old is not plan
            for m in old.milestones if _has_work(m)}  # older plans first: the newest wins
    rows.update({m.step_id: m for m in plan.milestones})
    dated = _with_own(dated_steps(roadmaps, today, plan.weekdays, plan.weekly_hours),
                      plan.milestones)
    finished = [rows[s.id].is_finished if s.id in rows else False for _, s, _ in dated]
    dues = [rows[s.id].due_date if done else due
            for (_, s, due), done in zip(dated, finished, strict=True)]
    dues = clear_days_off(plan.user, scheduling.replan(dues, finished, today, plan.weekdays),
                          plan.weekdays, keep=finished)
    return Switch(plan, outcome, roadmaps, [
        Move(phase_id, s, due, rows.get(s.id))
        for (phase_id, s, _), due in zip(dated, dues, strict=True)])


def _with_own(dated: list[tuple[str, Step, date]], milestones: Sequence[Milestone]
              ) -> list[tuple[str, Step, date]]:
    """Put the learner's own milestones into a new plan's steps: each after the step it
    followed, if the new plan has it (else after the last one it has, or first)."""
    index = {s.id: i for i, (_, s, _) in enumerate(dated)}
    following: dict[int, list[Milestone]] = {}  # index in dated (-1: the start) -> own ones
    anchor = -1
    for m in milestones:
        if is_own(m.step_id):
            following.setdefault(anchor, []).append(m)
        elif m.step_id in index:
            anchor = index[m.step_id]
    first_phase, _, first_due = dated[0]
    result = [(first_phase, own_step(m), first_due) for m in following.get(-1, [])]
    for i, (phase_id, step, due) in enumerate(dated):
        result.append((phase_id, step, due))
        result += [(phase_id, own_step(m), due) for m in following.get(i, [])]
    return result
