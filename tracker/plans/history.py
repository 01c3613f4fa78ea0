"""A learner's study history read from the database: what was done, skipped and reviewed on
which day, and the streaks it makes (tracker.core.history counts them)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import literal, select, union
from sqlalchemy.orm import Session

from ..core.history import Day, Streaks, streaks, study_log
from ..models import Milestone, Plan, ReviewAnswer

Actions = tuple[list[datetime], list[datetime], list[datetime]]  # ticks, skips, answers


def actions(session: Session, user_ids: Collection[int]) -> dict[int, Actions]:
    """Return each learner's ticks, skips and review answers as UTC instants, in one query.

    A switch copies finished work to the new plan and keeps the old plan as it was: the
    same step finished at the same instant is one action (UNION drops the copies).
    """
    found: dict[int, Actions] = {user_id: ([], [], []) for user_id in user_ids}
    if not found:
        return found
    ids = list(found)
    done, skipped = (
        select(Plan.user_id, literal(kind), Milestone.step_id, column).join(Plan)
        .where(Plan.user_id.in_(ids), column.is_not(None))
        for kind, column in ((0, Milestone.done_at), (1, Milestone.skipped_at)))
    answers = select(ReviewAnswer.user_id, literal(2), literal(""), ReviewAnswer.answered_at
                     ).where(ReviewAnswer.user_id.in_(ids))
    rows: Sequence[Any] = session.execute(union(done, skipped, answers)).all()
    for user_id, kind, _, at in rows:
        found[user_id][kind].append(at)
    return found


def local_log(found: Actions, zone: ZoneInfo) -> dict[date, Day]:
    """Return the days with something done, in the learner's zone."""
    done, skipped, reviewed = ([at.astimezone(zone).date() for at in instants]
                               for instants in found)
    return study_log(done, skipped, reviewed)


def pauses_of(pauses: Sequence[Sequence[str]],
              paused_on: date | None = None) -> list[tuple[date, date | None]]:
    """Return a plan's breaks (``Plan.pauses``), the one going on (if any) last, open-ended."""
    breaks: list[tuple[date, date | None]] = [
        (date.fromisoformat(start), date.fromisoformat(end)) for start, end in pauses]
    if paused_on is not None:
        breaks.append((paused_on, None))
    return breaks


def plan_streaks(log: dict[date, Day], today: date, study_days: Sequence[int],
                 pauses: Sequence[tuple[date, date | None]]) -> Streaks:
    """Count the streaks on a plan's study days (every day without a plan)."""
    return streaks(log.keys(), today, study_days or range(7), pauses)
