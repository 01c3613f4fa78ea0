"""Plan state: enrol, tick, re-plan, pause, and progress that survives roadmap edits."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from tracker import create_app
from tracker.catalog import get_catalog
from tracker.core import scheduling
from tracker.core.roadmaps import PLANS_DIR, check_files, load_catalog
from tracker.database import db
from tracker.jobs.worker import run_once
from tracker.models import SWEEP_NOW, Notification, Plan, User
from tracker.plans import changes, queries
from tracker.plans.summary import done_dates, summarize

NOW = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
START = date(2027, 1, 4)  # a Monday
WEEKDAYS = (0, 1, 2, 3, 4)

NEW_TITLE = "Set up Go and write a first program"
NEW_LEARN = "Errors in Go are plain values"
REMOVED = "go/go-types-structs-interfaces"
ADDED = """\
[[phases.milestones]]
id = "go-generics"
topic = "Core syntax"
title = "Generics"
learn = "Type parameters and constraints."
done_when = ["You wrote a generic function."]

"""

def tick(milestone: Any, **fields: Any) -> None:
    """Tick a milestone off as the app does: a statement on the session's connection."""
    fields.setdefault("today", fields["now"].date())
    assert changes.tick(db.session.connection(), milestone.id, milestone.plan.user_id, **fields)
    db.session.expire_all()  # the row changed under the loaded objects


def untick(milestone: Any, **fields: Any) -> None:
    """Open a ticked milestone again, as the app does."""
    assert changes.untick(db.session.connection(), milestone.id, milestone.plan.user_id, **fields)
    db.session.expire_all()



