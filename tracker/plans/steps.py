"""Where a milestone's text comes from: the roadmaps of plans/, a roadmap the learner
uploaded, or the milestone itself (a learner's own).

A plan's milestones name their step by id: "go/<slug>" for plans/, "upload-<n>/<slug>" for
an uploaded roadmap, "own/<hex>" for a milestone of the learner's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property, lru_cache

from sqlalchemy import select

from ..catalog import get_catalog
from ..core.roadmaps import Catalog, Link, Roadmap, Step, parse_roadmap_text, renamed
from ..database import db
from ..models import Milestone, Plan, RoadmapUpload

OWN = "own/"
UPLOAD = "upload-"
OWN_TOPIC = "Your own"


def new_own_step_id() -> str:
    """Return the step id of a new milestone of the learner's own."""
    return f"{OWN}{uuid.uuid4().hex}"


def is_own(step_id: str) -> bool:
    """Say whether a step is a milestone of the learner's own."""
    return step_id.startswith(OWN)


def is_learners(step_id: str) -> bool:
    """Say whether a step's text lives in the database (own or uploaded): it never leaves."""
    return step_id.startswith((OWN, UPLOAD))


def upload_roadmap_id(upload_id: int) -> str:
    return f"{UPLOAD}{upload_id}"


def own_step(m: Milestone) -> Step:
    """Return a learner's own milestone as a step, its text from its row."""
    return Step(id=m.step_id, topic=OWN_TOPIC, title=m.title or "", learn=m.learn or "",
                done_when=tuple(m.done_when or ()),
                links=tuple(Link(title, url) for title, url in (m.links or ())))


@lru_cache(maxsize=256)  # an upload never changes: parse each once per process
def uploaded_roadmap(upload_id: int, source: str) -> Roadmap | None:
    """Return an uploaded roadmap under its own id (``upload-<n>``); None if it no longer parses."""
    roadmap, _ = parse_roadmap_text(source, f"upload {upload_id}")
    return renamed(roadmap, upload_roadmap_id(upload_id)) if roadmap else None


class Steps:
    """The steps and roadmaps one plan can name: the catalog's, its uploads', its own.

    The learner's own milestones are read on first asking: most plans have none, and their
    pages then never pay for the query.
    """

    def __init__(self, catalog: Catalog, uploads: Mapping[str, Roadmap], plan: Plan,
                 own: Iterable[Milestone] | None = None) -> None:
        self.catalog, self.uploads, self._plan = catalog, uploads, plan
        self._given = own  # the caller's loaded rows, if any: no query then

    @property
    def roadmaps(self) -> Mapping[str, Roadmap]:
        return {**self.catalog.roadmaps, **self.uploads} if self.uploads else self.catalog.roadmaps

    def plan_title(self, plan: Plan) -> str:
        """Name a plan as the learner knows it: its outcome's title, or its own roadmap's."""
        outcome = self.catalog.decision.outcomes.get(plan.outcome)
        roadmap = self.roadmaps.get(plan.roadmaps[0]) if plan.roadmaps else None
        return outcome.title if outcome else roadmap.title if roadmap else plan.outcome

    def step(self, step_id: str) -> Step | None:
        """Return a step by its id, or None if it left plans/."""
        if (step := self.catalog.step(step_id)) is not None:
            return step
        if step_id.startswith(OWN):
            return self._own.get(step_id)
        return self._uploaded_steps.get(step_id)

    @cached_property
    def _own(self) -> dict[str, Step]:
        rows = self._given if self._given is not None else db.session.scalars(
            select(Milestone).where(Milestone.user_id == self._plan.user_id,
                                    Milestone.plan_id == self._plan.id,
                                    Milestone.step_id.startswith(OWN)))
        return {m.step_id: own_step(m) for m in rows if is_own(m.step_id)}

    @cached_property
    def _uploaded_steps(self) -> dict[str, Step]:
        return {s.id: s for r in self.uploads.values() for s in r.steps}


def steps_for(plan: Plan, own: Iterable[Milestone] | None = None) -> Steps:
    """Return the steps a plan can name; ``own`` spares the query when its rows are loaded."""
    upload_ids = [int(r.removeprefix(UPLOAD)) for r in plan.roadmaps if r.startswith(UPLOAD)]
    uploads: dict[str, Roadmap] = {}
    if upload_ids:
        for row in db.session.scalars(select(RoadmapUpload).where(
                RoadmapUpload.id.in_(upload_ids), RoadmapUpload.user_id == plan.user_id)):
            if (roadmap := uploaded_roadmap(row.id, row.source)) is not None:
                uploads[roadmap.id] = roadmap
    return Steps(get_catalog(), uploads, plan, own)


def milestone_step(m: Milestone) -> Step | None:
    """Return one milestone's step, wherever its text lives; None if it left plans/."""
    if (step := get_catalog().step(m.step_id)) is not None or not is_learners(m.step_id):
        return step  # the common case reads no plan row
    return steps_for(m.plan, own=[m]).step(m.step_id)


def milestone_title(m: Milestone) -> str:
    """Return a milestone's title, wherever its text lives."""
    step = milestone_step(m)
    return step.title if step else m.step_id


def step_title(step_id: str, milestone: Callable[[], Milestone]) -> str:
    """Return the title of a milestone's step, reading its row (``milestone()``) only for an
    own or uploaded step: most titles come from the catalog at no cost."""
    if (step := get_catalog().step(step_id)) is not None:
        return step.title
    return milestone_title(milestone()) if is_learners(step_id) else step_id
