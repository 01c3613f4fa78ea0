"""Spaced review of finished milestones: started by a tick, ended by an undo, moved on by
each answer (tracker.core.review does the FSRS part).

A review belongs to its milestone's row, in whichever plan: a switch takes it along with the
work, and a milestone of an archived plan is still worth remembering. The caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..core.review import Answer, answer_review, first_review
from ..models import Milestone, Review, ReviewAnswer, User
from .steps import step_title

SHOWN = 3  # reviews listed on the dashboard: the next few; a link leads to all of them


def start(connection: Connection, milestone_id: int, user_id: int, *, now: datetime,
          today: date) -> None:
    """Schedule the first review of a milestone just finished (``today``: the learner's)."""
    card, due_on = first_review(now, today)
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    # A second tick racing the first finds the review there: nothing to do.
    connection.execute(
        dialect.insert(Review).on_conflict_do_nothing(index_elements=["milestone_id"]),
        {"user_id": user_id, "milestone_id": milestone_id, "due_on": due_on, "card": card,
         "uid": str(uuid.uuid4()), "sequence": 0, "updated_at": now})


def stop(connection: Connection, milestone_id: int, user_id: int) -> None:
    """Drop a reopened milestone's review; its answers stay in the learner's history."""
    connection.execute(delete(Review).where(Review.milestone_id == milestone_id,
                                            Review.user_id == user_id))


def follow(session: Session, moved: list[tuple[int, int]]) -> None:
    """Move reviews to the rows their milestones moved to: (old id, new id) pairs."""
    for old, new in moved:
        session.execute(update(Review).where(Review.milestone_id == old).values(milestone_id=new))


def answer(review: Review, user: User, choice: Answer, *, now: datetime, today: date) -> None:
    """Record an answer and set the next review; the learner's calendar changes with it."""
    review.card, review.due_on = answer_review(review.card, choice, now, today)
    review.sequence += 1
    review.updated_at = now
    session = Session.object_session(review)
    assert session is not None
    session.add(ReviewAnswer(user_id=user.id, milestone_id=review.milestone_id,
                             rating=choice.value, answered_at=now))
    user.calendar_changed_at = user.next_mail_at = now


@dataclass(frozen=True)
class DueReview:
    """A review as pages list it."""

    id: int
    due_on: date
    milestone_id: int
    title: str


# Built once, rows not objects, the count beside each row: the dashboard asks on every view.
_DUE_REVIEWS = (
    select(Review.id, Review.due_on, Milestone.id, Milestone.step_id, func.count().over())
    .join(Review.milestone)
    .where(Review.user_id == bindparam("user_id"), Review.due_on <= bindparam("today"))
    .order_by(Review.due_on, Review.id).limit(bindparam("limit")))


def due_reviews(session: Session, user: User, today: date,
                limit: int = SHOWN) -> tuple[list[DueReview], int]:
    """Return the learner's reviews due by ``today`` (oldest first, up to ``limit``) and
    how many are due in all; none while reviews are off."""
    if not user.reviews_enabled:
        return [], 0
    rows = session.execute(_DUE_REVIEWS,
                           {"user_id": user.id, "today": today, "limit": limit}).all()
    due = [DueReview(review_id, due_on, m_id,
                     step_title(step_id, partial(session.get_one, Milestone, m_id)))
           for review_id, due_on, m_id, step_id, _ in rows]
    return due, rows[0][4] if rows else 0


def own_review(session: Session, user: User, review_id: int) -> Review | None:
    """Return one of the learner's reviews; None for anyone else's."""
    return session.scalar(select(Review).where(Review.id == review_id, Review.user_id == user.id))
