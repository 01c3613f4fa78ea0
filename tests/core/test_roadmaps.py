"""The real plan files: loading, ids, and the decision flow's recommendations (pure, no app)."""

from __future__ import annotations

from itertools import product

import pytest

from tracker.core.decision import LANGUAGES, Question, recommend
from tracker.core.roadmaps import Catalog, load_catalog

OUTCOMES = {"go", "rust", "go-rust"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def singles(catalog: Catalog) -> list[Question]:
    return [q for q in catalog.decision.questions if q.kind == "single"]


def multi(catalog: Catalog) -> Question:
    (question,) = [q for q in catalog.decision.questions if q.kind == "multi"]
    return question


def leaning(question: Question, key: str) -> str:
    """Return the id of the answer that gives ``key`` the most points."""
    return max(question.answers, key=lambda a: a.points.get(key, 0)).id


def test_real_catalog_loads(catalog: Catalog) -> None:
    assert set(catalog.roadmaps) == {"go", "rust"}
    assert set(catalog.decision.outcomes) == OUTCOMES
    assert [r.id for r in catalog.roadmaps_for("go-rust")] == ["go", "rust"]
    assert [r.id for r in catalog.roadmaps_for("go")] == ["go"]
    assert [r.id for r in catalog.roadmaps_for("rust")] == ["rust"]


@pytest.mark.parametrize("roadmap_id", ["go", "rust"])
def test_roadmaps_have_three_phases_of_30_days(catalog: Catalog, roadmap_id: str) -> None:
    roadmap = catalog.roadmaps[roadmap_id]
    assert roadmap.days == 90
    assert [p.days for p in roadmap.phases] == [30, 30, 30]
    assert len({p.id for p in roadmap.phases}) == 3
    for phase in roadmap.phases:
        assert 1 <= len(phase.steps) <= phase.days
    for milestone in roadmap.steps:
        assert milestone.id.startswith(f"{roadmap_id}/")
        assert milestone.title and milestone.learn and milestone.done_when
        assert all(link.url.startswith(("https://", "http://")) for link in milestone.links)


def test_milestone_ids_are_unique_and_found(catalog: Catalog) -> None:
    ids = [m.id for r in catalog.roadmaps.values() for m in r.steps]
    assert len(ids) == len(set(ids))
    for roadmap in catalog.roadmaps.values():
        for milestone in roadmap.steps:
            assert catalog.step(milestone.id) is milestone
    assert catalog.step("go/no-such-milestone") is None


def test_questions_are_well_formed(catalog: Catalog) -> None:
    flow = catalog.decision
    assert len(singles(catalog)) == 5 and multi(catalog).id == "sounds-like-me"
    assert len({q.id for q in flow.questions}) == len(flow.questions)
    for question in flow.questions:
        assert len(question.answers) >= 2
        assert len({a.id for a in question.answers}) == len(question.answers)
        for answer in question.answers:
            assert answer.reason and answer.points and set(answer.points) <= set(LANGUAGES)
            assert question.answer(answer.id) is answer
        assert question.answer("no-such-answer") is None


@pytest.mark.parametrize("multi_set", ["none", "all-go", "all-rust", "everything"])
def test_every_combination_gets_a_recommendation_with_reasons(
    catalog: Catalog, multi_set: str
) -> None:
    flow = catalog.decision
    ticks = multi(catalog)
    chosen = {
        "none": [],
        "all-go": [a.id for a in ticks.answers if "go" in a.points],
        "all-rust": [a.id for a in ticks.answers if "rust" in a.points],
        "everything": [a.id for a in ticks.answers],
    }[multi_set]
    questions = singles(catalog)
    reasons = {a.reason for q in flow.questions for a in q.answers}
    seen = set()
    combinations = 0
    for combo in product(*(q.answers for q in questions)):
        answers = {q.id: [a.id] for q, a in zip(questions, combo, strict=True)}
        answers[ticks.id] = chosen
        result = recommend(flow, answers)
        assert result.outcome.id in OUTCOMES, answers
        assert result.outcome is flow.outcomes[result.outcome.id]
        assert len(result.reasons) == len(questions) + len(chosen), answers
        assert all(key in LANGUAGES and reason in reasons for key, reason in result.reasons)
        seen.add(result.outcome.id)
        combinations += 1
    assert combinations == 3 * 3 * 3 * 3 * 7
    assert seen == OUTCOMES  # every outcome is reachable whatever is ticked


@pytest.mark.parametrize("multi_set", [[], ["go"], ["rust"], ["go", "rust"]])
def test_leaning_answers_give_that_language(catalog: Catalog, multi_set: list[str]) -> None:
    ticks = multi(catalog)
    chosen = [a.id for a in ticks.answers if set(a.points) & set(multi_set)]
    for language in ("go", "rust"):
        answers = {q.id: [leaning(q, language)] for q in singles(catalog)}
        answers[ticks.id] = chosen
        result = recommend(catalog.decision, answers)
        assert result.outcome.id == language
        assert result.scores[language] > result.scores["go" if language == "rust" else "rust"]


def test_all_go_and_all_rust_answers(catalog: Catalog) -> None:
    go = {
        "job-security": ["yes"],
        "low-level-debugging": ["no"],
        "simplicity-or-control": ["simplicity"],
        "broad-or-niche": ["broad"],
        "goal": ["backend-job-quickly"],
        "sounds-like-me": ["backend-jobs-quickly", "team-velocity"],
    }
    rust = {
        "job-security": ["no"],
        "low-level-debugging": ["yes"],
        "simplicity-or-control": ["control"],
        "broad-or-niche": ["niche"],
        "goal": ["infrastructure-systems"],
        "sounds-like-me": ["performance-and-safety"],
    }
    assert recommend(catalog.decision, go).outcome.id == "go"
    assert recommend(catalog.decision, rust).outcome.id == "rust"
    assert recommend(catalog.decision, go).scores == {"go": 13, "rust": 0, "both": 0}


@pytest.mark.parametrize(
    "others",
    [
        ("somewhat", "sometimes", "both", "not-sure"),  # neutral
        ("yes", "yes", "simplicity", "niche"),  # split two and two
        ("yes", "sometimes", "simplicity", "not-sure"),  # two Go, two neutral
        ("no", "yes", "both", "not-sure"),  # two Rust, two neutral
        ("yes", "sometimes", "both", "not-sure"),  # one Go, three neutral
    ],
)
def test_employability_then_specialization_gives_go_then_rust(
    catalog: Catalog, others: tuple[str, ...]
) -> None:
    answers = {q.id: [a] for q, a in zip(singles(catalog)[:4], others, strict=True)} | {
        "goal": ["employability-then-specialization"]
    }
    result = recommend(catalog.decision, answers)
    assert result.outcome.id == "go-rust"
    goal = next(q for q in singles(catalog) if q.id == "goal")
    assert ("both", goal.answers[-1].reason) in result.reasons
    assert goal.answers[-1].id == "employability-then-specialization"


def test_no_answers_and_unknown_answers(catalog: Catalog) -> None:
    # With nothing to go on, neither language wins: Go first, then Rust.
    empty = recommend(catalog.decision, {})
    assert empty.outcome.id == "go-rust" and empty.reasons == ()
    unknown = recommend(catalog.decision, {"goal": ["no-such-answer"], "no-such-question": ["yes"]})
    assert unknown.outcome.id == "go-rust" and unknown.reasons == ()
