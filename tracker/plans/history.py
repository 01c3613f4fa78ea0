"""A learner's study history read from the database: what was done, skipped and reviewed on
which day, and the streaks it makes (tracker.core.history counts them)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import CompoundSelect, Engine, bindparam, literal, select, union
from sqlalchemy.orm import Session

from ..core.history import Day, Streaks, streaks, study_log
from ..core.localtime import zone
from ..database import db
from ..models import Milestone, ReviewAnswer, User

Actions = tuple[list[datetime], list[datetime], list[datetime]]  # ticks, skips, answers


def _actions_of(learners: Callable[[Any], Any]) -> CompoundSelect:
    """Build the statement of ``actions`` for the learners ``learners(user_id column)`` picks."""
    done, skipped = (
        select(Milestone.user_id, literal(kind), Milestone.step_id, column)
        .where(learners(Milestone.user_id), column.is_not(None))
        for kind, column in ((0, Milestone.done_at), (1, Milestone.skipped_at)))
    answers = select(ReviewAnswer.user_id, literal(2), literal(""), ReviewAnswer.answered_at
                     ).where(learners(ReviewAnswer.user_id))
    return union(done, skipped, answers)


# Built once: the dashboard asks on every view, for one learner (an expanding IN is
# rendered again on every call, a third of the query's time); the weekly mail for a batch.
_ONE = _actions_of(lambda column: column == bindparam("user_id"))
_MANY = _actions_of(lambda column: column.in_(bindparam("user_ids", expanding=True)))


def actions(session: Session, user_ids: Collection[int]) -> dict[int, Actions]:
    """Return each learner's ticks, skips and review answers as UTC instants, in one query.

    A switch copies finished work to the new plan and keeps the old plan as it was: the
    same step finished at the same instant is one action (UNION drops the copies).
    """
    found: dict[int, Actions] = {user_id: ([], [], []) for user_id in user_ids}
    if found:
        ids = list(found)
        rows: Sequence[Any] = session.execute(
            *((_ONE, {"user_id": ids[0]}) if len(ids) == 1 else (_MANY, {"user_ids": ids}))
        ).all()
        for user_id, kind, _, at in rows:
            found[user_id][kind].append(at)
    return found


def local_log(found: Actions, zone: ZoneInfo) -> dict[date, Day]:
    """Return the days with something done, in the learner's zone."""
    done, skipped, reviewed = ([at.astimezone(zone).date() for at in instants]
                               for instants in found)
    return study_log(done, skipped, reviewed)


@lru_cache(maxsize=1024)
def _learners_log(engine: Engine, user_id: int, changed_at: datetime,
                  zone_name: str) -> dict[date, Day]:
    return local_log(actions(db.session, [user_id])[user_id], zone(zone_name))


def learners_log(user: User) -> dict[date, Day]:
    """Return the learner's days with something done, read again only after a change.

    Every tick, skip, undo, answer and import moves ``calendar_changed_at``, so a learner
    looking at the dashboard again costs no query (the key holds the database and the zone
    too). The caller must not change the dict it gets.
    """
    return _learners_log(db.engine, user.id, user.calendar_changed_at, user.timezone)


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
