"""Wall-clock time in a learner's zone: what "today" is there, and when a local time falls.

Pure: no Flask, no database, no clock: ``now`` is always a parameter. The database keeps
UTC; these turn it into the learner's dates and back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def time_zones() -> frozenset[str]:
    """Return the IANA zone names this machine knows (the tzdata package ships them)."""
    return frozenset(available_timezones() - {"localtime", "Factory"})


# The areas of places in the zone database: the names a person picks from (Europe/Berlin),
# not the aliases and legacy names (US/Eastern, Etc/GMT+5) it also holds.
AREAS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe",
         "Indian", "Pacific")


@cache
def listed_zones() -> tuple[str, ...]:
    """Return the zones a list offers: UTC, then every Area/Place, sorted."""
    return ("UTC", *sorted(z for z in time_zones() if z.partition("/")[0] in AREAS))


@cache
def zone(name: str) -> ZoneInfo:
    """Return the zone of this name; UTC for a name that is not a zone (a damaged row)."""
    if name not in time_zones():
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(zone_name: str, now: datetime) -> date:
    """Return the date it is in a zone at ``now``."""
    return now.astimezone(zone(zone_name)).date()


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Return the UTC instant when the wall clock in ``tz`` shows ``at`` on ``day``.

    A time skipped by a spring-forward change moves to the first minute after the gap;
    a time that occurs twice (fall-back) means its first occurrence.
    """
    naive = datetime.combine(day, at)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the first occurrence
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # In a gap, fold=0 lands after it and fold=1 before it: the gap ends between the two,
    # at the first minute whose wall clock has passed ``naive``.
    lo = int(naive.replace(tzinfo=tz, fold=1).timestamp()) // 60
    hi = int(instant.timestamp()) // 60
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid * 60, tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi * 60, UTC)


def iso_week(day: date) -> str:
    """Return ``day``'s ISO week as 2027-W01."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
