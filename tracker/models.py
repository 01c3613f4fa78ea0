"""Learner state: users, their plans, milestone progress, the mail outbox.

Roadmap text lives in ``plans/``; rows hold only state keyed by stable milestone ids.
Every timestamp is stored in UTC and comes back timezone-aware.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .core.localtime import zone
from .core.scheduling import weekdays_of


def utcnow() -> datetime:
    """Return the current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


class Model(DeclarativeBase):
    """Base class of every table."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored as UTC and read back aware, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A new learner's next_mail_at: the next sweep looks. NEVER: nothing to send until something
# changes (paused, unconfirmed, every mail off, no plan).
SWEEP_NOW = datetime(1970, 1, 1, tzinfo=UTC)
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


def new_secret() -> str:
    """Return a random secret for a new row: 128 bits, URL-safe."""
    return secrets.token_urlsafe(16)


class User(UserMixin, Model):
    __tablename__ = "user"
    __table_args__ = (
        # The sweep walks who is due in this index's order, whatever the planner's figures
        # (tracker.reminders.sweep).
        sa.Index("ix_user_next_mail_at", "next_mail_at", "id"),
        # Ids are never reused (SQLite reuses the largest freed id without it): a deleted
        # account's id must not name the next one.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None on an account made by signing up with an address another account has: the
    # visitor goes on as a new learner all the same (no page tells whether an address has
    # an account), on an account that can never take the address; signup_email keeps what
    # was typed, to show them. Changing the address (settings) can give it a free one.
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    signup_email: Mapped[str | None] = mapped_column(sa.String(254))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")

    # Mail settings: local times in ``timezone``.
    reminder_time: Mapped[time] = mapped_column(sa.Time, default=time(8, 0))
    due_reminders: Mapped[bool] = mapped_column(default=True)
    nudge_days: Mapped[int] = mapped_column(default=2)  # 0 turns the overdue nudge off
    weekly_enabled: Mapped[bool] = mapped_column(default=True)
    weekly_weekday: Mapped[int] = mapped_column(default=0)  # Monday
    weekly_time: Mapped[time] = mapped_column(sa.Time, default=time(8, 0))
    # When the reminder sweep next has something to look at for this learner (a due-day
    # reminder, a nudge or the weekly mail), so a minute with nothing due reads no learner.
    # Anything that may move it sets it to the time of the change, which the next sweep
    # passes, and recomputes it there (tracker.reminders.sweep).
    next_mail_at: Mapped[datetime] = mapped_column(UTCDateTime, default=lambda: SWEEP_NOW)

    # Calendar feed: only a hash of the secret token is kept.
    feed_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # The token is derived from SECRET_KEY and this random salt (see tracker.calendar), so the
    # settings page can show the URL again; a new salt is a new URL.
    feed_token_salt: Mapped[str | None] = mapped_column(sa.String(32))
    feed_alarm: Mapped[bool] = mapped_column(default=False)
    # Spaced review of finished milestones: off hides every review (they keep their state);
    # the feed shows them as events unless feed_reviews is off.
    reviews_enabled: Mapped[bool] = mapped_column(default=True)
    feed_reviews: Mapped[bool] = mapped_column(default=True)
    # The pages' colour scheme: "auto" follows the device; "light" or "dark" overrides it.
    theme: Mapped[str] = mapped_column(sa.String(5), default="auto")
    # How dates read on the pages ("en_GB": Sun, 6 Dec 2026), and the country whose public
    # holidays stay free of milestones unless holidays_off is off (tracker.core.days_off).
    locale: Mapped[str] = mapped_column(sa.String(16), default="en_001")
    holidays_off: Mapped[bool] = mapped_column(default=True)
    # Bumped on every change the feed shows, deletions included, so Last-Modified
    # never moves backwards.
    calendar_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Every token in an emailed link carries a mark of this secret (tracker.accounts.tokens):
    # deleting the account destroys it, and with it every link ever sent to the account.
    link_secret: Mapped[str] = mapped_column(sa.String(32), default=new_secret)

    plans: Mapped[list[Plan]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Plan.id"
    )

    @property
    def password_mark(self) -> str:
        """Return a keyed digest of the password hash: a new password makes a new mark."""
        key = current_app.config["SECRET_KEY"].encode()
        return hmac.new(key, self.password_hash.encode(), hashlib.sha256).hexdigest()[:16]

    # The token of the signed-in session this object was loaded for, not a column: what
    # Flask-Login keeps in the session cookie (set by tracker.accounts.sessions).
    session_token = ""

    def get_id(self) -> str:
        """Return what the session cookie keeps: the token of a LoginSession row."""
        return self.session_token

    @property
    def zone(self) -> ZoneInfo:
        """Return the learner's time zone (UTC if the stored name is not a zone)."""
        return zone(self.timezone)

    @property
    def address(self) -> str:
        """Return the address to show the learner: theirs, or the one typed at sign-up."""
        return self.email or self.signup_email or ""

    @property
    def is_verified(self) -> bool:
        """Say whether the email address was confirmed."""
        return self.email_verified_at is not None


