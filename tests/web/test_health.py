"""GET /healthz: the database, the worker's heartbeat, and whether mail is going out."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from conftest import Browser, deliver_mail
from sqlalchemy import select

from tracker.database import db
from tracker.mail import outbox
from tracker.models import User, utcnow


def queue_mail(app, key: str, due_ago: timedelta) -> None:
    now = utcnow()
    with app.app_context():
        user = db.session.scalars(select(User.id)).first()
        outbox.queue(db.session, user_id=user, kind="reset", dedupe_key=key,
                     due_at=now - due_ago, now=now)
        db.session.commit()


def test_mail_that_cannot_go_out_turns_health_degraded(app, client, make_user, smtp_server):
    make_user()
    fresh = client.get("/healthz").json
    assert fresh["status"] == "ok" and fresh["mail"]["last_error"] is None
    queue_mail(app, "reset:late", timedelta(minutes=20))
    with smtp_server.down():
        counts = deliver_mail(app)
    assert counts.unreachable and counts.deferred == 1
    health = client.get("/healthz")
    assert health.status_code == 200  # the app serves; mail is only delayed
    mail = health.json["mail"]
    assert health.json["status"] == "degraded" and mail["status"] == "late"
    assert "Connection refused" in mail["last_error_detail"]
    assert mail["oldest_waiting_seconds"] >= 20 * 60 - 5
    assert mail["last_success"] is None

    assert deliver_mail(app, utcnow() + timedelta(minutes=2)).sent == 1
    healed = client.get("/healthz").json
    assert healed["status"] == "ok" and healed["mail"]["last_success"] is not None
    assert healed["mail"]["oldest_waiting_seconds"] == 0


def test_a_failed_message_is_counted(app, client, make_user, smtp_server):
    make_user()
    queue_mail(app, "reset:refused", timedelta(0))

    async def refuse(server, session, envelope, address, options):
        return "550 5.1.1 No such user"

    smtp_server.handle_RCPT = refuse
    now = utcnow()
    for _ in range(9):
        deliver_mail(app, now)
        now += timedelta(days=1)
    assert client.get("/healthz").json["mail"]["failed_24h"] == 1


def test_send_due_exits_2_from_the_command_line_when_mail_is_down(
    app, app_config, make_user, smtp_server, served, tmp_path
):
    # The real CLI process, as cron runs it, against the served app's database.
    make_user()
    queue_mail(app, "reset:cli", timedelta(minutes=1))
    env = {"TRACKER_" + k: str(v) for k, v in app_config.items()
           if k in ("SECRET_KEY", "DATABASE_URL", "BASE_URL")}
    env["TRACKER_MAIL_URL"] = smtp_server.url
    with smtp_server.down():
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "tracker:create_app()", "tracker",
             "send-due"], env={**os.environ, **env}, cwd=tmp_path,
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "mail server unreachable" in result.stdout
    status, page = Browser(served).request("GET", "/healthz")
    assert status == 200 and "Connection refused" in page
