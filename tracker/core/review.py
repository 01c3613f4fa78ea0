"""Spaced review of finished milestones, scheduled by FSRS (the ``fsrs`` package).

Pure: time is a parameter. A milestone's review is an FSRS card kept as a dict; finishing
the milestone counts as its first recall ("Good"), and each answer after that sets the next
review. Reviews are whole days in the learner's zone: the interval FSRS gives is added to
the local date of the answer, so a daylight-saving change never moves a review by a day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import IntEnum
from typing import Any

from fsrs import Card, Rating, Scheduler

# Milestones are reviewed days apart, never minutes: no learning steps. No fuzzing: the
# same answers give the same dates, which a learner (and a test) can follow.
SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


class Answer(IntEnum):
    """How well the learner still knows a milestone; the values are FSRS's ratings."""

    AGAIN = Rating.Again.value
    HARD = Rating.Hard.value
    GOOD = Rating.Good.value
    EASY = Rating.Easy.value

    @property
    def label(self) -> str:
        return self.name.capitalize()


def _next(card: Card, answer: Answer, now: datetime, today: date) -> tuple[dict[str, Any], date]:
    card, _ = SCHEDULER.review_card(card, Rating(answer.value), now)
    days = max(1, round((card.due - now) / timedelta(days=1)))
    # card_id: a random number of fsrs's own, no part of the learner's record
    state = {k: v for k, v in card.to_dict().items() if k != "card_id"}
    return state, today + timedelta(days=days)


def first_review(now: datetime, today: date) -> tuple[dict[str, Any], date]:
    """Return the card of a milestone finished at ``now`` (``today`` in the learner's zone)
    and the day of its first review."""
    return _next(Card(), Answer.GOOD, now, today)


def answer_review(card: dict[str, Any], answer: Answer, now: datetime,
                  today: date) -> tuple[dict[str, Any], date]:
    """Return the card after ``answer`` at ``now`` and the day of the next review."""
    return _next(_card(card), answer, now, today)


def is_card(value: Any) -> bool:
    """Say whether ``value`` is a card as this module writes them (for an imported file)."""
    if not isinstance(value, dict) or set(value) != {
            "state", "step", "stability", "difficulty", "due", "last_review"}:
        return False
    numbers = value["stability"], value["difficulty"]
    if (value["state"] not in (1, 2, 3) or isinstance(value["state"], bool)
            or not (value["step"] is None or type(value["step"]) is int)
            or not all(type(n) in (int, float) and 0 < n < 1e6 for n in numbers)):
        return False
    try:
        card = _card(value)
    except (TypeError, ValueError, KeyError):
        return False
    return all(isinstance(at, datetime) and at.tzinfo is not None
               for at in (card.due, card.last_review))


def _card(state: dict[str, Any]) -> Card:
    return Card.from_dict({"card_id": 0, **state})  # type: ignore[typeddict-item]
