"""The baseline for bench/feed.py: a bare Flask route returning fixed bytes.

    BENCH_BODY=/path/to/feed.ics gunicorn --chdir bench bare_app:app
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

BODY = Path(os.environ["BENCH_BODY"]).read_bytes()

app = Flask(__name__)


@app.get("/bare.ics")
def bare() -> Response:
    """Return the feed's bytes with the feed's content type, and nothing else."""
    return Response(BODY, content_type="text/calendar; charset=utf-8")
