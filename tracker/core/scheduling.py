"""Pure date math for plans: due dates on study days, pacing and re-planning.

No Flask, no database, no clock: every function takes ``today`` or dates as arguments.
Weekdays are numbered like ``date.weekday()``: Monday 0 … Sunday 6.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekdays_of(study_days: str) -> tuple[int, ...]:
    """Return stored study days ("01234") as weekday numbers (Monday 0)."""
    return tuple(int(d) for d in study_days)


def _days(study_days: Collection[int]) -> tuple[int, ...]:
    return _week(tuple(study_days))[0]


@cache  # a learner has one set of study days, asked about thousands of times per sweep
def _week(study_days: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return the sorted study days and, per weekday, how many study days come before it."""
    days = tuple(sorted(set(study_days)))
    if not days or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
        raise ValueError("study days must be one or more weekdays 0-6")
    return days, tuple(sum(1 for d in days if d < weekday) for weekday in range(7))


def study_index(day: date, study_days: Collection[int]) -> int:
    """Count the study days before ``day`` since 0001-01-01 (a Monday)."""
    days, before = _week(tuple(study_days))
    weeks, weekday = divmod(day.toordinal() - 1, 7)
    return weeks * len(days) + before[weekday]


def study_day(index: int, study_days: Collection[int]) -> date:
    """Return the study day with this index: the inverse of ``study_index``."""
    days = _days(study_days)
    weeks, nth = divmod(index, len(days))
    return date.fromordinal(weeks * 7 + days[nth] + 1)


def next_study_day(day: date, study_days: Collection[int]) -> date:
    """Return ``day`` if it is a study day, else the next one."""
    return study_day(study_index(day, study_days), study_days)


