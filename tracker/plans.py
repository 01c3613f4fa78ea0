"""Roadmaps and the decision flow: load plan files from TOML and validate them.

Pure: no Flask, no database. Every problem is reported as ``file: field: problem`` so a
bad plan file can be fixed without reading code. The schema is documented in
``plans/README.md``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PLANS_DIR = Path(__file__).resolve().parent.parent / "plans"
DECISION_FILE = "decision.toml"
LANGUAGES = ("go", "rust", "both")
SLUG_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")
# "<roadmap>/<milestone>" and "<roadmap>/<phase>" must fit the 120-character id columns.
SLUG_MAX = 50


class PlanError(Exception):
    """One or more problems in plan files, each as ``file: field: problem``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Milestone:
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
    milestones: tuple[Milestone, ...]


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
    def milestones(self) -> tuple[Milestone, ...]:
        """Return every milestone in order."""
        return tuple(m for p in self.phases for m in p.milestones)


@dataclass(frozen=True)
class Answer:
    id: str
    label: str
    points: Mapping[str, int]
    reason: str


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # "single" (one answer required) or "multi" (zero or more)
    text: str
    help: str
    answers: tuple[Answer, ...]

    def answer(self, answer_id: str) -> Answer | None:
        """Return the answer with this id, if any."""
        return next((a for a in self.answers if a.id == answer_id), None)


@dataclass(frozen=True)
class Outcome:
    id: str
    title: str
    roadmaps: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class DecisionFlow:
    title: str
    intro: str
    both_margin: int
    questions: tuple[Question, ...]
    outcomes: Mapping[str, Outcome]


@dataclass(frozen=True)
class Recommendation:
    outcome: Outcome
    scores: Mapping[str, int]
    # (what it points to, the answer's reason), in question order
    reasons: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Catalog:
    """Everything in ``plans/``: the roadmaps by id and the decision flow."""

    roadmaps: Mapping[str, Roadmap]
    decision: DecisionFlow

    def roadmaps_for(self, outcome_id: str) -> tuple[Roadmap, ...]:
        """Return the roadmaps an outcome follows, back to back."""
        return tuple(self.roadmaps[r] for r in self.decision.outcomes[outcome_id].roadmaps)

    @cached_property
    def _milestones(self) -> dict[str, Milestone]:
        return {m.id: m for r in self.roadmaps.values() for m in r.milestones}

    def milestone(self, milestone_id: str) -> Milestone | None:
        """Return a milestone by its stable id, or None if a roadmap no longer has it."""
        return self._milestones.get(milestone_id)


