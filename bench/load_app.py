"""The app as bench/load.py serves it: the real app, plus a bare route as the ceiling.

    gunicorn --chdir bench load_app:app      (configured by TRACKER_* variables)

The bare route runs in the same processes, behind the same hooks, so "dashboard / bare"
measures what the dashboard itself costs.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker import create_app  # noqa: E402

app = create_app()


@app.get("/bench/bare")
def bare() -> str:
    """Answer at once: the most a Flask route can do on this server."""
    return "ok"