def edited_plans(tmp_path: Path) -> Path:
    """Copy plans/ and edit go.toml: new title and learn text, one milestone out, one in."""
    plans = tmp_path / "plans"
    shutil.copytree(PLANS_DIR, plans)
    path = plans / "go.toml"
    text = path.read_text(encoding="utf-8")
    edits = [
        ('title = "Toolchain, modules and your first program"', f'title = "{NEW_TITLE}"'),
        ("Go returns errors as ordinary values", NEW_LEARN),
        ('[[phases]]\nid = "month-2"', ADDED + '[[phases]]\nid = "month-2"'),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    block = text.index('[[phases.milestones]]\nid = "go-types-structs-interfaces"')
    text = text[:block] + text[text.index("[[phases.milestones]]", block + 1) :]
    path.write_text(text, encoding="utf-8")
    assert check_files([path]) == []
    return plans


def get_plan(plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    assert plan is not None
    return plan


def test_progress_survives_roadmap_edits(
    app: Flask,
    app_config: dict[str, Any],
    client: Any,
    auth: Any,
    make_user: Any,
    make_plan: Any,
    tmp_path: Path,
) -> None:
    user_id = make_user()
    plan_id = make_plan(user_id, "go", START, WEEKDAYS, NOW)
    ticked = {0: "title edited", 1: "removed", 2: "learn edited", 5: "untouched"}
    with app.app_context():
        plan = get_plan(plan_id)
        for i, note in ticked.items():
            tick(plan.milestones[i], note=note, evidence_url=f"https://example.com/{i}",
                 now=NOW + timedelta(days=i + 3))
        db.session.commit()
        before = [(m.step_id, m.due_date, m.done_at, m.note) for m in get_plan(plan_id).milestones]
        assert before[1][0] == REMOVED

    catalog = load_catalog(edited_plans(tmp_path))
    assert catalog.step(REMOVED) is None
    assert catalog.step("go/go-generics") is not None
    assert len(catalog.roadmaps["go"].steps) == 33

    with app.app_context():
        db.session.expire_all()
        plan = get_plan(plan_id)
        summary = summarize(plan, queries.milestone_states(plan), plan.user.zone, catalog,
                            date(2027, 1, 12))
        after = [(m.step_id, m.due_date, m.done_at, m.note)
                 for m in queries.milestone_states(plan)]
        # The plan's own rows: nothing lost, nothing added; the removed step's progress
        # (done, note, link) stays in the data for when it comes back.
        assert after == before
        rows = summary.items
        # ... but a milestone whose step left plans/ is neither listed nor counted.
        assert REMOVED not in [r.step.id for r in rows]
        assert rows[0].title == NEW_TITLE and rows[0].done_on == date(2027, 1, 4)
        assert rows[1].step.learn.startswith(NEW_LEARN)
        assert rows[4].note == "untouched"
        assert "go/go-generics" not in [r.step.id for r in rows]
        assert summary.pace.done == 3 and summary.pace.total == 32
        assert [p.phase.id for p in summary.phases if p.phase] == ["month-1", "month-2", "month-3"]
        assert summary.phases[0].done == 3 and len(summary.phases[0].items) == 10
        assert summary.study_days == "Mon, Tue, Wed, Thu, Fri"

    # The app started on the edited plans serves the same changes.
    edited_app = create_app({**app_config, "PLANS_DIR": tmp_path / "plans"})
    try:
        edited_app.test_client_class = type(client)
        edited_client = edited_app.test_client()
        assert type(auth)(edited_client).login().status_code == 302
        page = edited_client.get("/dashboard").get_data(as_text=True)
        assert NEW_TITLE in page and REMOVED not in page
        assert "Toolchain, modules and your first program" not in page
    finally:
        with edited_app.app_context():
            db.engine.dispose()


def test_a_step_gone_from_plans_is_never_reminded(
    app: Flask, app_config: dict[str, Any], make_user: Any, make_plan: Any, tmp_path: Any
) -> None:
    user_id = make_user(due_reminders=True, nudge_days=0, weekly_enabled=False)
    plan_id = make_plan(user_id, "go", START, WEEKDAYS, NOW)
    with app.app_context():
        removed = next(m for m in get_plan(plan_id).milestones if m.step_id == REMOVED)
        due_day = removed.due_date
    edited_app = create_app({**app_config, "PLANS_DIR": edited_plans(tmp_path)})
    try:
        with edited_app.app_context():
            # 08:00 UTC on the day it is due: it is the only milestone due that day.
            counts = run_once(datetime.combine(due_day, time(8), UTC))
            assert counts.queued == 0
            assert db.session.scalars(select(Notification)).all() == []
    finally:
        with edited_app.app_context():
            db.engine.dispose()
    with app.app_context():  # the same pass on the plans that still have it: one reminder
        db.session.get(User, user_id).next_mail_at = SWEEP_NOW  # as if not yet looked at
        db.session.commit()
        assert run_once(datetime.combine(due_day, time(8), UTC)).queued == 1


def test_create_plan_dates_every_milestone(app: Flask, make_user: Any) -> None:
    user_id = make_user()
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        catalog = get_catalog()
        plan = changes.create_plan(
            user,
            catalog,
            outcome="go-rust",
            recommended="go",
            answers={"goal": ["employability-then-specialization"]},
            start=START,
            study_days=[4, 0, 2, 2],
            now=NOW,
        )
        db.session.commit()
        plan_id = plan.id

    with app.app_context():
        plan = get_plan(plan_id)
        steps = [m for r in catalog.roadmaps_for("go-rust") for m in r.steps]
        assert [m.step_id for m in plan.milestones] == [s.id for s in steps]
        assert [m.position for m in plan.milestones] == list(range(65))
        assert plan.milestones[0].phase_id == "go/month-1"
        assert plan.milestones[-1].phase_id == "rust/month-3"
        shapes = [
            (p.days, len(p.steps)) for r in catalog.roadmaps_for("go-rust") for p in r.phases
        ]
        assert [m.due_date for m in plan.milestones] == scheduling.schedule(
            shapes, START, (0, 2, 4)
        )
        assert plan.study_days == "024" and plan.weekdays == (0, 2, 4)
        assert (
            plan.roadmaps == ["go", "rust"]
            and plan.outcome == "go-rust"
            and plan.recommended == "go"
        )
        assert plan.answers == {"goal": ["employability-then-specialization"]}
        assert plan.start_date == START and plan.archived_at is None
        assert plan.user.calendar_changed_at == NOW
        assert all(m.done_at is None and m.sequence == 0 for m in plan.milestones)
        assert len({m.uid for m in plan.milestones}) == 65


def test_a_new_plan_archives_the_old_one(app: Flask, make_user: Any, make_plan: Any) -> None:
    user_id = make_user()
    first = make_plan(user_id, "go", START, WEEKDAYS, NOW)
    second = make_plan(user_id, "rust", START, WEEKDAYS, NOW + timedelta(days=1))
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        assert get_plan(first).archived_at == NOW + timedelta(days=1)
        current = queries.current_plan(user)
        assert current is not None and current.id == second
        for plan in user.plans:
            plan.archived_at = NOW
        assert queries.current_plan(user) is None


def test_tick_and_untick(app: Flask, make_user: Any, make_plan: Any) -> None:
    user_id = make_user()
    plan_id = make_plan(user_id, "go", START, WEEKDAYS, NOW)
    other = make_user("other@example.com")
    later = NOW + timedelta(days=2)
    with app.app_context():
        milestone = get_plan(plan_id).milestones[0]
        tick(milestone, note="first", evidence_url="", now=NOW)
        tick(milestone, note="better note", evidence_url="https://e.example/1", now=later)
        tick(milestone, now=later)  # the one-click button: None keeps the note and link
        connection = db.session.connection()
        assert changes.tick(connection, milestone.id, other, now=later,
                            today=later.date()) is None  # not theirs
        assert changes.untick(connection, milestone.id, other, now=later) is None
        db.session.commit()

    with app.app_context():
        milestone = get_plan(plan_id).milestones[0]
        assert milestone.done_at == NOW  # ticking again keeps the first completion time
        assert milestone.done_at.tzinfo is not None
        assert (milestone.note, milestone.evidence_url) == ("better note", "https://e.example/1")
        assert milestone.updated_at == later and milestone.plan.user.calendar_changed_at == later
        untick(milestone, now=later + timedelta(hours=1))
        db.session.commit()

    with app.app_context():
        milestone = get_plan(plan_id).milestones[0]
        assert milestone.done_at is None and not milestone.is_done
        assert milestone.note == "better note"  # undo keeps the note


def test_done_dates_are_in_the_learner_zone(app: Flask, make_user: Any, make_plan: Any) -> None:
    tokyo = make_user("tokyo@example.com", timezone="Asia/Tokyo")
    la = make_user("la@example.com", timezone="America/Los_Angeles")
    done_at = datetime(2027, 1, 4, 20, 0, tzinfo=UTC)  # Tue morning in Tokyo, Mon noon in LA
    for user_id, expected in [(tokyo, date(2027, 1, 5)), (la, date(2027, 1, 4))]:
        plan_id = make_plan(user_id, "go", START, WEEKDAYS, NOW)
        with app.app_context():
            plan = get_plan(plan_id)
            tick(plan.milestones[0], note="", evidence_url="", now=done_at)
            db.session.commit()
            done_on = done_dates([m.done_at for m in plan.milestones], plan.user.zone)
            assert done_on[:2] == [expected, None]


def test_replan_moves_only_open_milestones(app: Flask, make_user: Any, make_plan: Any) -> None:
    plan_id = make_plan(make_user(), "go", START, WEEKDAYS, NOW)
    today = date(2027, 2, 13)  # a Saturday, weeks behind
    with app.app_context():
        plan = get_plan(plan_id)
        for m in plan.milestones[:2]:
            tick(m, note="", evidence_url="", now=NOW)
        before = [m.due_date for m in plan.milestones]
        preview = changes.replan_preview(plan, today)
        assert [m.due_date for m in plan.milestones] == before  # a preview changes nothing
        moved = changes.replan(plan, today, NOW + timedelta(days=40))
        db.session.commit()

    with app.app_context():
        plan = get_plan(plan_id)
        after = [m.due_date for m in plan.milestones]
        assert after == preview
        assert after[:2] == before[:2]
        assert after[2] == date(2027, 2, 15)  # the next study day
        assert moved == sum(1 for a, b in zip(before, after, strict=True) if a != b) == 31
        assert [m.sequence for m in plan.milestones] == [0, 0] + [1] * 31
        assert plan.user.calendar_changed_at == NOW + timedelta(days=40)
        assert changes.replan(plan, today, NOW + timedelta(days=41)) == 0  # idempotent


def test_pause_and_resume_push_open_milestones_back(
    app: Flask, make_user: Any, make_plan: Any
) -> None:
    plan_id = make_plan(make_user(), "go", START, WEEKDAYS, NOW)
    with app.app_context():
        plan = get_plan(plan_id)
        tick(plan.milestones[0], note="", evidence_url="", now=NOW)
        before = [m.due_date for m in plan.milestones]
        changes.pause(plan, date(2027, 1, 11), NOW)
        db.session.commit()
        assert get_plan(plan_id).paused_on == date(2027, 1, 11)
        # A week away (Monday to Monday) is five study days missed.
        moved = changes.resume(plan, date(2027, 1, 18), NOW)
        db.session.commit()

    with app.app_context():
        plan = get_plan(plan_id)
        after = [m.due_date for m in plan.milestones]
        assert plan.paused_on is None
        assert after[0] == before[0] and moved == 32
        assert after[1:] == [
            scheduling.study_day(scheduling.study_index(d, WEEKDAYS) + 5, WEEKDAYS)
            for d in before[1:]
        ]
        assert changes.resume(plan, date(2027, 1, 20), NOW) == 0  # not paused
        changes.pause(plan, date(2027, 1, 20), NOW)
        assert changes.resume(plan, date(2027, 1, 20), NOW) == 0  # back the same day


def test_summarize_says_what_to_study(app: Flask, make_user: Any, make_plan: Any) -> None:
    plan_id = make_plan(make_user(), "go-rust", START, WEEKDAYS, NOW)
    with app.app_context():
        plan = get_plan(plan_id)
        dues = [m.due_date for m in plan.milestones]
        tick(plan.milestones[0], note="", evidence_url="", now=NOW)
        today = dues[2]
        summary = summarize(plan, queries.milestone_states(plan), plan.user.zone, get_catalog(),
                            today)
        assert [r.id for r in summary.due_now] == [plan.milestones[1].id, plan.milestones[2].id]
        assert summary.next_up is not None and summary.next_up.id == plan.milestones[3].id
        assert summary.pace.status == "behind" and summary.pace.label == "1 milestone behind"
        assert summary.pace.done == 1 and summary.pace.total == 65
        assert [(p.roadmap.id, p.phase.id if p.phase else None) for p in summary.phases] == [
            (r, f"month-{n}") for r in ("go", "rust") for n in (1, 2, 3)
        ]
        assert summary.phases[0].done == 1 and summary.phases[0].percent == 100 // 11
        assert all(r.step is not None and r.title == r.step.title for r in summary.items)
