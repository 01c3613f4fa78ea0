"""gunicorn settings read from the project folder: say how many processes serve the app.

The app's rate limits count in ``TRACKER_RATELIMIT_STORAGE_URI``; with the default
``memory://`` each process counts alone, so N workers let N times the limit through.
"""

import os


def on_starting(server):  # type: ignore[no-untyped-def]
    """Tell the workers (through their environment) how many of them there are; warn when
    their limits would not be shared."""
    os.environ["TRACKER_WEB_PROCESSES"] = str(server.cfg.workers)
    storage = os.environ.get("TRACKER_RATELIMIT_STORAGE_URI", "memory://")
    if server.cfg.workers > 1 and storage.startswith("memory://"):
        server.log.warning(
            "%d workers share no rate-limit counts (TRACKER_RATELIMIT_STORAGE_URI=%s): each "
            "lets the whole limit through. Set it to redis://… (README, Production).",
            server.cfg.workers, storage)
