from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import monotonic, sleep
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tracker.database import db
from tracker.heartbeats import beat
from tracker.jobs.worker import clean_up, send_due_command
from tracker.mail import outbox
from tracker.models import Heartbeat, Milestone, Notification, utcnow

ROOT = Path(__file__).resolve().parents[2]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
ONLY_DUE = {"due_reminders": True, "nudge_days": 0, "weekly_enabled": False}


@pytest.fixture
def due_learner(make_user: Any, make_plan: Any) -> tuple[int, int]:
    """A learner in the Go plan (first milestone due Tuesday 2027-01-05) with due reminders."""
    user_id = make_user("learner@example.com", **ONLY_DUE)
    return user_id, make_plan(user_id, start=date(2027, 1, 4), now=EPOCH)


def test_send_due_prints_counts_and_sends_once(
    app: Flask, smtp_server: Any, due_learner: tuple[int, int]
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(send_due_command, ["--now", "2027-01-05T08:00:00Z"])
    assert result.exit_code == 0, result.output
    assert result.output == "queued 1, sent 1, failed 0, skipped 0\n"
    result = runner.invoke(send_due_command, ["--now", "2027-01-05T08:00:00Z"])
    assert result.output == "queued 0, sent 0, failed 0, skipped 0\n"
    assert [m["Subject"] for m in smtp_server.messages] == [
        "Due today: Toolchain, modules and your first program"
    ]
    result = runner.invoke(send_due_command, ["--now", "next tuesday"])
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_send_due_exits_2_while_the_server_is_down(
    app: Flask, smtp_server: Any, due_learner: tuple[int, int]
) -> None:
    runner = app.test_cli_runner()
    with smtp_server.down():
        result = runner.invoke(send_due_command, ["--now", "2027-01-05T08:00"])  # naive: UTC
    # Exit 2 so cron and monitors notice; the mail waits, its attempts unspent.
    assert result.exit_code == 2
    assert result.output.startswith("queued 1, sent 0, failed 0, skipped 0, waiting 1; "
                                    "mail server unreachable: ")
    assert "Connection refused" in result.output
    result = runner.invoke(send_due_command, ["--now", "2027-01-05T08:05Z"])
    assert result.exit_code == 0
    assert result.output == "queued 0, sent 1, failed 0, skipped 0\n"


def test_heartbeat_and_retention(app: Flask, due_learner: tuple[int, int]) -> None:
    user_id, _ = due_learner
    with app.app_context():
        beat("worker", EPOCH)
        beat("worker", EPOCH + timedelta(seconds=30))  # an upsert: one row, moved on
        beats = db.session.scalars(select(Heartbeat.beat_at)).all()
        assert beats == [EPOCH + timedelta(seconds=30)]
        for key, status, age in (("old-sent", "sent", 91), ("old-pending", "pending", 91),
                                 ("new-sent", "sent", 89), ("old-failed", "failed", 100)):
            outbox.queue(db.session, user_id=user_id, kind="due", dedupe_key=key, due_at=EPOCH,
                         now=EPOCH - timedelta(days=age))
            db.session.execute(
                Notification.__table__.update()
                .where(Notification.dedupe_key == key)
                .values(status=status)
            )
        db.session.commit()
        assert clean_up(EPOCH) == 2
        assert sorted(db.session.scalars(select(Notification.dedupe_key))) == [
            "new-sent", "old-pending"]


def test_worker_delivers_beats_and_stops_on_sigterm(
    app: Flask, due_learner: tuple[int, int], database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("one engine is enough to test the process wiring")
    user_id, plan_id = due_learner
    with app.app_context():
        milestone = db.session.scalar(select(Milestone).where(Milestone.position == 0))
        assert milestone is not None
        payload = {"plan_id": plan_id, "date": milestone.due_date.isoformat(),
                   "milestones": [milestone.id]}
        # Due long ago and never expiring: the worker sends it whatever the clock says.
        # Queued just now, so the retention job the worker also runs keeps the sent row.
        outbox.queue(db.session, user_id=user_id, kind="due", dedupe_key="due:worker-test",
                     due_at=EPOCH, now=utcnow(), payload=payload)
        db.session.commit()
    mail_dir = tmp_path / "worker-mail"
    env = {**os.environ, "TRACKER_DATABASE_URL": database_url,
           "TRACKER_MAIL_URL": f"file://{mail_dir}", "TRACKER_SECRET_KEY": "test-secret",
           "TRACKER_BASE_URL": "https://tracker.example"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "tracker", "worker"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = monotonic() + 60
        while not (list(mail_dir.glob("*.eml")) and _beat(app)):
            if monotonic() > deadline or worker.poll() is not None:
                worker.kill()
                pytest.fail(f"the worker did not deliver and beat:\n{worker.communicate()[0]}")
            sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, output
    assert "worker stopped" in output
    with app.app_context():
        row = db.session.scalar(
            select(Notification).where(Notification.dedupe_key == "due:worker-test")
        )
        assert row is not None and row.status == "sent"
    sent = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in mail_dir.glob("*.eml")]
    assert row.message_id in {m["Message-ID"] for m in sent}
    assert app.test_client().get("/healthz").get_json()["scheduler"]["last_beat"]


def _beat(app: Flask) -> datetime | None:
    with app.app_context():
        return db.session.scalar(select(Heartbeat.beat_at).where(Heartbeat.name == "worker"))
