"""One learner as the reminder sweep sees them: settings, plan, and when their mail is due.

Pure over its fields: ``now`` and the due dates are parameters (the sweep reads them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..core.localtime import iso_week, local_instant
from ..models import NEVER


@dataclass
class Learner:
    """One learner's settings and current plan, as the sweep reads them (no ORM objects)."""

    user_id: int
    zone: ZoneInfo
    reminder_time: time
    due_reminders: bool
    nudge_days: int
    weekly_enabled: bool
    weekly_weekday: int
    weekly_time: time
    plan_id: int
    start_date: date
    study_days: str
    plan_created_at: datetime
    next_mail_at: datetime  # as read: the sweep writes its new value only over this one
    reviews: bool  # reviews due that day come in the due-day reminder
    pauses: list[list[str]]  # the plan's past breaks, for the streak in the weekly mail
    today: date = field(init=False)

    # Due-day and nudge mail to consider: (kind, key, instant, the due date it is about).
    reminders: list[tuple[str, str, datetime, date]] = field(default_factory=list)
    weekly: tuple[str, datetime, date] | None = None  # key, instant, local date

    def plan_reminders(self, now: datetime) -> None:
        """Work out which mail has its local time at or before ``now``."""
        self.today = now.astimezone(self.zone).date()
        # Yesterday too: a reminder set for 23:30 may still be within grace after midnight.
        for day in (self.today - timedelta(days=1), self.today):
            instant = local_instant(day, self.reminder_time, self.zone)
            if instant > now or instant < self.plan_created_at:
                continue
            if self.due_reminders:
                self.reminders.append(("due", f"due:{self.user_id}:{day}", instant, day))
            if self.nudge_days > 0:
                due = day - timedelta(days=self.nudge_days)
                self.reminders.append(("nudge", f"nudge:{self.user_id}:{due}", instant, due))
        if self.weekly_enabled:
            # Only the latest weekly time: after downtime, missed weeks are not sent.
            day = self.today - timedelta(days=(self.today.weekday() - self.weekly_weekday) % 7)
            instant = local_instant(day, self.weekly_time, self.zone)
            if instant > now:
                day -= timedelta(days=7)
                instant = local_instant(day, self.weekly_time, self.zone)
            if instant >= self.plan_created_at and day >= self.start_date:
                self.weekly = (f"weekly:{self.user_id}:{iso_week(day)}", instant, day)


    def next_instant(self, now: datetime, open_dues: Iterable[date],
                     read_until: date | None = None,
                     review_dues: Iterable[date] = ()) -> datetime:
        """Return the first instant after ``now`` at which this learner may have mail due:
        a due-day reminder for an open milestone or a review, a nudge for an open milestone,
        or the weekly mail.

        Never later than the mail itself (the sweep would miss it), at times earlier (a
        milestone whose step left plans/ still counts): then the sweep looks and finds none.
        ``read_until``: the open due dates were read only up to that day; with nothing due
        by then, the sweep looks again the day after.
        """
        candidates = []
        days = sorted(set(open_dues))
        due_days = sorted({*days, *review_dues}) if self.reviews else days
        for on, offset, dues in ((self.due_reminders, 0, due_days),
                                 (self.nudge_days > 0, self.nudge_days, days)):
            if on:
                instants = (local_instant(d + timedelta(days=offset), self.reminder_time,
                                          self.zone) for d in dues)
                unread = (NEVER if read_until is None else
                          local_instant(read_until + timedelta(days=1), self.reminder_time,
                                        self.zone))
                candidates.append(next((i for i in instants if i > now), unread))
        if self.weekly_enabled:
            day = max(self.today, self.start_date)
            day += timedelta(days=(self.weekly_weekday - day.weekday()) % 7)
            instant = local_instant(day, self.weekly_time, self.zone)
            if instant <= now:
                instant = local_instant(day + timedelta(days=7), self.weekly_time, self.zone)
            candidates.append(instant)
        return min(candidates, default=NEVER)
