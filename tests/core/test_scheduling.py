"""Date math: due dates on study days, re-planning and pacing (pure, no app)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.core.scheduling import (
    burn_up,
    next_study_day,
    pace,
    replan,
    schedule,
    shift,
    study_day,
    study_index,
)

WEEKDAYS = (0, 1, 2, 3, 4)
SATURDAY = (5,)
# The real roadmaps: three 30-day phases each, Go then Rust for the "go-rust" outcome.
GO = [(30, 11), (30, 11), (30, 11)]
RUST = [(30, 11), (30, 11), (30, 10)]

study_day_sets = st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s)))
starts = st.dates(date(2020, 1, 1), date(2035, 12, 31))
# Phases of at least a week always hold a study day; a roadmap allows at most one
# milestone per calendar day of a phase.
phase_shapes = st.lists(
    st.integers(7, 60).flatmap(lambda days: st.tuples(st.just(days), st.integers(1, days))),
    min_size=1,
    max_size=6,
)
fast = settings(max_examples=200, deadline=None)


def windows(phases: list[tuple[int, int]], start: date) -> list[tuple[date, date]]:
    """Return each milestone's phase window [start + offset, start + offset + days)."""
    result = []
    offset = 0
    for days, count in phases:
        window = (start + timedelta(days=offset), start + timedelta(days=offset + days))
        result += [window] * count
        offset += days
    return result


