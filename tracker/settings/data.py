"""Your data on the settings page: download everything as one JSON file, import one.

Registered on the settings blueprint (tracker.settings.views); the file's format lives in
tracker.settings.export.
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..database import db
from ..models import utcnow
from . import export
from .forms import ImportForm
from .views import bp, render_settings

MAX_IMPORT = 4 * 1024 * 1024  # bytes: a year of plans with notes is well under 1 MB


@bp.get("/settings/export")
@login_required
def download_data() -> ResponseReturnValue:
    """Send everything of the learner as one JSON file (a GET: it changes nothing)."""
    body = export.export_bytes(db.session, current_user)
    name = f"roadmap-tracker-{utcnow().astimezone(current_user.zone):%Y-%m-%d}.json"
    return body, {"Content-Type": "application/json; charset=utf-8",
                  "Content-Disposition": f'attachment; filename="{name}"',
                  "Cache-Control": "private, no-store"}


def _read_file(upload: Any) -> Any:
    """Return an uploaded file's JSON; ValueError says why not."""
    if not upload or not upload.filename:
        raise ValueError("Choose the file you downloaded with “Download my data”.")
    with upload.stream:  # a large upload is spooled to a temporary file: close it now
        raw = upload.stream.read(MAX_IMPORT + 1)
    if len(raw) > MAX_IMPORT:
        raise ValueError("The file is larger than 4 MB.")
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # not UTF-8, not JSON, or nested too deep
        raise ValueError(f"The file is not JSON text ({str(e)[:100]}).") from None


@bp.post("/settings/import")
@login_required
def import_data() -> ResponseReturnValue:
    """Bring an export file into this account, if it has no plan yet; else change nothing."""
    form = ImportForm(prefix="import")
    problems: list[str] = []
    if form.validate():
        try:
            count = export.import_data(db.session, current_user, _read_file(form.file.data),
                                       utcnow())
        except export.ImportProblems as e:
            db.session.rollback()
            problems = e.problems
            form.file.errors.append("Nothing was imported: fix what is listed and try again.")
        except ValueError as e:
            form.file.errors.append(str(e))
        else:
            db.session.commit()
            flash(f"Imported: your plans and {count} milestones are here, with your settings "
                  "and reviews.")
            return redirect(url_for("plans.dashboard"))
    return render_settings("data", 400, importing=form, problems=problems)
