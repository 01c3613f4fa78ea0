"""The burn-up progress chart as accessible inline SVG: planned vs. done milestones over time.

Pure: no Flask, no database, no clock. The caller passes ``today``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache

from markupsafe import Markup, escape

from .scheduling import burn_up

# The drawing is scaled to the card's width; text stays readable from 320 px to desktops.
WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 34, 12, 12, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
PLANNED, DONE, TODAY, GRID = "#4a5360", "#1d6b32", "#1f5fbf", "#d5dae1"  # 3:1 or more on white

Point = tuple[date, int, int | None]


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, extra: str = "") -> str:
    ends = f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
    return f'<line {ends} stroke="{colour}"{extra}/>'


def _text(x: float, y: float, text: object, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" fill="{PLANNED}"{extra}>{text}</text>'


def _step_path(points: Sequence[tuple[float, float]]) -> str:
    """Draw a staircase through the points: a count holds until the day it changes."""
    x0, y0 = points[0]
    parts = [f"M{x0:.1f} {y0:.1f}"]
    last_y = y0
    for x, y in points[1:]:
        if y != last_y:
            parts.append(f"H{x:.1f}V{y:.1f}")
            last_y = y
    parts.append(f"H{points[-1][0]:.1f}")
    return "".join(parts)


def _table(points: Sequence[Point], today: date, skipped: dict[date, int] | None) -> str:
    """Return the chart's numbers week by week (and today) as a table: its text alternative."""
    start, end = points[0][0], points[-1][0]
    by_day = {day: (planned, done) for day, planned, done in points}
    days = {start + timedelta(days=n) for n in range(0, (end - start).days + 1, 7)} | {end}
    if start <= today <= end:
        days.add(today)

    def cells(day: date) -> str:
        planned, done = by_day[day]
        text = f"<td>{planned}</td><td>{'—' if done is None else done}</td>"
        if skipped is not None:
            text += f"<td>{'—' if done is None else skipped.get(day, 0)}</td>"
        return text

    rows = "".join(f'<tr><th scope="row">{day.isoformat()}</th>{cells(day)}</tr>'
                   for day in sorted(days))
    head = ('<th scope="col">Done (skipped included)</th><th scope="col">Skipped</th>'
            if skipped is not None else '<th scope="col">Done</th>')
    return (
        '<details><summary>Show the chart as a table</summary><table class="chart-data">'
        "<caption>Milestones planned and done, week by week</caption>"
        '<thead><tr><th scope="col">Date</th><th scope="col">Planned</th>'
        f"{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table></details>"
    )


def render_burn_up(
    dues: Sequence[date],
    done_on: Sequence[date | None],
    start: date,
    today: date,
    *,
    skipped_on: Sequence[date | None] = (),
    chart_id: str = "burn-up",
) -> Markup:
    """Render planned vs. done milestones per day as a figure: SVG, legend and data table.

    ``done_on`` counts skipped milestones as done (they need no more work); ``skipped_on``,
    if any is set, draws them apart as their own dashed line.
    """
    # A learner opens the dashboard many times between two ticks, and drawing costs a
    # tenth of the page: the same inputs give the same figure, so keep the last few.
    # A milestone of one's own may be dated before the plan's start: the axis takes it in.
    start = min(start, *dues) if dues else start
    return _render(tuple(dues), tuple(done_on), start, today, tuple(skipped_on), chart_id)


@lru_cache(maxsize=1024)
def _render(
    dues: tuple[date, ...],
    done_on: tuple[date | None, ...],
    start: date,
    today: date,
    skipped_on: tuple[date | None, ...],
    chart_id: str,
) -> Markup:
    if not dues:
        return Markup("")
    points: list[Point] = burn_up(dues, done_on, start, today)
    skipped: dict[date, int] | None = None
    if any(skipped_on):
        skipped = {day: count for day, _, count in burn_up(dues, skipped_on, start, today)
                   if count is not None}
    while points[-1][0] < today:  # nothing changes after the last event: draw up to today
        day, planned, done = points[-1]
        points.append((day + timedelta(days=1), planned, done))
    end, total = points[-1][0], len(dues)
    span = max((end - start).days, 1)

    def x(day: date) -> float:
        return LEFT + (day - start).days * PLOT_W / span

    def y(count: int) -> float:
        return TOP + PLOT_H - count * PLOT_H / total

    now = min(max(today, start), end)
    _, planned_now, done_now = next(p for p in points if p[0] == now)
    done_now = done_now or 0
    if today < start:
        summary = f"The plan starts on {start.isoformat()}; nothing is due yet."
    else:
        summary = (f"By {now.isoformat()}: {planned_now} of {total} milestones planned,"
                   f" {done_now} done.")
    summary += f" The plan finishes on {max(dues).isoformat()}."

    svg = [
        f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" class="chart-svg" xmlns="http://www.w3.org/2000/svg"'
        ' font-size="12" font-family="inherit">',
        f'<title id="{chart_id}-title">Progress: planned and done milestones over time</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
    for count in sorted({0, total // 2, total}):
        svg.append(_line(LEFT, y(count), WIDTH - RIGHT, y(count), GRID))
        svg.append(_text(LEFT - 6, y(count) + 4, count, ' text-anchor="end"'))
    month = date(start.year, start.month, 1)
    while month <= end:
        if start < month < end:
            svg.append(_line(x(month), TOP, x(month), TOP + PLOT_H, GRID))
        label_at = max(month, start)
        if x(label_at) < WIDTH - RIGHT - 24:  # no label squeezed against the right edge
            svg.append(_text(x(label_at), HEIGHT - 8, f"{label_at:%b}"))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)

    planned_line = _step_path([(x(day), y(planned)) for day, planned, _ in points])
    svg.append(f'<path class="planned" d="{planned_line}" fill="none" stroke="{PLANNED}"'
               ' stroke-width="1.5"/>')
    done_xy = [(x(day), y(done)) for day, _, done in points if done is not None]
    if done_xy:
        line = _step_path(done_xy)
        area = f"{line}V{y(0):.1f}H{done_xy[0][0]:.1f}Z"
        svg.append(f'<path d="{area}" fill="{DONE}" fill-opacity=".12"/>')
        svg.append(f'<path class="done" d="{line}" fill="none" stroke="{DONE}" stroke-width="3"/>')
    if skipped:
        last = max(skipped)
        line = _step_path([(x(day), y(skipped.get(day, skipped[last] if day > last else 0)))
                           for day, _, done in points if done is not None])
        svg.append(f'<path class="skipped" d="{line}" fill="none" stroke="{PLANNED}"'
                   ' stroke-width="2" stroke-dasharray="5 4"/>')
    if start <= today <= end:
        svg.append(_line(x(today), TOP, x(today), TOP + PLOT_H, TODAY,
                         ' class="today" stroke-width="2"'))
    svg.append("</svg>")

    legend = (
        '<figcaption><span class="key key-planned">Planned</span>'
        ' <span class="key key-done">Done</span>'
        + (' <span class="key key-skipped">Skipped</span>' if skipped else "")
        + ' <span class="key key-today">Today</span>'
        f' <span class="chart-range">{start.day} {start:%b} – {end.day} {end:%b}</span>'
        "</figcaption>"
    )
    figure = (f'<figure class="chart" id="{chart_id}" data-planned="{planned_now}"'
              f' data-done="{done_now}">')
    return Markup(figure + "".join(svg) + legend + _table(points, today, skipped) + "</figure>")
