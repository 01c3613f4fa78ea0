"""The decision flow: the questions, their answers' points and the recommendation.

Pure: no Flask, no database. The flow lives in ``plans/decision.toml`` (schema in
``plans/README.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .checks import Checker, join

LANGUAGES = ("go", "rust", "both")
OUTCOMES = ("go", "rust", "go-rust")


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
    # The few reasons that decided it: those pointing the way it went, strongest first.
    deciding: tuple[tuple[str, str], ...] = ()


DECIDING = 3  # reasons shown first; the rest are one click away
# What each outcome's deciding reasons point to, in order of weight: Go-then-Rust is decided
# by wanting both, then by either language.
SUPPORTS = {"go": ("go",), "rust": ("rust",), "go-rust": ("both", "go", "rust")}


def parse_decision(
    data: dict[str, Any], name: str, roadmap_ids: Iterable[str] | None = None
) -> tuple[DecisionFlow | None, list[str]]:
    """Build the DecisionFlow from parsed TOML, returning it (or None) and the problems."""
    c = Checker(name)
    if not c.table(data, "", {"title", "intro", "both_margin", "outcomes", "questions"}):
        return None, c.problems
    known_roadmaps = set(roadmap_ids) if roadmap_ids is not None else None
    outcomes: dict[str, Outcome] = {}
    raw_outcomes = data.get("outcomes", {})
    if isinstance(raw_outcomes, dict):
        for key in sorted(set(raw_outcomes) - {"go", "rust", "go-rust"}):
            c.fail(join("outcomes", key), "unknown outcome (use go, rust, go-rust)")
        for key in ("go", "rust", "go-rust"):
            of = join("outcomes", key)
            raw = raw_outcomes.get(key)
            if raw is None:
                c.fail(of, "is required")
                continue
            if not c.table(raw, of, {"title", "roadmaps", "summary"}):
                continue
            roadmaps = c.items(raw, of, "roadmaps")
            if not roadmaps:
                c.fail(join(of, "roadmaps"), "needs at least one roadmap id")
            for k, r in enumerate(roadmaps):
                if not isinstance(r, str) or (
                    known_roadmaps is not None and r not in known_roadmaps
                ):
                    c.fail(join(join(of, "roadmaps"), k), f"unknown roadmap {r!r}")
            outcomes[key] = Outcome(
                key, c.text(raw, of, "title"), tuple(roadmaps), c.text(raw, of, "summary")
            )
    else:
        c.fail("outcomes", "must be a table")
    questions: list[Question] = []
    question_ids: set[str] = set()
    for i, raw_q in enumerate(c.items(data, "", "questions")):
        qf = join("questions", i)
        if not c.table(raw_q, qf, {"id", "kind", "text", "answers"}, {"help"}):
            continue
        kind = raw_q.get("kind")
        if "kind" in raw_q and kind not in ("single", "multi"):
            c.fail(join(qf, "kind"), f"{kind!r} must be 'single' or 'multi'")
        answers: list[Answer] = []
        answer_ids: set[str] = set()
        raw_answers = c.items(raw_q, qf, "answers")
        if len(raw_answers) < 2:
            c.fail(join(qf, "answers"), "needs at least two answers")
        for j, raw_a in enumerate(raw_answers):
            af = join(join(qf, "answers"), j)
            if not c.table(raw_a, af, {"id", "label", "points", "reason"}):
                continue
            points = raw_a.get("points")
            if not isinstance(points, dict) or not points:
                c.fail(join(af, "points"), "must be a table like { go = 1 }")
                points = {}
            for key in sorted(set(points) - set(LANGUAGES)):
                c.fail(join(join(af, "points"), key), "unknown key (use go, rust, both)")
            for key in sorted(set(points) & set(LANGUAGES)):  # a stable order of problems
                c.integer(points, join(af, "points"), key, 0, 3)
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


def recommend(flow: DecisionFlow, answers: Mapping[str, Iterable[str]]) -> Recommendation:
    """Score the chosen answers and pick Go, Rust or Go-then-Rust, with the reasons why."""
    scores = dict.fromkeys(LANGUAGES, 0)
    reasons: list[tuple[str, str]] = []
    weights: list[int] = []
    for question in flow.questions:
        for answer_id in answers.get(question.id, ()):
            answer = question.answer(answer_id)
            if answer is None:
                continue
            for key, value in answer.points.items():
                scores[key] += value
            if answer.points:
                points_to = max(answer.points, key=lambda k: answer.points[k])
                reasons.append((points_to, answer.reason))
                weights.append(answer.points[points_to])
    go, rust, both = scores["go"], scores["rust"], scores["both"]
    # "The Smartest Career Move": when neither language clearly wins, or the learner
    # explicitly wants both, recommend Go first for employability, then Rust.
    if both >= max(go, rust) or abs(go - rust) <= flow.both_margin:
        outcome_id = "go-rust"
    else:
        outcome_id = "go" if go > rust else "rust"
    supports = SUPPORTS[outcome_id]
    ranked = sorted((i for i, (to, _) in enumerate(reasons) if to in supports),
                    key=lambda i: (supports.index(reasons[i][0]), -weights[i], i))
    deciding = tuple(reasons[i] for i in ranked[:DECIDING])
    return Recommendation(flow.outcomes[outcome_id], scores, tuple(reasons), deciding)
