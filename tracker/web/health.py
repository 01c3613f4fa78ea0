"""GET /healthz: is the database reachable, is the reminder worker alive?"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from ..database import db
from ..models import Heartbeat, utcnow

STALE_AFTER = timedelta(minutes=3)


def healthz() -> ResponseReturnValue:
    """Report database and worker-heartbeat status as JSON."""
    try:
        db.session.execute(text("SELECT 1"))
        beat = db.session.scalar(select(Heartbeat.beat_at).where(Heartbeat.name == "worker"))
    except SQLAlchemyError as e:
        return jsonify(status="error", database=f"error: {type(e).__name__}"), 503
    now = utcnow()
    worker = {
        "last_beat": beat.isoformat() if beat else None,
        "status": "ok" if beat and now - beat < STALE_AFTER else ("stale" if beat else "never"),
    }
    # The web app is healthy without a worker (mail is only delayed); the field tells ops.
    return jsonify(status="ok", database="ok", scheduler=worker)


def init_app(app: Flask) -> None:
    """Add the health check route."""
    app.add_url_rule("/healthz", view_func=healthz, methods=["GET"])
