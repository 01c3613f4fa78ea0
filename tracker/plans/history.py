"""A learner's study history read from the database: what was done, skipped and reviewed on
which day, and the streaks it makes (tracker.core.history counts them)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..core.history import Day, Streaks, streaks, study_log
from ..models import Milestone, Plan, ReviewAnswer

Actions = tuple[list, list, list]  # instants of ticks, skips and review answers


def actions(session: Session, user_ids: Collection[int]) -> dict[int, Actions]:
    """Return each learner's ticks, skips and review answers as UTC instants, in two queries.

    A switch copies finished work to the new plan and keeps the old plan as it was: the
    same step finished at the same instant is one action, whichever rows hold it.
    """
    found: dict[int, Actions] = {user_id: ([], [], []) for user_id in user_ids}
    if not found:
        return found
    for user_id, _, done_at, skipped_at in session.execute(
        select(Plan.user_id, Milestone.step_id, Milestone.done_at, Milestone.skipped_at)
        .distinct().join(Plan)
        .where(Plan.user_id.in_(found),
               or_(Milestone.done_at.is_not(None), Milestone.skipped_at.is_not(None)))
    ):
        if done_at is not None:
            found[user_id][0].append(done_at)
        else:
            found[user_id][1].append(skipped_at)
    for user_id, answered_at in session.execute(
        select(ReviewAnswer.user_id, ReviewAnswer.answered_at)
        .where(ReviewAnswer.user_id.in_(found))
    ):
        found[user_id][2].append(answered_at)
    return found


def local_log(found: Actions, zone: ZoneInfo) -> dict[date, Day]:
    """Return the days with something done, in the learner's zone."""
    done, skipped, reviewed = ([at.astimezone(zone).date() for at in instants]
                               for instants in found)
    return study_log(done, skipped, reviewed)


def pauses_of(plan: Plan | None) -> list[tuple[date, date | None]]:
    """Return a plan's breaks, the one going on (if any) last, open-ended."""
    if plan is None:
        return []
    breaks: list[tuple[date, date | None]] = [
        (date.fromisoformat(start), date.fromisoformat(end)) for start, end in plan.pauses]
    if plan.paused_on is not None:
        breaks.append((plan.paused_on, None))
    return breaks


def plan_streaks(log: dict[date, Day], today: date, study_days: Sequence[int],
                 pauses: Sequence[tuple[date, date | None]]) -> Streaks:
    """Count the streaks on a plan's study days (every day without a plan)."""
    return streaks(log.keys(), today, study_days or range(7), pauses)
