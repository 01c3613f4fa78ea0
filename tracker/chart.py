"""The burn-up progress chart as accessible inline SVG: planned vs. done milestones over time.

Pure: no Flask, no database, no clock. The caller passes ``today``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from markupsafe import Markup, escape

from .scheduling import burn_up

# The drawing is scaled to the card's width; text stays readable from 320 px to desktops.
WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 34, 12, 12, 28
PLANNED, DONE, TODAY, GRID = "#4a5360", "#1d6b32", "#1f5fbf", "#d5dae1"  # 3:1 or more on white


def _fmt(day: date) -> str:
    return f"{day.day} {day:%b}"


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


def _table_days(start: date, end: date, today: date) -> list[date]:
    days = {start + timedelta(days=n) for n in range(0, (end - start).days + 1, 7)}
    days.add(end)
    if start <= today <= end:
        days.add(today)
    return sorted(days)


def render_burn_up(
    dues: Sequence[date],
    done_on: Sequence[date | None],
    start: date,
    today: date,
    *,
    chart_id: str = "burn-up",
) -> Markup:
    """Render planned vs. done milestones per day as a figure: SVG, legend and data table."""
    if not dues:
        return Markup("")
    points = burn_up(dues, done_on, start, today)
    while points[-1][0] < today:  # nothing changes after the last event: draw up to today
        day, planned, done = points[-1]
        points.append((day + timedelta(days=1), planned, done))
    end = points[-1][0]
    total = len(dues)
    span = max((end - start).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return LEFT + (day - start).days * plot_w / span

    def y(count: int) -> float:
        return TOP + plot_h - count * plot_h / total

    by_day = {day: (planned, done) for day, planned, done in points}
    now = min(max(today, start), end)
    planned_now, done_now = by_day[now]
    planned_finish = max(dues)
    if today < start:
        summary = f"The plan starts on {start.isoformat()}; nothing is due yet."
    else:
        summary = (
            f"By {now.isoformat()}: {planned_now} of {total} milestones planned, {done_now or 0} done."
        )
    summary += f" The plan finishes on {planned_finish.isoformat()}."

    svg: list[str] = [
        f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' class="chart-svg" xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="inherit">',
        f'<title id="{chart_id}-title">Progress: planned and done milestones over time</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
    for count in sorted({0, total // 2, total}):
        svg.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(count):.1f}" y2="{y(count):.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y(count) + 4:.1f}" text-anchor="end" fill="{PLANNED}">{count}</text>'
        )
    month = date(start.year, start.month, 1)
    while month <= end:
        if start < month < end:
            svg.append(f'<line x1="{x(month):.1f}" x2="{x(month):.1f}" y1="{TOP}" y2="{TOP + plot_h}"'
                       f' stroke="{GRID}"/>')
        label_at = max(month, start)
        if x(label_at) < WIDTH - RIGHT - 24:  # no label squeezed against the right edge
            svg.append(f'<text x="{x(label_at):.1f}" y="{HEIGHT - 8}" fill="{PLANNED}">{label_at:%b}</text>')
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)

    planned_xy = [(x(day), y(planned)) for day, planned, _ in points]
    svg.append(f'<path class="planned" d="{_step_path(planned_xy)}" fill="none" stroke="{PLANNED}"'
               f' stroke-width="1.5"/>')
    done_xy = [(x(day), y(done)) for day, _, done in points if done is not None]
    if done_xy:
        line = _step_path(done_xy)
        svg.append(f'<path d="{line}V{y(0):.1f}H{done_xy[0][0]:.1f}Z" fill="{DONE}" fill-opacity=".12"/>')
        svg.append(f'<path class="done" d="{line}" fill="none" stroke="{DONE}" stroke-width="3"/>')
    if start <= today <= end:
        svg.append(f'<line class="today" x1="{x(today):.1f}" x2="{x(today):.1f}" y1="{TOP}"'
                   f' y2="{TOP + plot_h}" stroke="{TODAY}" stroke-width="2"/>')
    svg.append("</svg>")

    rows = "".join(
        f"<tr><th scope=\"row\">{day.isoformat()}</th><td>{by_day[day][0]}</td>"
        f"<td>{'—' if by_day[day][1] is None else by_day[day][1]}</td></tr>"
        for day in _table_days(start, end, today)
    )
    return Markup(
        f'<figure class="chart" id="{chart_id}" data-planned="{planned_now}" data-done="{done_now or 0}">'
        + "".join(svg)
        + '<figcaption><span class="key key-planned">Planned</span> <span class="key key-done">Done</span>'
        f' <span class="key key-today">Today</span> <span class="chart-range">{_fmt(start)} – {_fmt(end)}</span>'
        "</figcaption>"
        '<details><summary>Show the chart as a table</summary><table class="chart-data">'
        "<caption>Milestones planned and done, week by week</caption>"
        '<thead><tr><th scope="col">Date</th><th scope="col">Planned</th><th scope="col">Done</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></details></figure>"
    )
