"""Heartbeats: when a background process last showed it is alive, and what it last reported."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from .database import db
from .models import Heartbeat


def beat(name: str, now: datetime, detail: str = "") -> None:
    """Record ``name`` as seen at ``now`` (with a line of detail), in its own commit."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    values = {"name": name, "beat_at": now, "detail": detail[:500]}
    db.session.execute(
        dialect.insert(Heartbeat).values(values)
        .on_conflict_do_update(index_elements=["name"],
                               set_={"beat_at": now, "detail": detail[:500]})
    )
    db.session.commit()


def last_beats() -> dict[str, Heartbeat]:
    """Return every heartbeat by name."""
    return {h.name: h for h in db.session.scalars(select(Heartbeat))}
