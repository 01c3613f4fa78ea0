"""A learner's study history: the days with ticks, skips or reviews, their streaks, and the
calendar heatmap drawn as accessible inline SVG.

Pure: no Flask, no database, no clock. Days are the learner's local dates.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from markupsafe import Markup

WEEKS = 26  # half a year: a 90-day plan and the reviews after it
CELL, GAP, LEFT, TOP = 13, 3, 30, 18
LEVELS = ("#e3e7ec", "#a8d5b4", "#4fa56a", "#1d6b32")  # none, 1, 2-3, 4 or more actions


@dataclass
class Day:
    """What a learner did on one day."""

    done: int = 0
    skipped: int = 0
    reviewed: int = 0

    @property
    def total(self) -> int:
        return self.done + self.skipped + self.reviewed


def study_log(done: Iterable[date], skipped: Iterable[date],
              reviewed: Iterable[date]) -> dict[date, Day]:
    """Return each day with something done on it, from the days of each action."""
    days: dict[date, Day] = {}
    for on in done:
        days.setdefault(on, Day()).done += 1
    for on in skipped:
        days.setdefault(on, Day()).skipped += 1
    for on in reviewed:
        days.setdefault(on, Day()).reviewed += 1
    return days


class Streaks(NamedTuple):
    current: int
    longest: int


def streaks(active: Collection[date], today: date, study_days: Collection[int],
            paused: Sequence[tuple[date, date | None]] = ()) -> Streaks:
    """Count the current and longest streak of study days with something done.

    A day with something done adds one, whatever its weekday. A study day with nothing
    done ends the streak, except today (it is not over yet); a rest day or a day inside a
    pause (start included, end excluded; None: still paused) neither adds nor ends it.
    """
    if not active:
        return Streaks(0, 0)
    run = longest = 0
    day = min(active)
    while day <= today:
        if day in active:
            run += 1
            longest = max(longest, run)
        elif (day != today and day.weekday() in study_days
              and not any(start <= day and (end is None or day < end) for start, end in paused)):
            run = 0
        day += timedelta(days=1)
    return Streaks(run, longest)


def render_heatmap(log: Mapping[date, Day], today: date, chart_id: str = "history") -> Markup:
    """Draw the last ``WEEKS`` weeks as a grid of days, darker for more done, with a table of
    the active days as its text alternative."""
    first = today - timedelta(days=today.weekday() + 7 * (WEEKS - 1))  # a Monday
    # Drawn again only when something changed: a learner opens the dashboard many times a day.
    shown = tuple((d, log[d].done, log[d].skipped, log[d].reviewed)
                  for d in sorted(log) if first <= d <= today)
    return _render(shown, first, today, chart_id)


@lru_cache(maxsize=1024)
def _render(shown: tuple[tuple[date, int, int, int], ...], first: date, today: date,
            chart_id: str) -> Markup:
    log = {d: Day(done, skipped, reviewed) for d, done, skipped, reviewed in shown}
    width, height = LEFT + WEEKS * (CELL + GAP), TOP + 7 * (CELL + GAP)
    total = sum(day.total for day in log.values())
    svg = [
        f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="heatmap-svg"'
        f' viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" font-size="10"'
        ' font-family="inherit">',
        f'<title id="{chart_id}-title">Study days over the last {WEEKS} weeks</title>',
        f'<desc id="{chart_id}-desc">{len(log)} days with something done since'
        f' {first.isoformat()}, {total} actions in all.</desc>',
    ]
    for row, name in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        svg.append(f'<text x="0" y="{TOP + row * (CELL + GAP) + CELL - 2}" fill="#4a5360">'
                   f"{name}</text>")
    for n in range(WEEKS * 7):
        day = first + timedelta(days=n)
        if day > today:
            break
        week, weekday = divmod(n, 7)
        x, y = LEFT + week * (CELL + GAP), TOP + weekday * (CELL + GAP)
        if weekday == 0 and day.day <= 7:
            svg.append(f'<text x="{x}" y="{TOP - 6}" fill="#4a5360">{day:%b}</text>')
        count = log[day].total if day in log else 0
        level = 0 if count == 0 else 1 if count == 1 else 2 if count <= 3 else 3
        svg.append(f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="2"'
                   f' class="heat-{level}" fill="{LEVELS[level]}" data-day="{day.isoformat()}"'
                   f' data-count="{count}"/>')
    svg.append("</svg>")
    rows = "".join(
        f'<tr><th scope="row">{d.isoformat()}</th><td>{log[d].done}</td><td>{log[d].skipped}</td>'
        f"<td>{log[d].reviewed}</td></tr>" for d in sorted(log, reverse=True))
    table = (
        '<details><summary>Show the days as a table</summary><table class="chart-data">'
        "<caption>Days with something done, newest first</caption>"
        '<thead><tr><th scope="col">Date</th><th scope="col">Done</th><th scope="col">Skipped'
        '</th><th scope="col">Reviewed</th></tr></thead>'
        f"<tbody>{rows or '<tr><td colspan=4>Nothing yet.</td></tr>'}</tbody></table></details>")
    swatches = "".join(f'<span class="swatch heat-{n}"></span>' for n in range(len(LEVELS)))
    legend = f'<figcaption class="heatmap-key">Less {swatches} More</figcaption>'
    return Markup(f'<figure class="heatmap" id="{chart_id}">' + "".join(svg) + legend + table
                  + "</figure>")