class _Checker:
    """Collect problems while reading one file, so all of them are reported at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []

    def fail(self, field: str, problem: str) -> None:
        self.problems.append(f"{self.name}: {field}: {problem}")

    def table(
        self, data: Any, field: str, required: set[str], optional: AbstractSet[str] = frozenset()
    ) -> bool:
        if not isinstance(data, dict):
            self.fail(field or "(file)", "must be a table")
            return False
        for key in sorted(set(data) - required - optional):
            self.fail(_join(field, key), "unknown key")
        for key in sorted(required - set(data)):
            self.fail(_join(field, key), "is required")
        return True

    def text(self, data: dict[str, Any], field: str, key: str) -> str:
        value = data.get(key)
        if key in data and (not isinstance(value, str) or not value.strip()):
            self.fail(_join(field, key), "must be a non-empty string")
        return value.strip() if isinstance(value, str) else ""

    def slug(self, data: dict[str, Any], field: str, seen: set[str]) -> str:
        value = self.text(data, field, "id")
        if value and not set(value) <= SLUG_CHARS:
            self.fail(_join(field, "id"), f"{value!r} must use only a-z, 0-9 and '-'")
        elif len(value) > SLUG_MAX:
            self.fail(_join(field, "id"), f"{value!r} is longer than {SLUG_MAX} characters")
        elif value and value in seen:  # a missing id is reported once, as required
            self.fail(_join(field, "id"), f"duplicate id {value!r}")
        seen.add(value)
        return value

    def integer(self, data: dict[str, Any], field: str, key: str, low: int, high: int) -> int:
        value = data.get(key)
        if key not in data:
            return 0
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.fail(_join(field, key), f"must be a whole number from {low} to {high}")
            return 0
        return value

    def items(self, data: dict[str, Any], field: str, key: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.fail(_join(field, key), "must be a list")
            return []
        return value


def _join(field: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{field}[{key}]"
    return f"{field}.{key}" if field else key


def _read(path: Path, check: _Checker) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as e:
        check.fail("(file)", f"cannot read: {e.strerror}")
    except tomllib.TOMLDecodeError as e:
        check.fail("(file)", f"invalid TOML: {e}")
    return {}


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("https", "http") and bool(parts.netloc) and " " not in value


def parse_roadmap(data: dict[str, Any], name: str) -> tuple[Roadmap | None, list[str]]:
    """Build a Roadmap from parsed TOML, returning it (or None) and the problems found."""
    c = _Checker(name)
    top = {"id", "title", "language", "summary", "outcome", "days", "phases"}
    if not c.table(data, "", top):
        return None, c.problems
    roadmap_id = c.slug(data, "", set())
    total_days = c.integer(data, "", "days", 1, 3650)
    phases: list[Phase] = []
    phase_ids: set[str] = set()
    milestone_ids: set[str] = set()
    raw_phases = c.items(data, "", "phases")
    if "phases" in data and not raw_phases:
        c.fail("phases", "needs at least one phase")
    for i, raw_phase in enumerate(raw_phases):
        pf = _join("phases", i)
        if not c.table(raw_phase, pf, {"id", "title", "days", "milestones"}):
            continue
        milestones: list[Milestone] = []
        raw_milestones = c.items(raw_phase, pf, "milestones")
        if "milestones" in raw_phase and not raw_milestones:
            c.fail(_join(pf, "milestones"), "needs at least one milestone")
        phase_days = c.integer(raw_phase, pf, "days", 1, 3650)
        if phase_days and len(raw_milestones) > phase_days:
            c.fail(
                _join(pf, "milestones"),
                f"{len(raw_milestones)} milestones do not fit in {phase_days} days",
            )
        for j, raw in enumerate(raw_milestones):
            mf = _join(_join(pf, "milestones"), j)
            if not c.table(raw, mf, {"id", "topic", "title", "learn", "done_when"}, {"links"}):
                continue
            done_when = c.items(raw, mf, "done_when")
            if "done_when" in raw and not done_when:
                c.fail(_join(mf, "done_when"), "needs at least one item")
            for k, item in enumerate(done_when):
                if not isinstance(item, str) or not item.strip():
                    c.fail(_join(_join(mf, "done_when"), k), "must be a non-empty string")
            links: list[Link] = []
            for k, link in enumerate(c.items(raw, mf, "links")):
                lf = _join(_join(mf, "links"), k)
                if c.table(link, lf, {"title", "url"}):
                    title, url = c.text(link, lf, "title"), c.text(link, lf, "url")
                    if url and not _is_url(url):
                        c.fail(_join(lf, "url"), f"{url!r} is not an http(s) URL")
                    links.append(Link(title, url))
            slug = c.slug(raw, mf, milestone_ids)
            milestones.append(
                Milestone(
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
                milestones=tuple(milestones),
            )
        )
    phase_days_sum = sum(p.days for p in phases)
    if total_days and phases and phase_days_sum != total_days:
        c.fail("days", f"is {total_days} but the phases add up to {phase_days_sum}")
    texts = {key: c.text(data, "", key) for key in ("title", "language", "summary", "outcome")}
    if c.problems:
        return None, c.problems
    return Roadmap(id=roadmap_id, days=total_days, phases=tuple(phases), **texts), c.problems


def parse_decision(
    data: dict[str, Any], name: str, roadmap_ids: Iterable[str] | None = None
) -> tuple[DecisionFlow | None, list[str]]:
    """Build the DecisionFlow from parsed TOML, returning it (or None) and the problems."""
    c = _Checker(name)
    if not c.table(data, "", {"title", "intro", "both_margin", "outcomes", "questions"}):
        return None, c.problems
    known_roadmaps = set(roadmap_ids) if roadmap_ids is not None else None
    outcomes: dict[str, Outcome] = {}
    raw_outcomes = data.get("outcomes", {})
    if isinstance(raw_outcomes, dict):
        for key in sorted(set(raw_outcomes) - {"go", "rust", "go-rust"}):
            c.fail(_join("outcomes", key), "unknown outcome (use go, rust, go-rust)")
        for key in ("go", "rust", "go-rust"):
            of = _join("outcomes", key)
            raw = raw_outcomes.get(key)
            if raw is None:
                c.fail(of, "is required")
                continue
            if not c.table(raw, of, {"title", "roadmaps", "summary"}):
                continue
            roadmaps = c.items(raw, of, "roadmaps")
            if not roadmaps:
                c.fail(_join(of, "roadmaps"), "needs at least one roadmap id")
            for k, r in enumerate(roadmaps):
                if not isinstance(r, str) or (
                    known_roadmaps is not None and r not in known_roadmaps
                ):
                    c.fail(_join(_join(of, "roadmaps"), k), f"unknown roadmap {r!r}")
            outcomes[key] = Outcome(
                key, c.text(raw, of, "title"), tuple(roadmaps), c.text(raw, of, "summary")
            )
    else:
        c.fail("outcomes", "must be a table")
    questions: list[Question] = []
    question_ids: set[str] = set()
    for i, raw_q in enumerate(c.items(data, "", "questions")):
        qf = _join("questions", i)
        if not c.table(raw_q, qf, {"id", "kind", "text", "answers"}, {"help"}):
            continue
        kind = raw_q.get("kind")
        if "kind" in raw_q and kind not in ("single", "multi"):
            c.fail(_join(qf, "kind"), f"{kind!r} must be 'single' or 'multi'")
        answers: list[Answer] = []
        answer_ids: set[str] = set()
        raw_answers = c.items(raw_q, qf, "answers")
        if len(raw_answers) < 2:
            c.fail(_join(qf, "answers"), "needs at least two answers")
        for j, raw_a in enumerate(raw_answers):
            af = _join(_join(qf, "answers"), j)
            if not c.table(raw_a, af, {"id", "label", "points", "reason"}):
                continue
            points = raw_a.get("points")
            if not isinstance(points, dict) or not points:
                c.fail(_join(af, "points"), "must be a table like { go = 1 }")
                points = {}
            for key in sorted(set(points) - set(LANGUAGES)):
                c.fail(_join(_join(af, "points"), key), "unknown key (use go, rust, both)")
            for key in sorted(set(points) & set(LANGUAGES)):  # a stable order of problems
                c.integer(points, _join(af, "points"), key, 0, 3)
            answers.append(
                Answer(
                    id=c.slug(raw_a, af, answer_ids),
                    label=c.text(raw_a, af, "label"),
                    points={
                        k: v for k, v in points.items() if k in LANGUAGES and isinstance(v, int)
                    },
                    reason=c.text(raw_a, af, "reason"),
                )
            )
        questions.append(
            Question(
                id=c.slug(raw_q, qf, question_ids),
                kind=str(kind),
                text=c.text(raw_q, qf, "text"),
                help=c.text(raw_q, qf, "help"),
                answers=tuple(answers),
            )
        )
    if "questions" in data and not questions:
        c.fail("questions", "needs at least one question")
    title, intro = c.text(data, "", "title"), c.text(data, "", "intro")
    both_margin = c.integer(data, "", "both_margin", 0, 10)
    if c.problems:
        return None, c.problems
    flow = DecisionFlow(title, intro, both_margin, tuple(questions), outcomes)
    return flow, c.problems


def check_files(paths: Iterable[Path]) -> list[str]:
    """Validate plan files (roadmaps or decision flow, by name) and return the problems."""
    problems: list[str] = []
    for path in paths:
        check = _Checker(str(path))
        data = _read(path, check)
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
        check = _Checker(str(path))
        data = _read(path, check)
        roadmap, found = parse_roadmap(data, str(path)) if not check.problems else (None, [])
        problems += check.problems + found
        if roadmap is not None:
            if roadmap.id in roadmaps:
                problems.append(f"{path}: id: roadmap {roadmap.id!r} is defined twice")
            roadmaps[roadmap.id] = roadmap
    decision_path = directory / DECISION_FILE
    check = _Checker(str(decision_path))
    data = _read(decision_path, check)
    problems += check.problems
    # An empty but readable file is parsed too, so it lists the keys it lacks.
    readable = not check.problems
    decision, found = parse_decision(data, str(decision_path), roadmaps) if readable else (None, [])
    problems += found
    if problems or decision is None:
        raise PlanError(problems or [f"{decision_path}: (file): no decision flow"])
    return Catalog(roadmaps=roadmaps, decision=decision)


def recommend(flow: DecisionFlow, answers: Mapping[str, Iterable[str]]) -> Recommendation:
    """Score the chosen answers and pick Go, Rust or Go-then-Rust, with the reasons why."""
    scores = dict.fromkeys(LANGUAGES, 0)
    reasons: list[tuple[str, str]] = []
    for question in flow.questions:
        for answer_id in answers.get(question.id, ()):
            answer = question.answer(answer_id)
            if answer is None:
                continue
            for key, value in answer.points.items():
                scores[key] += value
            if answer.points:
                reasons.append((max(answer.points, key=lambda k: answer.points[k]), answer.reason))
    go, rust, both = scores["go"], scores["rust"], scores["both"]
    # "The Smartest Career Move": when neither language clearly wins, or the learner
    # explicitly wants both, recommend Go first for employability, then Rust.
    if both >= max(go, rust) or abs(go - rust) <= flow.both_margin:
        outcome_id = "go-rust"
    else:
        outcome_id = "go" if go > rust else "rust"
    return Recommendation(flow.outcomes[outcome_id], scores, tuple(reasons))
