from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import outbox_rows
from flask import Flask
from sqlalchemy import select, update

from tracker.core.localtime import local_instant
from tracker.database import db
from tracker.jobs.worker import run_once
from tracker.mail.outbox import Counts
from tracker.models import Milestone, Notification, Plan, User
from tracker.plans import changes
from tracker.reminders import sweep as reminders

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # plans are created then: every later instant counts
TITLE_0 = "Toolchain, modules and your first program"  # the Go plan's first milestone
QUIET = {"due_reminders": False, "nudge_days": 0, "weekly_enabled": False}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def run(app: Flask, now: datetime) -> Counts:
    with app.app_context():
        return run_once(now)


@pytest.fixture
def enrol(app: Flask, make_user: Any, make_plan: Any) -> Any:
    """Enrol a learner in the Go plan (33 milestones from Monday 2027-01-04, Mon-Fri).

    ``dues`` moves milestones (by position) to other dates; ``far`` moves every other one
    out of the way, for tests about single days.
    """

    def make(
        email: str = "learner@example.com",
        *,
        dues: dict[int, date] | None = None,
        far: bool = False,
        done: tuple[int, ...] = (),
        **fields: Any,
    ) -> tuple[int, int]:
        user_id = make_user(email, **fields)
        plan_id = make_plan(user_id, start=date(2027, 1, 4), now=EPOCH)
        with app.app_context():
            for m in db.session.scalars(select(Milestone).where(Milestone.plan_id == plan_id)):
                if dues and m.position in dues:
                    m.due_date = dues[m.position]
                elif far:
                    m.due_date = date(2030, 1, 1)
                if m.position in done:
                    m.done_at = EPOCH
            db.session.commit()
        return user_id, plan_id

    return make


def text_and_html(message: Any) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    return (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content())


# -- Local times across DST changes -------------------------------------------------------

# (zone, local date of a change, 08:00 local in UTC, 02:30 local in UTC). New York skips
# 02:00-03:00 in March and repeats 01:00-02:00 in November; Berlin skips 02:00-03:00 in March
# and repeats it in October; Sydney repeats 02:00-03:00 in April and skips it in October;
# Kolkata has no DST.
# fmt: off
DST_CHANGES = [
    ("America/New_York", date(2026, 3, 8), "2026-03-08T12:00Z", "2026-03-08T07:00Z"),
    ("America/New_York", date(2026, 11, 1), "2026-11-01T13:00Z", "2026-11-01T07:30Z"),
    ("America/New_York", date(2027, 3, 14), "2027-03-14T12:00Z", "2027-03-14T07:00Z"),
    ("America/New_York", date(2027, 11, 7), "2027-11-07T13:00Z", "2027-11-07T07:30Z"),
    ("Europe/Berlin", date(2026, 3, 29), "2026-03-29T06:00Z", "2026-03-29T01:00Z"),
    ("Europe/Berlin", date(2026, 10, 25), "2026-10-25T07:00Z", "2026-10-25T00:30Z"),
    ("Europe/Berlin", date(2027, 3, 28), "2027-03-28T06:00Z", "2027-03-28T01:00Z"),
    ("Europe/Berlin", date(2027, 10, 31), "2027-10-31T07:00Z", "2027-10-31T00:30Z"),
    ("Australia/Sydney", date(2026, 4, 5), "2026-04-04T22:00Z", "2026-04-04T15:30Z"),
    ("Australia/Sydney", date(2026, 10, 4), "2026-10-03T21:00Z", "2026-10-03T16:00Z"),
    ("Australia/Sydney", date(2027, 4, 4), "2027-04-03T22:00Z", "2027-04-03T15:30Z"),
    ("Australia/Sydney", date(2027, 10, 3), "2027-10-02T21:00Z", "2027-10-02T16:00Z"),
    ("Asia/Kolkata", date(2026, 3, 8), "2026-03-08T02:30Z", "2026-03-07T21:00Z"),
    ("Asia/Kolkata", date(2027, 10, 31), "2027-10-31T02:30Z", "2027-10-30T21:00Z"),
]
# fmt: on


