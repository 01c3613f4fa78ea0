"""The weekly progress email's numbers, worked out by the sweep and kept in its payload."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..core import scheduling

LISTED = 10  # milestones listed per section of the weekly email; the rest are counted


def weekly_numbers(
    plan_id: int,
    start_date: date,
    study_days: str,
    milestones: Sequence[tuple[int, str, date, datetime | None, datetime | None]],
    today: date,
    zone: ZoneInfo,
) -> dict[str, Any] | None:
    """Return what the weekly email says, as JSON; None for a plan that is finished.

    ``milestones`` are (id, step id, due date, done at, skipped at) in plan order; ``today``
    is the learner's date in their ``zone``. A skipped milestone counts as done, and is
    listed as skipped.
    """
    finished_at = [done_at or skipped_at for _, _, _, done_at, skipped_at in milestones]
    done_on = [at.astimezone(zone).date() if at else None for at in finished_at]
    if None not in done_on:  # finished, or no milestones at all
        return None
    dues = [due for _, _, due, _, _ in milestones]
    pace = scheduling.pace(dues, done_on, today, scheduling.weekdays_of(study_days))
    # One pass sorts the milestones into the email's three sections.
    week_ago, week_ahead = today - timedelta(days=7), today + timedelta(days=7)
    done_recently, due_soon, overdue = [], [], []
    skipped = 0
    for (m_id, step_id, due, done_at, _), done in zip(milestones, done_on, strict=True):
        if done is not None:
            skipped += done_at is None
            if week_ago < done <= today:
                done_recently.append((m_id, step_id, done, done_at is None))
        elif due < today:
            overdue.append((m_id, step_id, due))
        elif due < week_ahead:
            due_soon.append((m_id, step_id, due))

    def listed(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
        # [id, step id, date], and True after them for a milestone skipped
        return {"count": len(rows),
                "items": [[m_id, step_id, d.isoformat(), *(["skipped"] if rest and rest[0] else [])]
                          for m_id, step_id, d, *rest in rows[:LISTED]]}

    week = max(1, (today - start_date).days // 7 + 1)
    weeks = (pace.planned_finish - start_date).days // 7 + 1
    return {
        "plan_id": plan_id,
        "today": today.isoformat(),
        "week": week,
        "weeks": max(weeks, week),
        "done": pace.done,
        "skipped": skipped,
        "total": pace.total,
        "percent": pace.percent,
        "status": pace.status,
        "label": pace.label,
        "planned_finish": pace.planned_finish.isoformat(),
        "projected_finish": pace.projected_finish.isoformat(),
        "done_recently": listed(done_recently),
        "due_soon": listed(due_soon),
        "overdue": listed(overdue),
    }