def naive_schedule(
    phases: list[tuple[int, int]], start: date, study_days: tuple[int, ...]
) -> list[date]:
    """Date milestones by walking the calendar day by day: the reference for ``schedule``."""
    due = []
    window_start = start
    for days, count in phases:
        window = [window_start + timedelta(days=i) for i in range(days)]
        slots = [d for d in window if d.weekday() in study_days]
        for i in range(count):
            due.append(slots[-(-(i + 1) * len(slots) // count) - 1])
        window_start += timedelta(days=days)
    return due


def study_gaps(dues: list[date], days: tuple[int, ...]) -> list[int]:
    """Return the distance in study days between neighbouring dates."""
    return [study_index(b, days) - study_index(a, days) for a, b in pairwise(dues)]


def assert_well_formed(
    due: list[date], phases: list[tuple[int, int]], start: date, days: tuple[int, ...]
) -> None:
    assert len(due) == sum(count for _, count in phases)
    assert due == sorted(due), "due dates go backwards"
    for d, (low, high) in zip(due, windows(phases, start), strict=True):
        assert d.weekday() in days, f"{d} is not a study day"
        assert low <= d < high, f"{d} is outside its phase window [{low}, {high})"


@pytest.mark.parametrize(
    "days", [(0,), (5,), (6,), (0, 2, 4), (5, 6), WEEKDAYS, (0, 1, 2, 3, 4, 5, 6)]
)
@pytest.mark.parametrize(
    "day", [date(1, 1, 1), date(2027, 1, 1), date(2028, 2, 29), date(2035, 12, 31)]
)
def test_study_index_and_study_day_round_trip(day: date, days: tuple[int, ...]) -> None:
    index = study_index(day, days)
    assert study_index(study_day(index, days), days) == index
    assert study_day(index, days) == next_study_day(day, days)
    assert next_study_day(day, days) >= day
    assert next_study_day(day, days) - day < timedelta(days=7)
    assert next_study_day(day, days).weekday() in days


@fast
@given(st.integers(0, 100_000), study_day_sets)
def test_study_day_is_the_inverse_of_study_index(index: int, days: tuple[int, ...]) -> None:
    day = study_day(index, days)
    assert day.weekday() in days
    assert study_index(day, days) == index
    assert study_day(index + 1, days) > day


@pytest.mark.parametrize("days", [(), (7,), (-1,), (0, 9)])
def test_study_days_must_be_weekdays(days: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="study days"):
        schedule([(30, 1)], date(2027, 1, 4), days)


@pytest.mark.parametrize(
    ("start", "days", "phases", "expected"),
    [
        # Leap year: 2028-02-01 + 30 days crosses Feb 29 and ends on 2028-03-01 (a Wednesday).
        (date(2028, 2, 1), WEEKDAYS, [(30, 1)], [date(2028, 3, 1)]),
        (date(2028, 2, 28), WEEKDAYS, [(30, 1)], [date(2028, 3, 28)]),
        # Not a leap year: 2027-02-15 + 30 days ends on Tuesday 2027-03-16.
        (date(2027, 2, 15), WEEKDAYS, [(30, 1)], [date(2027, 3, 16)]),
        # Month end, starting on a Sunday (not a study day).
        (date(2027, 1, 31), WEEKDAYS, [(30, 1)], [date(2027, 3, 1)]),
        # Year end: the window ends Saturday 2028-01-29, so Mon–Fri's last day is the 28th.
        (date(2027, 12, 31), WEEKDAYS, [(30, 1)], [date(2028, 1, 28)]),
        (date(2027, 12, 31), SATURDAY, [(30, 1)], [date(2028, 1, 29)]),
        # Every day a study day: three milestones split 30 days into thirds.
        (
            date(2028, 2, 1),
            tuple(range(7)),
            [(30, 3)],
            [date(2028, 2, 10), date(2028, 2, 20), date(2028, 3, 1)],
        ),
        # Two phases back to back: the second starts on day 30.
        (date(2027, 1, 4), WEEKDAYS, [(30, 1), (30, 1)], [date(2027, 2, 2), date(2027, 3, 4)]),
    ],
)
def test_schedule_dates(
    start: date, days: tuple[int, ...], phases: list[tuple[int, int]], expected: list[date]
) -> None:
    assert schedule(phases, start, days) == expected


@pytest.mark.parametrize(
    "start",
    [
        date(2027, 1, 4),
        date(2027, 1, 31),
        date(2027, 2, 15),
        date(2028, 2, 1),
        date(2028, 2, 29),
        date(2027, 12, 31),
    ],
)
@pytest.mark.parametrize(
    "days", [WEEKDAYS, SATURDAY, (6,), (0, 2, 4), (5, 6), (1, 3), tuple(range(7))], ids=str
)
@pytest.mark.parametrize("phases", [GO, RUST, GO + RUST], ids=["go", "rust", "go-rust"])
def test_schedule_is_inside_windows_on_study_days(
    start: date, days: tuple[int, ...], phases: list[tuple[int, int]]
) -> None:
    due = schedule(phases, start, days)
    assert_well_formed(due, phases, start, days)
    assert due == naive_schedule(phases, start, days)
    assert due[0] >= next_study_day(start, days)


def test_one_study_day_a_week_puts_several_milestones_on_a_day() -> None:
    due = schedule(GO, date(2027, 1, 4), SATURDAY)
    assert_well_formed(due, GO, date(2027, 1, 4), SATURDAY)
    assert all(d.weekday() == 5 for d in due)
    assert max(Counter(due).values()) > 1
    # Each 30-day phase still ends on its own last Saturday, never in the next phase.
    assert [due[10], due[21], due[32]] == [date(2027, 1, 30), date(2027, 2, 27), date(2027, 4, 3)]


@pytest.mark.parametrize("start", [date(2027, 1, 2), date(2027, 1, 3)])  # Saturday, Sunday
def test_start_on_a_non_study_day(start: date) -> None:
    due = schedule(GO, start, WEEKDAYS)
    assert due[0] >= date(2027, 1, 4)  # the first Monday
    assert_well_formed(due, GO, start, WEEKDAYS)


def test_go_then_rust_runs_180_days_in_six_phases() -> None:
    start = date(2027, 1, 4)
    due = schedule(GO + RUST, start, WEEKDAYS)
    assert len(due) == 65
    go, rust = due[:33], due[33:]
    assert all(d < start + timedelta(days=90) for d in go)
    assert all(start + timedelta(days=90) <= d < start + timedelta(days=180) for d in rust)
    # Go alone dates the same way: the Rust part only appends.
    assert go == schedule(GO, start, WEEKDAYS)
    assert rust == schedule(RUST, start + timedelta(days=90), WEEKDAYS)


def test_schedule_is_deterministic() -> None:
    first = schedule(GO + RUST, date(2028, 2, 1), (0, 2, 4))
    assert schedule(GO + RUST, date(2028, 2, 1), (0, 2, 4)) == first
    # The order and repetition of the study days do not matter.
    assert schedule(GO + RUST, date(2028, 2, 1), [4, 0, 2, 2]) == first
    assert schedule(GO + RUST, date(2028, 2, 1), {2, 4, 0}) == first


def test_a_window_without_study_days_never_dates_before_it() -> None:
    # A 3-day phase (Mon–Wed) has no Saturday: its milestone goes to the next Saturday,
    # not to the one before the plan starts.
    start = date(2027, 1, 4)
    due = schedule([(3, 1), (30, 2)], start, SATURDAY)
    assert due[0] == date(2027, 1, 9)
    assert due == sorted(due) and min(due) >= start


@fast
@given(starts, study_day_sets, phase_shapes)
def test_schedule_properties(
    start: date, days: tuple[int, ...], phases: list[tuple[int, int]]
) -> None:
    due = schedule(phases, start, days)
    assert_well_formed(due, phases, start, days)
    assert due == naive_schedule(phases, start, days)
    assert schedule(phases, start, days) == due


def test_shift_keeps_study_day_spacing() -> None:
    dues = [date(2027, 1, 4), date(2027, 1, 8), date(2027, 1, 11)]  # Mon, Fri, next Mon
    moved = shift(dues, dues[0], date(2027, 1, 6), WEEKDAYS)  # to Wednesday
    assert moved == [date(2027, 1, 6), date(2027, 1, 12), date(2027, 1, 13)]
    assert shift(dues, dues[0], dues[0], WEEKDAYS) == dues
    # A target on the weekend moves to the next study day.
    assert shift(dues, dues[0], date(2027, 1, 9), WEEKDAYS)[0] == date(2027, 1, 11)


def test_replan_moves_open_milestones_from_today() -> None:
    dues = schedule(GO, date(2027, 1, 4), WEEKDAYS)
    done = [i < 3 for i in range(len(dues))]
    today = date(2027, 2, 6)  # a Saturday, well behind
    new = replan(dues, done, today, WEEKDAYS)
    assert new[:3] == dues[:3]
    assert new[3] == date(2027, 2, 8)  # the next study day
    gaps = study_gaps(dues[3:], WEEKDAYS)
    new_gaps = study_gaps(new[3:], WEEKDAYS)
    assert new_gaps == gaps


def test_replan_with_nothing_open_changes_nothing() -> None:
    dues = schedule(GO, date(2027, 1, 4), WEEKDAYS)
    assert replan(dues, [True] * len(dues), date(2027, 6, 1), WEEKDAYS) == dues


@fast
@given(
    starts,
    study_day_sets,
    st.lists(st.booleans(), min_size=33, max_size=33),
    st.integers(-30, 200),
)
def test_replan_properties(
    start: date, days: tuple[int, ...], done: list[bool], offset: int
) -> None:
    dues = schedule(GO, start, days)
    today = start + timedelta(days=offset)
    new = replan(dues, done, today, days)
    assert len(new) == len(dues)
    kept = [(d, n) for d, n, is_done in zip(dues, new, done, strict=True) if is_done]
    assert all(d == n for d, n in kept)
    old_open = [d for d, is_done in zip(dues, done, strict=True) if not is_done]
    new_open = [d for d, is_done in zip(new, done, strict=True) if not is_done]
    if new_open:
        assert new_open[0] == next_study_day(today, days)
        assert study_gaps(new_open, days) == study_gaps(old_open, days)
        assert all(d.weekday() in days for d in new_open)
    assert replan(dues, done, today, days) == new


# Five milestones on Mon 4 .. Fri 8 January 2027.
DUES = [date(2027, 1, 4) + timedelta(days=i) for i in range(5)]


@pytest.mark.parametrize(
    ("done_on", "today", "status", "label"),
    [
        ([None] * 5, date(2027, 1, 4), "on-track", "on track"),
        ([None] * 5, date(2027, 1, 1), "on-track", "on track"),
        (
            [date(2027, 1, 4), None, None, None, None],
            date(2027, 1, 6),
            "behind",
            "1 milestone behind",
        ),
        ([None] * 5, date(2027, 1, 6), "behind", "2 milestones behind"),
        (
            [date(2027, 1, 4), date(2027, 1, 4), None, None, None],
            date(2027, 1, 4),
            "ahead",
            "1 milestone ahead",
        ),
        ([date(2027, 1, 4)] * 3 + [None, None], date(2027, 1, 4), "ahead", "2 milestones ahead"),
        ([date(2027, 1, 4)] * 2 + [None] * 3, date(2027, 1, 5), "on-track", "on track"),
        ([date(2027, 1, 8)] * 5, date(2027, 1, 8), "done", "finished"),
        ([date(2027, 1, 20)] * 5, date(2027, 2, 1), "done", "finished"),
    ],
)
def test_pace_labels(done_on: list[date | None], today: date, status: str, label: str) -> None:
    result = pace(DUES, done_on, today, WEEKDAYS)
    assert result.status == status
    assert result.label == label
    assert result.total == 5
    assert result.done == sum(1 for d in done_on if d)
    assert result.planned_finish == date(2027, 1, 8)


def test_pace_projects_the_replanned_finish_when_behind() -> None:
    dues = schedule(GO, date(2027, 1, 4), WEEKDAYS)
    done_on: list[date | None] = [dues[0], dues[1]] + [None] * 31
    today = date(2027, 2, 3)
    result = pace(dues, done_on, today, WEEKDAYS)
    assert result.status == "behind"
    replanned = replan(dues, [d is not None for d in done_on], today, WEEKDAYS)
    assert result.projected_finish == replanned[-1] == max(replanned)
    assert result.projected_finish > result.planned_finish == dues[-1]


def test_pace_projects_the_plan_when_on_track_and_the_last_tick_when_done() -> None:
    dues = schedule(GO, date(2027, 1, 4), WEEKDAYS)
    open_pace = pace(dues, [None] * 33, date(2027, 1, 4), WEEKDAYS)
    assert open_pace.projected_finish == open_pace.planned_finish == dues[-1]
    assert open_pace.percent == 0
    done_on = [date(2027, 1, 10)] * 32 + [date(2027, 5, 1)]
    done_pace = pace(dues, done_on, date(2027, 5, 2), WEEKDAYS)
    assert done_pace.projected_finish == date(2027, 5, 1)
    assert done_pace.percent == 100


def test_pace_counts_due_today_and_overdue() -> None:
    result = pace(DUES, [date(2027, 1, 4), None, None, None, None], date(2027, 1, 6), WEEKDAYS)
    assert (result.due_today, result.overdue, result.ahead) == (1, 1, 0)
    assert result.percent == 20


def test_burn_up_shape() -> None:
    start = date(2027, 1, 4)
    dues = schedule(GO, start, WEEKDAYS)
    done_on: list[date | None] = [dues[i] + timedelta(days=1) for i in range(5)] + [None] * 28
    today = date(2027, 1, 20)
    points = burn_up(dues, done_on, start, today)
    assert [p[0] for p in points] == [start + timedelta(days=i) for i in range(len(points))]
    assert points[-1][0] == dues[-1]
    planned = [p[1] for p in points]
    assert planned == sorted(planned) and planned[-1] == len(dues)
    assert all(p[1] == sum(1 for d in dues if d <= p[0]) for p in points)
    actual = [p[2] for p in points if p[0] <= today]
    assert all(p[2] is None for p in points if p[0] > today)
    assert actual == sorted(actual) and actual[-1] == 5  # type: ignore[type-var]
    assert points[0][2] == 0


def test_burn_up_runs_to_a_late_finish() -> None:
    start = date(2027, 1, 4)
    points = burn_up(DUES, [date(2027, 1, 20)] * 5, start, date(2027, 1, 25))
    assert points[-1] == (date(2027, 1, 20), 5, 5)
    assert len(points) == 17


def test_days_behind_counts_study_days_since_the_oldest_open_due_date() -> None:
    # Open since Mon 4 January; on Mon 11 January five study days (Mon-Fri) went by.
    result = pace(DUES, [None] * 5, date(2027, 1, 11), WEEKDAYS)
    assert (result.days_behind, result.overdue) == (5, 5)
    assert pace(DUES, [None] * 5, date(2027, 1, 4), WEEKDAYS).days_behind == 0
    # Mon, Wed, Fri: from Mon 4 to Mon 11 only three of them went by.
    assert pace(DUES[::2], [None] * 3, date(2027, 1, 11), (0, 2, 4)).days_behind == 3


def test_a_pause_stops_the_behind_count_growing() -> None:
    done_on: list[date | None] = [date(2027, 1, 4), None, None, None, None]
    at_pause = pace(DUES, done_on, date(2027, 1, 6), WEEKDAYS)
    paused_on = date(2027, 1, 6)
    weeks_later = pace(DUES, done_on, date(2027, 2, 1), WEEKDAYS, paused_on=paused_on)
    assert (weeks_later.overdue, weeks_later.days_behind, weeks_later.label) == (
        at_pause.overdue, at_pause.days_behind, at_pause.label) == (1, 1, "1 milestone behind")
    unpaused = pace(DUES, done_on, date(2027, 2, 1), WEEKDAYS)
    assert unpaused.overdue == 4 and unpaused.days_behind > weeks_later.days_behind
    # Paused on track: the finish moves with the break, as resuming would move it.
    on_track = pace(DUES, [None] * 5, date(2027, 1, 18), WEEKDAYS, paused_on=date(2027, 1, 4))
    assert on_track.status == "on-track"
    assert on_track.projected_finish == date(2027, 1, 22)  # two weeks of study days later