@pytest.mark.parametrize(("zone", "day", "eight", "two_thirty"), DST_CHANGES)
def test_local_instant_across_dst(zone: str, day: date, eight: str, two_thirty: str) -> None:
    assert local_instant(day, time(8, 0), ZoneInfo(zone)) == at(eight)
    assert local_instant(day, time(2, 30), ZoneInfo(zone)) == at(two_thirty)


def test_local_instant_in_a_gap_is_the_first_minute_after_it() -> None:
    zone = ZoneInfo("America/New_York")
    for minute in (0, 1, 30, 59):
        assert local_instant(date(2026, 3, 8), time(2, minute), zone) == at(
            "2026-03-08T07:00Z"
        )
    assert local_instant(date(2026, 3, 8), time(3, 0), zone) == at("2026-03-08T07:00Z")
    assert local_instant(date(2026, 3, 8), time(1, 59), zone) == at("2026-03-08T06:59Z")
    # A 30-minute change (Lord Howe Island): 02:00-02:30 does not exist.
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    assert local_instant(date(2026, 10, 4), time(2, 10), lord_howe) == at(
        "2026-10-03T15:30Z"
    )


def test_reminders_land_once_at_the_right_instant_across_dst(
    app: Flask, smtp_server: Any, enrol: Any
) -> None:
    """Learners in four zones, at 08:00 and 02:30, with milestones due on DST change days."""
    expected: dict[tuple[str, str], datetime] = {}  # (address, due date) -> instant
    zones: dict[str, list[tuple[date, str, str]]] = {}
    for zone, day, eight, two_thirty in DST_CHANGES:
        zones.setdefault(zone, []).append((day, eight, two_thirty))
    for zone, dst_changes in zones.items():
        for clock, index in ((time(8, 0), 1), (time(2, 30), 2)):
            email = f"{zone.split('/')[1].lower()}-{clock:%H%M}@example.com"
            enrol(
                email,
                timezone=zone,
                reminder_time=clock,
                weekly_enabled=False,
                nudge_days=0,
                far=True,
                dues={i: change[0] for i, change in enumerate(dst_changes)},
            )
            for change in dst_changes:
                expected[(email, change[0].isoformat())] = at(change[index])
    passes = sorted(
        {
            t + d
            for t in expected.values()
            for d in (timedelta(minutes=-1), timedelta(0), timedelta(hours=1))
        }
    )
    for now in passes:
        run(app, now)
    with app.app_context():
        sent = {
            (email, n.payload["date"]): n.sent_at
            for n, email in db.session.execute(
                select(Notification, User.email).join(User).where(Notification.status == "sent")
            )
        }
    assert sent == expected  # each at its instant, not a minute early
    assert len(smtp_server.messages) == len(expected)  # once each, the fall-back hour included
    assert {m["To"] for m in smtp_server.messages} == {email for email, _ in expected}


# -- Due-day reminders ---------------------------------------------------------------------