class LoginSession(Model):
    """A browser signed in to an account: the cookie holds a random token, the row its hash.

    Logging out deletes the row, so a copied cookie dies with it; the settings page lists
    them, and a new password ends all but the browser that set it.
    """

    __tablename__ = "login_session"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    address: Mapped[str] = mapped_column(sa.String(64), default="")


class Plan(Model):
    """One learner's enrolment in an outcome (Go, Rust or Go-then-Rust), with its dates."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(sa.String(20))  # chosen: go, rust or go-rust
    recommended: Mapped[str] = mapped_column(sa.String(20))  # what the flow said
    roadmaps: Mapped[list[str]] = mapped_column(sa.JSON)  # roadmap ids, back to back
    answers: Mapped[dict[str, list[str]]] = mapped_column(sa.JSON, default=dict)
    start_date: Mapped[date]
    study_days: Mapped[str] = mapped_column(sa.String(7))  # weekday digits, "01234" = Mon-Fri
    # Hours a week the learner has: the roadmaps are paced for 10, so 5 takes twice as long.
    weekly_hours: Mapped[int] = mapped_column(default=10)
    paused_on: Mapped[date | None]
    # Breaks taken and ended, as [first day, day back] ISO dates: a pause keeps a streak.
    pauses: Mapped[list[list[str]]] = mapped_column(sa.JSON, default=list)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="plans")
    # Joined on the learner too, so the ORM fills milestone.user_id from the plan and every
    # load of a plan's milestones uses the learner-led indexes.
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="Milestone.position",
        primaryjoin="and_(Plan.id == foreign(Milestone.plan_id),"
                    " Plan.user_id == foreign(Milestone.user_id))",
    )

    @property
    def weekdays(self) -> tuple[int, ...]:
        """Return the study days as weekday numbers (Monday 0)."""
        return weekdays_of(self.study_days)


class Milestone(Model):
    """A learner's state for one roadmap milestone: its due date and whether it is done."""

    __tablename__ = "milestone"
    # Every key leads with the learner, as on every table a learner owns: each read names
    # the learner, and the rows are ready to be split by learner (docs/scaling.md, step 3).
    __table_args__ = (
        sa.UniqueConstraint("user_id", "plan_id", "step_id"),
        # A plan's milestones in order (the dashboard, the feed, the weekly numbers for a
        # batch of plans) come straight off this index, with no sort.
        sa.Index("ix_milestone_user_plan_position", "user_id", "plan_id", "position"),
        # The reminder sweep looks up a batch of plans' milestones due on a few dates.
        # With the two above, no column needs an index of its own (each would be written
        # on every insert).
        sa.Index("ix_milestone_user_plan_due", "user_id", "plan_id", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The plan's learner, copied from the plan by the ORM (see Plan.milestones).
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(sa.String(120))  # "go/core-syntax-basics"
    phase_id: Mapped[str] = mapped_column(sa.String(120))  # "go/month-1"
    position: Mapped[int]
    due_date: Mapped[date]
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "I already know this": counts as finished, shown apart from done. Never both.
    skipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    skip_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    evidence_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # The "done when" items the learner ticked, by their place in the list (0-based).
    checked: Mapped[list[int] | None] = mapped_column(sa.JSON)
    # Calendar identity: an opaque UID that never changes, and a SEQUENCE bumped
    # whenever the due date moves.
    uid: Mapped[str] = mapped_column(sa.String(64), unique=True, default=lambda: str(uuid.uuid4()))
    sequence: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # A learner's own milestone carries its text here (its step id is "own/..."); the
    # others take theirs from the roadmap.
    title: Mapped[str | None] = mapped_column(sa.String(200))
    learn: Mapped[str | None] = mapped_column(sa.Text)
    done_when: Mapped[list[str] | None] = mapped_column(sa.JSON)
    links: Mapped[list[list[str]] | None] = mapped_column(sa.JSON)  # [title, url] pairs

    plan: Mapped[Plan] = relationship(back_populates="milestones")

    @property
    def is_done(self) -> bool:
        """Say whether the milestone is ticked off."""
        return self.done_at is not None

    @property
    def is_finished(self) -> bool:
        """Say whether the milestone needs no more work: done or skipped."""
        return self.done_at is not None or self.skipped_at is not None


class Review(Model):
    """The spaced review of a finished milestone: its FSRS card and the day it is next due."""

    __tablename__ = "review"
    # The dashboard, the mail and the feed look up a learner's reviews by day.
    __table_args__ = (sa.Index("ix_review_user_due", "user_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    milestone_id: Mapped[int] = mapped_column(
        sa.ForeignKey("milestone.id", ondelete="CASCADE"), unique=True)
    due_on: Mapped[date]  # in the learner's zone
    card: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # tracker.core.review
    uid: Mapped[str] = mapped_column(sa.String(64), unique=True, default=lambda: str(uuid.uuid4()))
    sequence: Mapped[int] = mapped_column(default=0)  # bumped with each answer: a new date
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Joined on the learner too: a learner's rows meet on one shard (docs/scaling.md).
    milestone: Mapped[Milestone] = relationship(
        primaryjoin="and_(foreign(Review.milestone_id) == Milestone.id,"
                    " foreign(Review.user_id) == Milestone.user_id)")


class ReviewAnswer(Model):
    """One answer to a review, kept for the learner's history after the review is gone."""

    __tablename__ = "review_answer"
    __table_args__ = (sa.Index("ix_review_answer_user_at", "user_id", "answered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    milestone_id: Mapped[int] = mapped_column(
        sa.ForeignKey("milestone.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int]  # tracker.core.review.Answer
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoadmapUpload(Model):
    """A roadmap file a learner uploaded: its TOML source, parsed again when it is used."""

    __tablename__ = "roadmap_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    source: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Model):
    """An outbox row: one email to send once, found again by its dedupe key."""

    __tablename__ = "notification"
    # The claim walks it in order and stops after a batch (id breaks ties between rows
    # due at the same instant, such as a whole weekly run).
    __table_args__ = (sa.Index("ix_notification_pending", "status", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for mail addressed to an email address whose account (if any) the worker finds:
    # a reset request, so the page does the same work whether or not the account exists.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # due, nudge, weekly, verify, reset
    # e.g. "due:42:2027-01-04", "weekly:42:2027-W01": inserting twice is a no-op.
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")  # sent, failed, skipped
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_id: Mapped[str] = mapped_column(sa.String(200), default="")
    # A claim: status "sending" until this instant; a worker killed mid-batch loses no
    # row, another one takes it over once the claim runs out.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Past this instant the mail is no use any more (a stale due-day reminder): skipped.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedCache(Model):
    """A learner's serialized calendar feed, kept until something it shows changes."""

    __tablename__ = "feed_cache"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(64))  # a digest of what the body was built from
    etag: Mapped[str] = mapped_column(sa.String(64))
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime)  # Last-Modified; never goes back
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)


class Heartbeat(Model):
    """When a background process last showed it is alive, for /healthz."""

    __tablename__ = "heartbeat"

    name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(sa.String(500), default="")  # e.g. the last mail error