def schedule(
    phases: Sequence[tuple[int, int]], start: date, study_days: Collection[int]
) -> list[date]:
    """Date every milestone: ``phases`` is (days, milestone count) per phase, back to back.

    Milestones of a phase are spread evenly over the study days inside the phase's window,
    the last one on its last study day, so each month's work ends with the month. A window
    with fewer study days than milestones (one study day a week, say) puts several
    milestones on one day rather than spilling into the next phase.
    """
    days = _days(study_days)
    due: list[date] = []
    window_start = start
    for length, count in phases:
        window_end = window_start + timedelta(days=length)  # exclusive
        first = study_index(window_start, days)
        slots = study_index(window_end, days) - first
        if slots == 0:
            # A window shorter than a week may miss every study day: use the first study
            # day after it, so nothing is ever due before its phase (or the plan) starts.
            slots = 1
        for i in range(count):
            due.append(study_day(first + -(-(i + 1) * slots // count) - 1, days))
        window_start = window_end
    return due


def shift(
    dues: Sequence[date], anchor: date, to: date, study_days: Collection[int]
) -> list[date]:
    """Move dates so that ``anchor`` lands on ``to``, keeping their spacing in study days."""
    return relay(dues, anchor, to, study_days, study_days)


def relay(
    dues: Sequence[date], anchor: date, to: date, old_days: Collection[int],
    new_days: Collection[int], stretch: float = 1.0,
) -> list[date]:
    """Lay dates out on ``new_days`` so that ``anchor`` lands on ``to`` (or the study day
    after it), each as many study days from it as it was on ``old_days``, times ``stretch``
    (2.0: half the hours a week, twice the study days between two milestones)."""
    base = study_index(next_study_day(anchor, old_days), old_days)
    first = study_index(next_study_day(to, new_days), new_days)
    return [study_day(first + round(
        (study_index(next_study_day(d, old_days), old_days) - base) * stretch), new_days)
        for d in dues]


PACED_FOR_HOURS = 10  # the roadmaps' days assume about ten hours of study a week


def paced_days(days: int, weekly_hours: int) -> int:
    """Return how many days a phase paced for 10 hours a week takes at ``weekly_hours``."""
    return max(1, round(days * PACED_FOR_HOURS / weekly_hours))


def replan(
    dues: Sequence[date], done: Sequence[bool], today: date, study_days: Collection[int]
) -> list[date]:
    """Return new due dates: open milestones restart from today, done ones never move."""
    open_dues = [d for d, is_done in zip(dues, done, strict=True) if not is_done]
    if not open_dues:
        return list(dues)
    moved = iter(shift(open_dues, open_dues[0], today, study_days))
    return [d if is_done else next(moved) for d, is_done in zip(dues, done, strict=True)]


@dataclass(frozen=True)
class Pace:
    total: int
    done: int
    due_today: int
    overdue: int  # open milestones whose due date has passed
    ahead: int  # done milestones that were not due yet
    planned_finish: date
    projected_finish: date
    days_behind: int = 0  # study days since the oldest open milestone was due

    @property
    def status(self) -> str:
        """Return 'done', 'behind', 'ahead' or 'on-track'."""
        if self.done == self.total:
            return "done"
        if self.overdue:
            return "behind"
        return "ahead" if self.ahead else "on-track"

    @property
    def label(self) -> str:
        """Say the status as a learner reads it: '2 milestones behind'."""
        if self.status == "behind":
            return f"{self.overdue} milestone{'s' if self.overdue != 1 else ''} behind"
        if self.status == "ahead":
            return f"{self.ahead} milestone{'s' if self.ahead != 1 else ''} ahead"
        return {"done": "finished", "on-track": "on track"}[self.status]

    @property
    def percent(self) -> int:
        """Return the share done, rounded down, so 100 means every milestone."""
        return self.done * 100 // self.total if self.total else 0


def as_of(today: date, paused_on: date | None) -> date:
    """Return the day a plan's pace is counted at: a pause stops the clock on its first day."""
    return min(today, paused_on) if paused_on else today


def pace(
    dues: Sequence[date],
    done_on: Sequence[date | None],
    today: date,
    study_days: Collection[int],
    paused_on: date | None = None,
) -> Pace:
    """Summarise progress at ``today``: counts, on-track status and projected finish.

    While the plan is paused, nothing falls further behind: counts are taken on the day the
    pause began, and the finish moves by the break, as resuming would move it.
    """
    pairs = list(zip(dues, done_on, strict=True))
    planned_finish = max(dues)
    day = as_of(today, paused_on)
    open_dues = [due for due, d in pairs if d is None]
    days_behind = 0
    if not open_dues:
        projected = max(d for d in done_on if d is not None) if done_on else planned_finish
    elif open_dues[0] < day:
        # Behind: at the plan's own spacing, the rest finishes as a re-plan from today would
        # (only the last date is needed, and shift moves each date on its own).
        projected = shift(open_dues[-1:], open_dues[0], today, study_days)[0]
        days_behind = max(1, study_index(day, study_days) - study_index(open_dues[0], study_days))
    else:
        projected = shift(open_dues[-1:], day, today, study_days)[0] if day < today else max(
            open_dues)
    return Pace(
        total=len(pairs),
        done=len(pairs) - len(open_dues),
        due_today=sum(1 for due, d in pairs if d is None and due == day),
        overdue=sum(1 for due, d in pairs if d is None and due < day),
        ahead=sum(1 for due, d in pairs if d is not None and due > day),
        planned_finish=planned_finish,
        projected_finish=projected,
        days_behind=days_behind,
    )


def burn_up(
    dues: Sequence[date], done_on: Sequence[date | None], start: date, today: date
) -> list[tuple[date, int, int | None]]:
    """Return (day, planned so far, done so far) from start to the last due date.

    Done is None for days after ``today``: the future has no actuals.
    """
    end = max([*dues, *(d for d in done_on if d is not None)])
    planned = sorted(dues)
    finished = sorted(d for d in done_on if d is not None)
    points: list[tuple[date, int, int | None]] = []
    p = f = 0
    day = start
    while day <= end:
        while p < len(planned) and planned[p] <= day:
            p += 1
        while f < len(finished) and finished[f] <= day:
            f += 1
        points.append((day, p, f if day <= today else None))
        day += timedelta(days=1)
    return points