def test_one_due_day_email_lists_every_milestone_due(
    app: Flask, client: Any, smtp_server: Any, enrol: Any
) -> None:
    enrol(weekly_enabled=False, nudge_days=0, dues={1: date(2027, 1, 5)})  # 0 and 1 on Tue 5th
    assert run(app, at("2027-01-05T07:59Z")) == Counts()
    assert run(app, at("2027-01-05T08:00Z")) == Counts(queued=1, sent=1)
    assert run(app, at("2027-01-05T08:00Z")) == Counts()  # a second pass at the same now
    assert run(app, at("2027-01-05T09:00Z")) == Counts()
    [message] = smtp_server.messages
    [row] = outbox_rows(app)
    assert (row.kind, row.dedupe_key, row.due_at) == (
        "due",
        f"due:{row.user_id}:2027-01-05",
        at("2027-01-05T08:00Z"),
    )
    assert message["To"] == "learner@example.com"
    assert message["Subject"] == "Due today: 2 milestones"
    assert message["Message-ID"] == row.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    unsubscribe = re.fullmatch(
        r"<(https://tracker\.example/unsubscribe/[\w.-]+)>", message["List-Unsubscribe"]
    )
    assert unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # On the wire too: one plain <https://…> token (RFC 8058), not RFC 2047 encoded words.
    [raw] = smtp_server.raw
    assert f"\r\nList-Unsubscribe: <{unsubscribe.group(1)}>\r\n".encode() in raw
    text, html = text_and_html(message)
    with app.app_context():
        ids = db.session.scalars(
            select(Milestone.id).where(Milestone.position.in_((0, 1))).order_by(Milestone.position)
        ).all()
    for body in (text, html):
        assert "Tuesday 5 January 2027" in body
        assert unsubscribe.group(1) in body  # the visible unsubscribe link
        assert "https://tracker.example/dashboard" in body
        for m_id in ids:
            assert f"https://tracker.example/milestones/{m_id}" in body
    assert 'style="' in html and "<style" not in html and 'href="/' not in html
    links = re.findall(r'href="([^"]+)"', html)
    assert links and all(link.startswith("https://tracker.example/") for link in links)

    # The one-click unsubscribe works without cookies; the next day's reminder is not sent.
    response = client.post(
        unsubscribe.group(1).removeprefix("https://tracker.example"),
        data={"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    assert run(app, at("2027-01-07T08:00Z")) == Counts()
    assert len(smtp_server.messages) == 1


def test_done_milestones_paused_plans_and_opt_outs_get_nothing(
    app: Flask, smtp_server: Any, enrol: Any
) -> None:
    # Due Tuesday 5th: milestone 0 (done, for the first learner), for everyone else open.
    enrol("done@example.com", **{**QUIET, "due_reminders": True}, done=(0,))
    _, paused = enrol("paused@example.com", **{**QUIET, "due_reminders": True})
    enrol("unverified@example.com", verified=False, **{**QUIET, "due_reminders": True})
    enrol("off@example.com", **QUIET)
    enrol("on@example.com", **{**QUIET, "due_reminders": True})
    with app.app_context():
        plan = db.session.get(Plan, paused)
        assert plan is not None
        changes.pause(plan, date(2027, 1, 4), at("2027-01-04T12:00Z"))
        db.session.commit()
    assert run(app, at("2027-01-05T08:00Z")) == Counts(queued=1, sent=1)
    assert [m["To"] for m in smtp_server.messages] == ["on@example.com"]


def test_a_tick_before_delivery_cancels_the_reminder(
    app: Flask, smtp_server: Any, enrol: Any
) -> None:
    enrol(**{**QUIET, "due_reminders": True})
    with smtp_server.down():
        assert run(app, at("2027-01-05T08:00Z")) == Counts(queued=1, deferred=1)
    with app.app_context():
        milestone = db.session.scalar(select(Milestone).where(Milestone.position == 0))
        assert milestone is not None
        milestone.done_at = at("2027-01-05T08:00:30Z")
        db.session.commit()
    assert run(app, at("2027-01-05T08:01Z")) == Counts(skipped=1)
    assert smtp_server.messages == []


def test_server_down_for_a_pass_delivers_later_once(
    app: Flask, smtp_server: Any, enrol: Any
) -> None:
    enrol("a@example.com", **{**QUIET, "due_reminders": True})
    enrol("b@example.com", **{**QUIET, "due_reminders": True})
    with smtp_server.down():
        assert run(app, at("2027-01-05T08:00Z")) == Counts(queued=2, deferred=2)
        assert run(app, at("2027-01-05T08:00:30Z")) == Counts()  # backing off
    assert {r.status for r in outbox_rows(app)} == {"pending"}
    assert run(app, at("2027-01-05T08:01Z")) == Counts(sent=2)
    assert run(app, at("2027-01-05T08:02Z")) == Counts()
    assert sorted(m["To"] for m in smtp_server.messages) == ["a@example.com", "b@example.com"]
    assert [r.attempts for r in outbox_rows(app)] == [1, 1]  # the outage spent none


def test_a_late_reminder_is_skipped_not_sent(app: Flask, smtp_server: Any, enrol: Any) -> None:
    enrol(**{**QUIET, "due_reminders": True})
    assert run(app, at("2027-01-05T20:01Z")) == Counts(skipped=1)  # 12 h 1 min after 08:00
    [row] = outbox_rows(app)
    assert row.status == "skipped"
    assert run(app, at("2027-01-05T20:02Z")) == Counts()
    # A queued one that could not go out in time expires too.
    with smtp_server.down():
        run(app, at("2027-01-07T08:00Z"))
    assert run(app, at("2027-01-07T20:00Z")) == Counts(skipped=1)
    assert smtp_server.messages == []


def test_a_late_evening_reminder_is_still_sent_after_midnight(
    app: Flask, smtp_server: Any, enrol: Any
) -> None:
    enrol(**{**QUIET, "due_reminders": True}, reminder_time=time(23, 30))
    assert run(app, at("2027-01-06T01:00Z")) == Counts(queued=1, sent=1)  # 1.5 h late
    assert smtp_server.messages[0]["Subject"].startswith("Due today")


# -- Overdue nudges ------------------------------------------------------------------------


def test_overdue_nudge_once_after_n_days(app: Flask, smtp_server: Any, enrol: Any) -> None:
    enrol(
        "nudge@example.com", **{**QUIET, "nudge_days": 2}, done=(1,)
    )  # 0 open (5th), 1 done (7th)
    enrol("off@example.com", **QUIET)
    assert run(app, at("2027-01-06T08:00Z")) == Counts()
    assert run(app, at("2027-01-07T08:00Z")) == Counts(queued=1, sent=1)
    assert run(app, at("2027-01-07T12:00Z")) == Counts()
    assert run(app, at("2027-01-09T08:00Z")) == Counts()  # milestone 1 is done
    [message] = smtp_server.messages
    assert message["To"] == "nudge@example.com"
    assert message["Subject"] == f"Still open: {TITLE_0} (due Tuesday 5 January 2027)"
    text, html = text_and_html(message)
    for body in (text, html):
        assert "https://tracker.example/replan" in body
        assert "https://tracker.example/unsubscribe/" in body
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# -- Weekly progress email -----------------------------------------------------------------


def test_weekly_progress_email(app: Flask, smtp_server: Any, enrol: Any) -> None:
    # Week 3 (Monday 18 January), with 2 milestones done in the last 7 days and 1 overdue.
    user_id, plan_id = enrol(**{**QUIET, "weekly_enabled": True})
    with app.app_context():
        for m in db.session.scalars(select(Milestone).where(Milestone.plan_id == plan_id)):
            if m.position <= 3:  # due 5, 7, 11, 13 January
                m.done_at = at("2027-01-08T10:00Z")
            elif m.position in (4, 5):  # due 15 and 19 January: 15th is overdue
                m.done_at = at("2027-01-16T10:00Z") if m.position == 5 else None
        db.session.commit()
    assert run(app, at("2027-01-18T07:59Z")) == Counts(skipped=1)  # last week's: too late now
    assert run(app, at("2027-01-18T08:00Z")) == Counts(queued=1, sent=1)
    assert run(app, at("2027-01-18T08:00Z")) == Counts()
    [message] = smtp_server.messages
    assert message["Subject"] == "Week 3 of 13 · 5/33 done · 1 milestone behind"
    assert message["List-Unsubscribe"].startswith("<https://tracker.example/unsubscribe/")
    assert [(r.dedupe_key, r.status) for r in outbox_rows(app)] == [
        (f"weekly:{user_id}:2027-W02", "skipped"),
        (f"weekly:{user_id}:2027-W03", "sent"),
    ]
    text, html = text_and_html(message)
    for body in (text, html):
        assert "5 of 33" in body and "15%" in body
        assert "Done in the last 7 days (1)" in body  # position 5, done on the 16th
        assert "done Saturday 16 January 2027" in body  # the day it was done, not its due date
        assert "Overdue (1)" in body
        assert "Due in the next 7 days (" in body
        assert "https://tracker.example/dashboard" in body
        assert "https://tracker.example/replan" in body
        assert "Friday 2 April 2027" in body  # planned finish, later than it would be on pace
    # Next Monday's is a new one.
    assert run(app, at("2027-01-25T08:00Z")) == Counts(queued=1, sent=1)


def test_catch_up_after_a_three_day_outage(app: Flask, smtp_server: Any, enrol: Any) -> None:
    """Down from Sunday 10th to Wednesday 13th 21:00 Berlin: Monday's weekly and nothing stale."""
    enrol(timezone="Europe/Berlin", nudge_days=2)  # due 11th, 13th; weekly Monday 08:00
    counts = run(app, at("2027-01-13T20:00Z"))  # 21:00 in Berlin
    assert counts == Counts(queued=1, sent=1, skipped=2)
    [message] = smtp_server.messages
    assert message["Subject"] == "Week 2 of 13 · 0/33 done · 3 milestones behind"
    statuses = {
        r.dedupe_key.split(":")[0] + ":" + r.dedupe_key.split(":")[-1]: r.status
        for r in outbox_rows(app)
    }
    assert statuses == {
        "weekly:2027-W02": "sent",
        "due:2027-01-13": "skipped",
        "nudge:2027-01-11": "skipped",
    }
    assert run(app, at("2027-01-13T20:01Z")) == Counts()
    assert run(app, at("2027-01-14T07:00Z")) == Counts()  # nothing due on Thursday
    # Friday: the 15th's reminder and the nudge for the 13th (its due-day one was skipped).
    assert run(app, at("2027-01-15T07:00Z")) == Counts(queued=2, sent=2)


def test_no_weekly_before_the_plan_starts_or_for_a_finished_plan(
    app: Flask, smtp_server: Any, enrol: Any, make_user: Any, make_plan: Any
) -> None:
    enrol("finished@example.com", **{**QUIET, "weekly_enabled": True}, done=tuple(range(33)))
    early = make_user("early@example.com", **{**QUIET, "weekly_enabled": True})
    make_plan(early, start=date(2027, 1, 11), now=EPOCH)
    assert run(app, at("2027-01-04T08:00Z")) == Counts()
    assert run(app, at("2027-01-11T08:00Z")) == Counts(queued=1, sent=1)
    assert [m["To"] for m in smtp_server.messages] == ["early@example.com"]
    assert smtp_server.messages[0]["Subject"].startswith("Week 1 of 13 · 0/33 done")


# -- Efficiency ----------------------------------------------------------------------------


def test_sweep_runs_a_constant_number_of_statements(app: Flask, enrol: Any) -> None:
    for i in range(6):
        enrol(f"l{i}@example.com", nudge_days=4, weekly_weekday=1)
    with app.app_context():
        statements: list[str] = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        reminders.sweep(at("2027-01-19T08:00Z"))  # due, nudge and weekly for everyone
        few = len(statements)
        db.session.execute(update(Notification).values(status="sent"))
        db.session.commit()
    for i in range(6, 30):
        enrol(f"l{i}@example.com", nudge_days=4, weekly_weekday=1)
    with app.app_context():
        statements.clear()
        counts = reminders.sweep(at("2027-01-19T08:00Z"))
    assert counts.queued == 24 * 3
    assert len(statements) == few
