"""GET /healthz: is the database reachable, is the worker alive, is mail going out?"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..database import db
from ..heartbeats import last_beats
from ..models import Heartbeat, Notification, utcnow

STALE_AFTER = timedelta(minutes=3)
# Mail waiting longer than this past its time makes the app "degraded": the worker is down,
# or the mail server has refused or been unreachable for a quarter of an hour.
MAIL_LATE_AFTER = timedelta(minutes=15)
RECENT = timedelta(hours=24)


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def mail_status(now: datetime, beats: dict[str, Heartbeat]) -> dict[str, Any]:
    """Report the mail transport: last success and error, the oldest waiting message."""
    sent, error = beats.get("mail-sent"), beats.get("mail-error")
    oldest = db.session.scalar(
        select(func.min(Notification.due_at))
        .where(Notification.status.in_(("pending", "sending")), Notification.due_at <= now))
    lost = dict(db.session.execute(
        select(Notification.status, func.count())
        .where(Notification.created_at > now - RECENT,
               (Notification.status == "failed")
               | ((Notification.status == "skipped")
                  & Notification.last_error.startswith("expired")))
        .group_by(Notification.status)).all())
    # Refused or unreachable and not given up on: how many, and when the next try is.
    retrying, next_try = db.session.execute(
        select(func.count(), func.min(Notification.next_attempt_at))
        .where(Notification.status == "pending", Notification.last_error != "")).one()
    waiting = (now - oldest).total_seconds() if oldest and oldest <= now else 0
    return {
        "last_success": _when(sent.beat_at if sent else None),
        "last_error": _when(error.beat_at if error else None),
        "last_error_detail": error.detail if error else "",
        "oldest_waiting_seconds": int(waiting),
        "retrying": retrying,
        "next_try": _when(next_try),
        "failed_24h": lost.get("failed", 0),
        "expired_24h": lost.get("skipped", 0),
        "status": "late" if waiting > MAIL_LATE_AFTER.total_seconds() else "ok",
    }


def healthz() -> ResponseReturnValue:
    """Report database, worker-heartbeat and mail status as JSON."""
    now = utcnow()
    try:
        db.session.execute(text("SELECT 1"))
        beats = last_beats()
        mail = mail_status(now, beats)
    except SQLAlchemyError as e:
        return jsonify(status="error", database=f"error: {type(e).__name__}"), 503
    beat = beats["worker"].beat_at if "worker" in beats else None
    worker = {
        "last_beat": _when(beat),
        "status": "ok" if beat and now - beat < STALE_AFTER else ("stale" if beat else "never"),
    }
    processes = int(current_app.config["WEB_PROCESSES"])
    storage = str(current_app.config["RATELIMIT_STORAGE_URI"]).partition("://")[0]
    shared = storage != "memory" or processes <= 1
    limits = {"storage": storage, "web_processes": processes, "shared": shared}
    if not shared:
        limits["warning"] = (f"{processes} processes count rate limits alone: "
                             "set TRACKER_RATELIMIT_STORAGE_URI to redis://")
    # Still 200 when degraded: the web app serves; mail is only delayed. The fields tell ops.
    status = "degraded" if mail["status"] != "ok" or not shared else "ok"
    return jsonify(status=status, database="ok", scheduler=worker, mail=mail, rate_limits=limits)


def init_app(app: Flask) -> None:
    """Add the health check route."""
    app.add_url_rule("/healthz", view_func=healthz, methods=["GET"])
