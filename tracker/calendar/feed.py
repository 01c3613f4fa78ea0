"""The learner's calendar: built from the current plan, cached until something it shows changes.

The serialized calendar is kept in ``feed_cache`` under a key made of everything its bytes
depend on (``calendar_changed_at``, which every plan change moves, the alarm setting, the
base URL, the roadmap text) and rebuilt by the first request after a change, so a poll with
nothing new costs one indexed SELECT. ``Last-Modified`` comes from that row and only ever
moves forward.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from ..core import ical
from ..database import db, read_one
from ..models import FeedCache, Milestone, Review, User
from ..plans.queries import current_plan
from ..plans.steps import milestone_step, steps_for
from ..web.urls import path_for

# Bump when build_calendar makes different bytes from the same data: every cached feed is
# then rebuilt on its next poll.
FORMAT = "3"


def calendar_bytes(user: User) -> bytes:
    """Build the learner's calendar from the current plan (an empty calendar without one)."""
    plan = current_plan(user)
    name = "Roadmap Tracker"
    entries: list[ical.Entry] = []
    if plan is not None:
        steps = steps_for(plan, own=plan.milestones)
        name = f"Roadmap Tracker: {steps.plan_title(plan)}"
        for m in plan.milestones:
            step = steps.step(m.step_id)
            if step is None:
                continue  # gone from plans/: no event (its row and progress stay)
            roadmap = steps.roadmaps.get(m.phase_id.partition("/")[0])
            entries.append(ical.Entry(
                uid=m.uid,
                sequence=m.sequence,
                due=m.due_date,
                updated_at=m.updated_at,
                plan=roadmap.language if roadmap else plan.outcome,
                title=step.title,
                path=path_for("plans.milestone", milestone_id=m.id),
                done=m.is_done,
                skipped=m.skipped_at is not None,
                skip_reason=m.skip_reason,
                topic=step.topic,
                learn=step.learn,
                done_when=step.done_when,
                links=tuple((link.title, link.url) for link in step.links),
                note=m.note,
                evidence_url=m.evidence_url,
            ))
    if user.reviews_enabled and user.feed_reviews:
        entries += review_entries(user)
    alarm_at = user.reminder_time if user.feed_alarm else None
    return ical.build_calendar(name, entries, base_url=current_app.config["BASE_URL"],
                               alarm_at=alarm_at)


def review_entries(user: User) -> list[ical.Entry]:
    """Return the learner's reviews as events on their next day, in the order they come."""
    entries = []
    for review, m in db.session.execute(
        sa.select(Review, Milestone).join(Review.milestone).where(Review.user_id == user.id)
        .order_by(Review.due_on, Review.id)
    ):
        step = milestone_step(m)
        if step is None:
            continue
        entries.append(ical.Entry(
            uid=review.uid, sequence=review.sequence, due=review.due_on,
            updated_at=review.updated_at, plan="Review", title=step.title,
            path=path_for("plans.review", review_id=review.id),
            learn="Check you still know it, then answer Again, Hard, Good or Easy.",
            done_when=step.done_when, categories=("Review", step.topic)))
    return entries


def cache_key(app: Flask, changed_at: datetime, alarm: bool, reminder_time: Any) -> str:
    """Return the digest of everything a learner's feed bytes are built from."""
    parts = (FORMAT, changed_at.isoformat(), str(alarm), str(reminder_time),
             app.config["BASE_URL"], app.extensions["catalog_digest"])
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Feed:
    """What a response needs: the validators, and the body when it is already at hand."""

    user_id: int
    etag: str
    modified_at: datetime
    body: bytes | None = None

    def with_body(self, engine: sa.Engine) -> Feed | None:
        """Return this feed with its body; None if the cache row has moved on since."""
        if self.body is not None:
            return self
        row = read_one(engine, _BODY, user_id=self.user_id, etag=self.etag)
        return Feed(self.user_id, self.etag, self.modified_at, row.body) if row else None


_BODY = sa.select(FeedCache.body).where(FeedCache.user_id == sa.bindparam("user_id"),
                                        FeedCache.etag == sa.bindparam("etag"))


def user_feed(user: User) -> Feed:
    """Return the learner's feed, from the cache when it is current, else rebuilt."""
    cache = db.session.get(FeedCache, user.id)
    key = cache_key(current_app, user.calendar_changed_at, user.feed_alarm, user.reminder_time)
    if cache is not None and cache.key == key:
        return Feed(user.id, cache.etag, cache.modified_at, cache.body)
    body = calendar_bytes(user)
    etag = hashlib.sha256(body).hexdigest()[:32]
    changed = whole_second(user.calendar_changed_at)
    if cache is None:
        modified = changed
        cache = FeedCache(user_id=user.id)
        db.session.add(cache)
    elif cache.etag == etag:
        modified = max(whole_second(cache.modified_at), changed)
    else:
        # The bytes changed: Last-Modified must move on even if calendar_changed_at did
        # not (a new base URL, roadmap text or reminder time), or If-Modified-Since lies.
        modified = max(changed, whole_second(cache.modified_at) + timedelta(seconds=1))
    cache.key, cache.etag, cache.modified_at, cache.body = key, etag, modified, body
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # another worker stored the same feed first
    return Feed(user.id, etag, modified, body)


def whole_second(moment: datetime) -> datetime:
    """Drop the microseconds: HTTP dates have whole seconds."""
    return moment.replace(microsecond=0)


def init_app(app: Flask) -> None:
    """Fingerprint the roadmap text the feeds show: a changed catalog rebuilds them."""
    catalog = repr(sorted(app.extensions["catalog"].roadmaps.items()))
    app.extensions["catalog_digest"] = hashlib.sha256(catalog.encode()).hexdigest()
