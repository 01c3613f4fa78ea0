"""Your data: everything of a learner as one JSON file, and that file imported into an
empty account on any instance.

The file follows ``export_schema.json`` (version 1), which is also its documentation. It
holds no database ids, calendar UIDs or secrets, and its uploads are numbered by the file
(upload-1, upload-2, ...), so export → import → export gives the same bytes. An import is
checked whole first (the schema, then what the schema cannot say) and changes nothing when
anything is wrong: each problem names its place in the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalog import get_catalog
from ..core import scheduling
from ..core.localtime import time_zones
from ..core.review import is_card
from ..core.roadmaps import parse_roadmap_text
from ..models import Milestone, Plan, Review, ReviewAnswer, RoadmapUpload, User
from ..plans.steps import UPLOAD
from ..web.forms import LOCALES

FORMAT, VERSION = "roadmap-tracker-export", 1
SETTINGS = ("timezone", "reminder_time", "due_reminders", "nudge_days", "weekly_enabled",
            "weekly_weekday", "weekly_time", "feed_alarm", "reviews_enabled", "feed_reviews",
            "theme", "locale", "holidays_off")
# Settings and plan fields added after version 1 came out: a file from before leaves them
# out, and the account keeps its own (or the plan the default pace).
LATER = {"locale", "holidays_off"}
MILESTONE_TEXT = ("skip_reason", "note", "evidence_url", "title", "learn", "done_when", "links")


@cache
def schema() -> dict[str, Any]:
    """Return the published JSON Schema of the file."""
    return json.loads(files(__package__).joinpath("export_schema.json").read_text("utf-8"))


def _instant(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _renamer(mapping: dict[str, str]) -> Any:
    """Return a function that renames the roadmap part of "upload-<n>/..." ids."""

    def rename(value: str) -> str:
        head, sep, tail = value.partition("/")
        return mapping.get(head, head) + sep + tail

    return rename


def export_data(session: Session, user: User) -> dict[str, Any]:
    """Return everything of the learner the file holds, as JSON-ready values."""
    uploads = session.scalars(select(RoadmapUpload).where(RoadmapUpload.user_id == user.id)
                              .order_by(RoadmapUpload.id)).all()
    ref = _renamer({f"{UPLOAD}{u.id}": f"{UPLOAD}{n}" for n, u in enumerate(uploads, 1)})
    reviews = {r.milestone_id: r for r in session.scalars(
        select(Review).where(Review.user_id == user.id))}
    answers: dict[int, list[dict[str, Any]]] = {}
    for a in session.scalars(select(ReviewAnswer).where(ReviewAnswer.user_id == user.id)
                             .order_by(ReviewAnswer.answered_at, ReviewAnswer.id)):
        answers.setdefault(a.milestone_id, []).append(
            {"rating": a.rating, "answered_at": _instant(a.answered_at)})

    def milestone(m: Milestone) -> dict[str, Any]:
        review = reviews.get(m.id)
        return {
            "step_id": ref(m.step_id), "phase_id": ref(m.phase_id),
            "due_date": m.due_date.isoformat(), "done_at": _instant(m.done_at),
            "skipped_at": _instant(m.skipped_at),
            **{name: getattr(m, name) for name in MILESTONE_TEXT},
            "checked": m.checked or [],
            "review": review and {"due_on": review.due_on.isoformat(), "card": review.card},
            "review_answers": answers.get(m.id, []),
        }

    settings = {name: getattr(user, name) for name in SETTINGS}
    settings["reminder_time"] = f"{user.reminder_time:%H:%M}"
    settings["weekly_time"] = f"{user.weekly_time:%H:%M}"
    return {
        "format": FORMAT,
        "version": VERSION,
        "settings": settings,
        "uploads": [{"ref": f"{UPLOAD}{n}", "filename": u.filename, "source": u.source,
                     "created_at": _instant(u.created_at)} for n, u in enumerate(uploads, 1)],
        "plans": [{
            "outcome": p.outcome, "recommended": p.recommended,
            "roadmaps": [ref(r) for r in p.roadmaps], "answers": p.answers,
            "start_date": p.start_date.isoformat(), "study_days": list(p.weekdays),
            "weekly_hours": p.weekly_hours,
            "paused_on": p.paused_on and p.paused_on.isoformat(), "pauses": p.pauses,
            "archived_at": _instant(p.archived_at), "created_at": _instant(p.created_at),
            "milestones": [milestone(m) for m in p.milestones],
        } for p in user.plans],
    }


def export_bytes(session: Session, user: User) -> bytes:
    """Return the file: the same data always gives the same bytes."""
    return json.dumps(export_data(session, user), ensure_ascii=False, indent=1,
                      sort_keys=True).encode("utf-8") + b"\n"


class ImportProblems(ValueError):
    """The file cannot be imported; ``problems`` say where and why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _where(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "the file"


def _problems(data: Any) -> Iterator[str]:
    """Say everything wrong with the file: first against the schema, then the meaning."""
    errors = sorted(Draft202012Validator(schema()).iter_errors(data),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        for e in errors[:50]:
            yield f"{_where(e.absolute_path)}: {e.message[:200]}"
        return
    if data["settings"]["timezone"] not in time_zones():
        yield "settings.timezone: not a time zone we know, like Europe/Berlin"
    if data["settings"].get("locale", "en_001") not in dict(LOCALES):
        yield "settings.locale: not one of the countries this tracker offers, like en_GB"
    for name in ("reminder_time", "weekly_time"):
        if _parse(time.fromisoformat, data["settings"][name]) is None:
            yield f"settings.{name}: not a time of day like 08:00"
    refs = [u["ref"] for u in data["uploads"]]
    catalog = get_catalog()
    if len(set(refs)) != len(refs):
        yield "uploads: two uploads have the same ref"
    for i, u in enumerate(data["uploads"]):
        if parse_roadmap_text(u["source"], u["filename"][:100])[0] is None:
            yield f"uploads[{i}].source: the roadmap does not parse"
        yield from _dates(f"uploads[{i}]", u, ("created_at",), ())
    if sum(1 for p in data["plans"] if p["archived_at"] is None) > 1:
        yield "plans: more than one plan is current (archived_at null)"
    for i, p in enumerate(data["plans"]):
        where = f"plans[{i}]"
        yield from _dates(where, p, ("archived_at", "created_at"), ("start_date", "paused_on"))
        for r in p["roadmaps"]:
            if r.startswith(UPLOAD) and r not in refs:
                yield f"{where}.roadmaps: {r} is not one of the uploads"
            elif not r.startswith(UPLOAD) and r not in catalog.roadmaps:
                yield f"{where}.roadmaps: {r} is not a roadmap of this tracker"
        followed = {*p["roadmaps"], "own"}
        for j, (start, end) in enumerate(p["pauses"]):
            if _parse(date.fromisoformat, start) is None or _parse(date.fromisoformat, end) is None:
                yield f"{where}.pauses[{j}]: not two dates like 2027-01-04"
        steps = [m["step_id"] for m in p["milestones"]]
        if len(set(steps)) != len(steps):
            yield f"{where}.milestones: a step appears twice"
        for j, m in enumerate(p["milestones"]):
            yield from _milestone(f"{where}.milestones[{j}]", m, refs)
            if m["phase_id"].partition("/")[0] not in followed:
                yield (f"{where}.milestones[{j}].phase_id: names a roadmap the plan does not "
                       "follow")


def _milestone(where: str, m: dict[str, Any], refs: list[str]) -> Iterator[str]:
    yield from _dates(where, m, ("done_at", "skipped_at"), ("due_date",))
    if m["done_at"] and m["skipped_at"]:
        yield f"{where}: done and skipped at once"
    head = m["step_id"].partition("/")[0]
    if head.startswith(UPLOAD) and head not in refs:
        yield f"{where}.step_id: {head} is not one of the uploads"
    if (m["title"] is None) == m["step_id"].startswith("own/"):
        yield f"{where}.title: a milestone of your own has a title, and only such a one"
    if m["review"] is not None:
        if not m["done_at"]:
            yield f"{where}.review: only a milestone done is reviewed"
        if _parse(date.fromisoformat, m["review"]["due_on"]) is None:
            yield f"{where}.review.due_on: not a date like 2027-01-04"
        if not is_card(m["review"]["card"]):
            yield f"{where}.review.card: not an FSRS card as this tracker writes them"
    for k, a in enumerate(m["review_answers"]):
        yield from _dates(f"{where}.review_answers[{k}]", a, ("answered_at",), ())


def _dates(where: str, item: dict[str, Any], instants: tuple[str, ...],
           dates: tuple[str, ...]) -> Iterator[str]:
    for name in instants:
        if item[name] is not None and _parse(datetime.fromisoformat, item[name]) is None:
            yield f"{where}.{name}: not an instant like 2027-01-04T08:00:00+00:00"
    for name in dates:
        if item[name] is not None and _parse(date.fromisoformat, item[name]) is None:
            yield f"{where}.{name}: not a date like 2027-01-04"


def _parse(parser: Any, text: str) -> Any:
    try:
        return parser(text)
    except ValueError:
        return None


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def import_data(session: Session, user: User, data: Any, now: datetime) -> int:
    """Add the file's settings, uploads, plans, milestones and reviews to an account with
    no plan yet; return how many milestones came in. The caller commits."""
    if session.scalar(select(Plan.id).where(Plan.user_id == user.id).limit(1)) is not None:
        raise ImportProblems(["Your account already has a plan: import goes into an account "
                            "with none (a new account, or after deleting this one)."])
    problems = list(_problems(data))
    if problems:
        raise ImportProblems(problems)
    for name in SETTINGS:
        if name in LATER and name not in data["settings"]:
            continue
        value = data["settings"][name]
        setattr(user, name, time.fromisoformat(value) if name.endswith("_time") else value)
    mapping = {}
    for u in data["uploads"]:
        row = RoadmapUpload(user_id=user.id, filename=u["filename"], source=u["source"],
                            created_at=_at(u["created_at"]))
        session.add(row)
        session.flush()
        mapping[u["ref"]] = f"{UPLOAD}{row.id}"
    ref = _renamer(mapping)
    count = 0
    for p in data["plans"]:
        plan = Plan(outcome=p["outcome"], recommended=p["recommended"],
                    roadmaps=[ref(r) for r in p["roadmaps"]], answers=p["answers"],
                    start_date=date.fromisoformat(p["start_date"]),
                    study_days="".join(str(d) for d in sorted(p["study_days"])),
                    weekly_hours=p.get("weekly_hours", scheduling.PACED_FOR_HOURS),
                    paused_on=p["paused_on"] and date.fromisoformat(p["paused_on"]),
                    pauses=p["pauses"], archived_at=_at(p["archived_at"]),
                    created_at=_at(p["created_at"]), updated_at=now)
        for position, m in enumerate(p["milestones"]):
            milestone = Milestone(
                step_id=ref(m["step_id"]), phase_id=ref(m["phase_id"]), position=position,
                due_date=date.fromisoformat(m["due_date"]), done_at=_at(m["done_at"]),
                skipped_at=_at(m["skipped_at"]), updated_at=now,
                checked=m.get("checked") or None,  # files from before checklists have none
                **{name: m[name] for name in MILESTONE_TEXT})
            plan.milestones.append(milestone)
            count += 1
        user.plans.append(plan)
        session.flush()
        for milestone, m in zip(plan.milestones, p["milestones"], strict=True):
            if m["review"]:
                session.add(Review(user_id=user.id, milestone_id=milestone.id,
                                   due_on=date.fromisoformat(m["review"]["due_on"]),
                                   card=m["review"]["card"], updated_at=now))
            for a in m["review_answers"]:
                session.add(ReviewAnswer(user_id=user.id, milestone_id=milestone.id,
                                         rating=a["rating"], answered_at=_at(a["answered_at"])))
    user.calendar_changed_at = user.next_mail_at = now
    return count
