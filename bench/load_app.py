"""The app as bench/load.py serves it: the real app, plus the bench's reference routes.

    gunicorn --chdir bench load_app:app      (configured by TRACKER_* variables)

The reference routes run in the same processes, behind the same hooks, so "dashboard /
bare" measures what the dashboard itself costs.
"""

from __future__ import annotations

from common import add_reference_routes

from tracker import create_app

app = create_app()
add_reference_routes(app)
