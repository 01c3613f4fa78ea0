"""The reminder mail: the due-day reminder, the overdue nudge, the weekly progress email.

Each is composed when it is sent, from what is true then: a milestone ticked or moved
since the sweep queued the mail drops out, and mail about nothing left is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from ..accounts.tokens import ACTIONS, action_token, unsubscribe_url
from ..database import db
from ..mail.message import Email, compose
from ..models import Milestone, Notification, Plan, Review, User, utcnow
from ..plans.steps import Steps, milestone_step, steps_for
from ..web.urls import absolute_url


@lru_cache(maxsize=1024)  # the same few dates in thousands of emails
def day_label(day: date) -> str:
    """Say a date the way the mail does: Monday 4 January 2027."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def _plan_still_followed(n: Notification, user: User) -> Plan | None:
    """Return the plan a notification is about if it is still the learner's current one and
    not paused: mail about any other plan makes no sense any more."""
    plan = db.session.get(Plan, n.payload.get("plan_id"))
    if plan is None or plan.user_id != user.id or plan.archived_at or plan.paused_on:
        return None
    return plan


def _items(milestones: Iterable[tuple[Any, ...]], steps: Steps,
           actions: Mapping[int, dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """Return what a mail lists of milestones given as (id, step id, date[, "skipped"]),
    each with its action links if ``actions`` has them."""
    items = []
    for m_id, step_id, due, *flags in milestones:
        step = steps.step(step_id)
        items.append({"title": step.title if step else step_id, "topic": step.topic if step else "",
                      "url": absolute_url("plans.milestone", milestone_id=m_id),
                      "due": day_label(due), "skipped": "skipped" in flags,
                      "actions": (actions or {}).get(m_id, {})})
    return items


def _action_links(user: User, milestones: Iterable[Milestone]) -> dict[int, dict[str, str]]:
    """Return each open milestone's Mark done, Skip and Push links, by milestone id."""
    # Made now, as the mail is sent: they last ACTION_MAX_AGE from then, and die with any
    # change to the milestone.
    now = utcnow()
    return {m.id: {label: absolute_url("actions.confirm", token=action_token(user, m, action, now))
                   for action, label in ACTIONS.items()}
            for m in milestones if not m.is_finished}


def _reviews(n: Notification, user: User, day: date) -> list[dict[str, Any]]:
    """Return the reviews a due-day reminder lists that are still due (none answered since)."""
    ids = n.payload.get("reviews")
    if not ids or not user.reviews_enabled:
        return []
    rows = db.session.execute(
        select(Review, Milestone).join(Review.milestone)
        .where(Review.id.in_(ids), Review.user_id == user.id, Review.due_on <= day)
        .order_by(Review.due_on, Review.id)).all()
    return [{"title": step.title if (step := milestone_step(m)) else m.step_id,
             "url": absolute_url("plans.review", review_id=r.id),
             "due": day_label(r.due_on), "late": r.due_on < day} for r, m in rows]


def _reminder(
    n: Notification, user: User, *, stream: str, subject: str, template: str
) -> Email | None:
    plan = _plan_still_followed(n, user)
    if plan is None or not user.is_verified:
        return None
    day = date.fromisoformat(n.payload["date"])
    # Only milestones still open and still due that day: a tick or a re-plan since queueing wins.
    milestones = db.session.scalars(
        select(Milestone)
        .where(Milestone.id.in_(n.payload["milestones"]), Milestone.user_id == user.id,
               Milestone.plan_id == plan.id,
               Milestone.done_at.is_(None), Milestone.skipped_at.is_(None),
               Milestone.due_date == day)
        .order_by(Milestone.position)
    ).all()
    steps = steps_for(plan)  # a step gone from plans/ since the sweep is not reminded
    milestones = [m for m in milestones if steps.step(m.step_id) is not None]
    reviews = _reviews(n, user, day)
    if not milestones and not reviews:
        return None
    items = _items([(m.id, m.step_id, m.due_date) for m in milestones], steps,
                   _action_links(user, milestones))
    if items:
        what = items[0]["title"] if len(items) == 1 else f"{len(items)} milestones"
        if reviews:
            what += f" (and {len(reviews)} review{'s' if len(reviews) != 1 else ''})"
    else:  # only reviews: say so
        subject = "Review today: {what}"
        what = reviews[0]["title"] if len(reviews) == 1 else f"{len(reviews)} milestones"
    return compose(
        to=user.address,
        subject=subject.format(what=what, day=day_label(day)),
        template=template,
        context={"items": items, "reviews": reviews, "day": day_label(day)},
        unsubscribe_url=unsubscribe_url(user, stream),
        message_id=n.message_id,
    )


def compose_due(n: Notification, user: User) -> Email | None:
    """Build the due-day reminder: every open milestone due that day in one email."""
    if not user.due_reminders:
        return None
    return _reminder(n, user, stream="due", subject="Due today: {what}", template="due")


def compose_nudge(n: Notification, user: User) -> Email | None:
    """Build the overdue nudge for milestones still open some days after their due date."""
    if user.nudge_days <= 0:
        return None
    return _reminder(n, user, stream="nudge", subject="Still open: {what} (due {day})",
                     template="nudge")


def compose_weekly(n: Notification, user: User) -> Email | None:
    """Build the weekly progress email from the numbers the sweep worked out."""
    plan = _plan_still_followed(n, user)
    if not user.weekly_enabled or not user.is_verified or plan is None:
        return None
    p = n.payload
    steps = steps_for(plan)
    listed_open = [i for name in ("due_soon", "overdue") for i, *_ in p[name]["items"]]
    actions = _action_links(user, db.session.scalars(
        select(Milestone).where(Milestone.id.in_(listed_open), Milestone.user_id == user.id,
                                Milestone.plan_id == p["plan_id"])))
    sections = {
        name: {"count": p[name]["count"],
               "items": _items(((i, s, date.fromisoformat(d), *flags)
                                for i, s, d, *flags in p[name]["items"]), steps, actions)}
        for name in ("done_recently", "due_soon", "overdue")
    }
    return compose(
        to=user.address,
        subject=f"Week {p['week']} of {p['weeks']} · {p['done']}/{p['total']} done · {p['label']}",
        template="weekly",
        context={**p, **sections,
                 "projected_finish": day_label(date.fromisoformat(p["projected_finish"])),
                 "planned_finish": day_label(date.fromisoformat(p["planned_finish"])),
                 "late": p["projected_finish"] > p["planned_finish"]},
        unsubscribe_url=unsubscribe_url(user, "weekly"),
        message_id=n.message_id,
    )
