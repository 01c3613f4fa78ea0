"""Days no milestone is due on: Christmas Day, New Year's Day and the public holidays of the
learner's country (the ``holidays`` package), unless the learner studies on holidays.

Pure: the country and the dates are parameters.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta
from functools import lru_cache

import holidays

from .scheduling import next_study_day

EVERYWHERE = ((12, 25), (1, 1))  # kept free for every learner, whatever the country


@lru_cache(maxsize=1024)
def days_off(country: str, year: int) -> frozenset[date]:
    """Return a year's days off: the fixed ones, and the country's public holidays."""
    fixed = {date(year, month, day) for month, day in EVERYWHERE}
    if country not in holidays.list_supported_countries():
        return frozenset(fixed)
    return frozenset(fixed | set(holidays.country_holidays(country, years=year)))


def is_day_off(day: date, country: str) -> bool:
    """Say whether ``day`` is a day off in ``country`` ("" for none: the fixed ones only)."""
    return day in days_off(country, day.year)


def clear_of_days_off(dues: Sequence[date], study_days: Collection[int], country: str,
                      keep: Sequence[bool] | None = None) -> list[date]:
    """Move each date on a day off to the next study day that is not one; ``keep`` marks
    dates that stay where they are (work done on them)."""
    moved = []
    for i, due in enumerate(dues):
        while not (keep and keep[i]) and is_day_off(due, country):
            due = next_study_day(due + timedelta(days=1), study_days)
        moved.append(due)
    return moved


def country_of(locale: str) -> str:
    """Return the country of a locale name ("en_GB" -> "GB"); "" when it names none."""
    territory = locale.partition("_")[2]
    return territory if territory.isalpha() else ""
