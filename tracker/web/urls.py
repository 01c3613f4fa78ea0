"""Links: absolute ones for mail and the feed, and which ``next`` targets are this site's."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def path_for(endpoint: str, **values: Any) -> str:
    """Return the path of an endpoint, inside a request or not (the worker has none)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def absolute_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of an endpoint under ``BASE_URL``, inside a request or not.

    Mail is composed by the worker, outside any request, and the feed is read by calendar
    apps: both link to the address the app is published at, never to the request's host.
    """
    return current_app.config["BASE_URL"].rstrip("/") + path_for(endpoint, **values)


def is_local_path(target: str | None) -> bool:
    """Say whether a browser sent to ``target`` stays on this site, at a path of it.

    Browsers drop tabs and newlines anywhere in a URL and read a backslash as a slash, so
    ``/\\t/evil.example`` is ``//evil.example``, another host: only printable ASCII that
    starts with one slash and has no backslash is a path here.
    """
    return bool(
        target
        and target.isascii()
        and target.isprintable()
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    )


def next_or_dashboard(target: str | None) -> str:
    """Return ``target`` if it is a path of this site, else the dashboard: no open redirect."""
    return target if target and is_local_path(target) else url_for("plans.dashboard")
