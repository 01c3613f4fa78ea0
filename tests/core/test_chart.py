"""The burn-up chart: well-formed, accessible SVG that follows the data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from tracker.core.chart import render_burn_up

SVG = "{http://www.w3.org/2000/svg}"
START = date(2027, 1, 4)
DUES = [START + timedelta(days=3 * i) for i in range(30)]  # last one 2027-04-01


def figure(done_on=None, today=START + timedelta(days=20)):
    done_on = done_on if done_on is not None else [None] * len(DUES)
    html = render_burn_up(DUES, done_on, START, today)
    return html, ET.fromstring(str(html))


def test_svg_is_accessible_image_with_title_desc_and_table():
    html, fig = figure()
    svg = fig.find(f"{SVG}svg")
    assert svg is not None and svg.get("role") == "img"
    ids = svg.get("aria-labelledby").split()
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert [title.get("id"), desc.get("id")] == ids
    assert "planned and done" in title.text
    assert desc.text == (
        "By 2027-01-24: 7 of 30 milestones planned, 0 done. The plan finishes on 2027-04-01."
    )
    table = fig.find("details/table")
    assert table.find("caption").text
    assert [th.text for th in table.find("thead/tr")] == ["Date", "Planned", "Done"]
    assert "<script" not in html


def done_line(fig):
    return fig.find(f"{SVG}svg/{SVG}path[@class='done']")


def test_done_line_follows_ticks_and_stops_today():
    today = START + timedelta(days=20)
    _, before = figure(today=today)
    assert done_line(before).get("d").count("V") == 0  # flat at zero
    done_on = [START + timedelta(days=1), START + timedelta(days=2)] + [None] * 28
    _, after = figure(done_on, today)
    assert after.get("data-done") == "2" and after.get("data-planned") == "7"
    assert "2 done." in after.find(f"{SVG}svg/{SVG}desc").text
    assert done_line(after).get("d").count("V") == 2
    body = after.find("details/table/tbody")
    rows = {tr.find("th").text: [td.text for td in tr.findall("td")] for tr in body}
    assert rows[today.isoformat()] == ["7", "2"]
    assert rows["2027-04-01"] == ["30", "—"]  # the future has no actuals
    today_x = float(after.find(f"{SVG}svg/{SVG}line[@class='today']").get("x1"))
    last_done_x = float(re.findall(r"H([\d.]+)", done_line(after).get("d"))[-1])
    assert last_done_x == pytest.approx(today_x)


def test_plan_not_started_yet():
    _, fig = figure(today=START - timedelta(days=3))
    assert fig.find(f"{SVG}svg/{SVG}desc").text.startswith("The plan starts on 2027-01-04")
    assert done_line(fig) is None
    assert fig.find(f"{SVG}svg/{SVG}line[@class='today']") is None


def test_behind_after_the_last_due_date_draws_up_to_today():
    today = DUES[-1] + timedelta(days=10)
    _, fig = figure(today=today)
    assert fig.get("data-planned") == "30" and fig.get("data-done") == "0"
    assert fig.find("details/table/tbody/tr[last()]/th").text == today.isoformat()


def test_no_milestones_renders_nothing():
    assert render_burn_up([], [], START, START) == ""


def test_small_enough_to_inline():
    done_on = [d + timedelta(days=1) for d in DUES[:15]] + [None] * 15
    html, _ = figure(done_on, today=START + timedelta(days=60))
    assert len(html) < 8_000


def test_a_milestone_before_the_plan_start_widens_the_axis() -> None:
    # An own milestone dated today on a plan that starts next month: drawn, not an error.
    start = date(2027, 2, 1)
    svg = str(render_burn_up([date(2027, 1, 4), date(2027, 2, 3)], [None, None], start,
                             date(2027, 1, 4)))
    assert "2027-01-04" in svg and "<svg" in svg
    every_one_before = render_burn_up([date(2026, 1, 4)], [None], start, date(2027, 1, 4))
    assert "<svg" in str(every_one_before)
