"""Your own roadmap: upload a file in the plans/ format, checked by the same checker as
`check-plans`, and follow it as a plan like any other, seen only by its owner.

Registered on the plans blueprint (tracker.plans.views).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..core.roadmaps import parse_roadmap_text
from ..database import db
from ..models import RoadmapUpload, utcnow
from ..web.filters import day_text
from ..web.forms import check_start
from . import changes
from .forms import MAX_UPLOAD, UploadForm
from .steps import uploaded_roadmap
from .views import bp, today

MAX_UPLOADS = 10  # per learner
MAX_MILESTONES = 200  # per roadmap


def _read(form: UploadForm) -> tuple[str, str]:
    """Return the roadmap's file name and text, or add why not to the form's fields."""
    upload = form.file.data
    if upload and upload.filename:
        raw = upload.stream.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            form.file.errors.append("The file is larger than 64 KB.")
            return upload.filename, ""
        try:
            return upload.filename, raw.decode("utf-8")
        except UnicodeDecodeError:
            form.file.errors.append("The file is not UTF-8 text: save it as UTF-8 and try again.")
            return upload.filename, ""
    if (form.source.data or "").strip():
        return "pasted roadmap", form.source.data
    form.file.errors.append("Choose a roadmap file, or paste its text below.")
    return "", ""


@bp.route("/plan/upload", methods=["GET", "POST"])
@login_required
def upload() -> ResponseReturnValue:
    """Upload a roadmap and start a plan on it."""
    form = UploadForm()
    if not form.is_submitted():
        form.start_date.data = today()
        form.study_days.data = [0, 1, 2, 3, 4]
        return render_template("plans/upload.html", form=form, problems=[])
    valid = form.validate()
    try:
        check_start(form.start_date.data, today())
    except ValueError as e:
        form.start_date.errors = [*form.start_date.errors, str(e)]
        valid = False
    name, text = _read(form)
    problems: list[str] = []
    if text:
        form.source.data = text  # kept in the form, to be fixed there
        roadmap, problems = parse_roadmap_text(text, name[:100])
        if roadmap is not None and len(roadmap.steps) > MAX_MILESTONES:
            problems.append(f"{name}: phases: {len(roadmap.steps)} milestones; the most a "
                            f"roadmap can have is {MAX_MILESTONES}")
    count = db.session.scalar(select(func.count()).select_from(RoadmapUpload)
                              .where(RoadmapUpload.user_id == current_user.id)) or 0
    if count >= MAX_UPLOADS:
        form.file.errors.append(f"You have uploaded {MAX_UPLOADS} roadmaps, the most we keep.")
    if not valid or problems or form.file.errors or not text:
        return render_template("plans/upload.html", form=form, problems=problems), 400
    now = utcnow()
    row = RoadmapUpload(user_id=current_user.id, filename=name[:200], source=text, created_at=now)
    db.session.add(row)
    db.session.flush()
    roadmap = uploaded_roadmap(row.id, text)
    assert roadmap is not None  # it parsed above
    changes.create_plan_from(current_user, [roadmap], outcome="upload", recommended="upload",
                             answers={}, start=form.start_date.data,
                             study_days=form.study_days.data, now=now)
    db.session.commit()
    flash(f"Your roadmap “{roadmap.title}” is now your plan: {len(roadmap.steps)} milestones "
          f"from {day_text(form.start_date.data)}.")
    return redirect(url_for("plans.dashboard"))
