"""Roadmaps: load plan files from TOML, validate them, and look steps up by id.

Pure: no Flask, no database. A roadmap is phases (months) of steps; a learner's plan
dates the steps as milestones (tracker.models.Milestone, keyed by ``Step.id``). The
schema is documented in ``plans/README.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from .checks import Checker, PlanError, is_url, join, read_toml, read_toml_text
from .decision import DecisionFlow, parse_decision

PLANS_DIR = Path(__file__).resolve().parent.parent.parent / "plans"
DECISION_FILE = "decision.toml"


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Step:
    """One thing to learn in a roadmap; a learner's plan dates it as a milestone."""

    id: str  # "<roadmap>/<slug>": the stable key learner progress hangs on
    topic: str
    title: str
    learn: str
    done_when: tuple[str, ...]
    links: tuple[Link, ...]


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    days: int
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Roadmap:
    id: str
    title: str
    language: str
    summary: str
    outcome: str
    days: int
    phases: tuple[Phase, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        """Return every step in order."""
        return tuple(s for p in self.phases for s in p.steps)


@dataclass(frozen=True)
class Catalog:
    """Everything in ``plans/``: the roadmaps by id and the decision flow."""

    roadmaps: Mapping[str, Roadmap]
    decision: DecisionFlow

    def roadmaps_for(self, outcome_id: str) -> tuple[Roadmap, ...]:
        """Return the roadmaps an outcome follows, back to back."""
        return tuple(self.roadmaps[r] for r in self.decision.outcomes[outcome_id].roadmaps)

    @cached_property
    def _steps(self) -> dict[str, Step]:
        return {s.id: s for r in self.roadmaps.values() for s in r.steps}

    def step(self, step_id: str) -> Step | None:
        """Return a step by its stable id, or None if a roadmap no longer has it."""
        return self._steps.get(step_id)


def parse_roadmap(data: dict[str, Any], name: str) -> tuple[Roadmap | None, list[str]]:
    """Build a Roadmap from parsed TOML, returning it (or None) and the problems found."""
    c = Checker(name)
    top = {"id", "title", "language", "summary", "outcome", "days", "phases"}
    if not c.table(data, "", top):
        return None, c.problems
    roadmap_id = c.slug(data, "", set())
    total_days = c.integer(data, "", "days", 1, 3650)
    phases: list[Phase] = []
    phase_ids: set[str] = set()
    step_ids: set[str] = set()
    raw_phases = c.items(data, "", "phases")
    if "phases" in data and not raw_phases:
        c.fail("phases", "needs at least one phase")
    for i, raw_phase in enumerate(raw_phases):
        pf = join("phases", i)
        if not c.table(raw_phase, pf, {"id", "title", "days", "milestones"}):
            continue
        steps: list[Step] = []
        raw_milestones = c.items(raw_phase, pf, "milestones")
        if "milestones" in raw_phase and not raw_milestones:
            c.fail(join(pf, "milestones"), "needs at least one milestone")
        phase_days = c.integer(raw_phase, pf, "days", 1, 3650)
        if phase_days and len(raw_milestones) > phase_days:
            c.fail(
                join(pf, "milestones"),
                f"{len(raw_milestones)} milestones do not fit in {phase_days} days",
            )
        for j, raw in enumerate(raw_milestones):
            mf = join(join(pf, "milestones"), j)
            if not c.table(raw, mf, {"id", "topic", "title", "learn", "done_when"}, {"links"}):
                continue
            done_when = c.items(raw, mf, "done_when")
            if "done_when" in raw and not done_when:
                c.fail(join(mf, "done_when"), "needs at least one item")
            for k, item in enumerate(done_when):
                if not isinstance(item, str) or not item.strip():
                    c.fail(join(join(mf, "done_when"), k), "must be a non-empty string")
            links: list[Link] = []
            for k, link in enumerate(c.items(raw, mf, "links")):
                lf = join(join(mf, "links"), k)
                if c.table(link, lf, {"title", "url"}):
                    title, url = c.text(link, lf, "title"), c.text(link, lf, "url")
                    if url and not is_url(url):
                        c.fail(join(lf, "url"), f"{url!r} is not an http(s) URL")
                    links.append(Link(title, url))
            slug = c.slug(raw, mf, step_ids)
            steps.append(
                Step(
                    id=f"{roadmap_id}/{slug}",
                    topic=c.text(raw, mf, "topic"),
                    title=c.text(raw, mf, "title"),
                    learn=c.text(raw, mf, "learn"),
                    done_when=tuple(s.strip() for s in done_when if isinstance(s, str)),
                    links=tuple(links),
                )
            )
        phases.append(
            Phase(
                id=c.slug(raw_phase, pf, phase_ids),
                title=c.text(raw_phase, pf, "title"),
                days=phase_days,
                steps=tuple(steps),
            )
        )
    phase_days_sum = sum(p.days for p in phases)
    if total_days and phases and phase_days_sum != total_days:
        c.fail("days", f"is {total_days} but the phases add up to {phase_days_sum}")
    texts = {key: c.text(data, "", key) for key in ("title", "language", "summary", "outcome")}
    if c.problems:
        return None, c.problems
    return Roadmap(id=roadmap_id, days=total_days, phases=tuple(phases), **texts), c.problems


def parse_roadmap_text(text: str, name: str) -> tuple[Roadmap | None, list[str]]:
    """Build a Roadmap from TOML text (an upload), returning it (or None) and the problems.

    TOML is data only: nothing in the text can run.
    """
    check = Checker(name)
    data = read_toml_text(text, check)
    if check.problems:
        return None, check.problems
    return parse_roadmap(data, name)


def renamed(roadmap: Roadmap, roadmap_id: str) -> Roadmap:
    """Return the roadmap under another id, its steps' ids with it ("<roadmap>/<slug>")."""
    def step(s: Step) -> Step:
        return replace(s, id=f"{roadmap_id}/{s.id.partition('/')[2]}")

    phases = tuple(replace(p, steps=tuple(step(s) for s in p.steps)) for p in roadmap.phases)
    return replace(roadmap, id=roadmap_id, phases=phases)


def check_files(paths: Iterable[Path]) -> list[str]:
    """Validate plan files (roadmaps or decision flow, by name) and return the problems."""
    problems: list[str] = []
    for path in paths:
        check = Checker(str(path))
        data = read_toml(path, check)
        problems += check.problems
        if check.problems:
            continue
        if path.name == DECISION_FILE:
            problems += parse_decision(data, str(path))[1]
        else:
            problems += parse_roadmap(data, str(path))[1]
    return problems


def load_catalog(directory: Path = PLANS_DIR) -> Catalog:
    """Load every roadmap and the decision flow from a folder; raise PlanError on any problem."""
    problems: list[str] = []
    roadmaps: dict[str, Roadmap] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name == DECISION_FILE:
            continue
        check = Checker(str(path))
        data = read_toml(path, check)
        roadmap, found = parse_roadmap(data, str(path)) if not check.problems else (None, [])
        problems += check.problems + found
        if roadmap is not None:
            if roadmap.id in roadmaps:
                problems.append(f"{path}: id: roadmap {roadmap.id!r} is defined twice")
            roadmaps[roadmap.id] = roadmap
    decision_path = directory / DECISION_FILE
    check = Checker(str(decision_path))
    data = read_toml(decision_path, check)
    problems += check.problems
    # An empty but readable file is parsed too, so it lists the keys it lacks.
    readable = not check.problems
    decision, found = parse_decision(data, str(decision_path), roadmaps) if readable else (None, [])
    problems += found
    if problems or decision is None:
        raise PlanError(problems or [f"{decision_path}: (file): no decision flow"])
    return Catalog(roadmaps=roadmaps, decision=decision)
