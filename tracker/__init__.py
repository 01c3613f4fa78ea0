"""Roadmap Tracker: decide between Go and Rust, follow a dated plan, get reminders."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the app."""
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
    )
    app.config.from_mapping(
        DATABASE_URL="sqlite:///tracker.sqlite",  # relative: inside instance/
        BASE_URL="http://127.0.0.1:5000",
        MAIL_URL=None,  # None: one .eml file per message under instance/mail
        MAIL_FROM="Roadmap Tracker <tracker@localhost>",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # The largest thing a page takes is a data file to import (4 MB): anything bigger
        # is refused (413) before it is read.
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        PROXIES=0,  # reverse proxies in front (nginx: 1), trusted for X-Forwarded-For/-Proto
        WEB_PROCESSES=1,  # set by gunicorn.conf.py to its worker count
    )
    if test_config is None:
        app.config.from_prefixed_env("TRACKER")
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):  # Flask's default is None, not missing
        app.config["SECRET_KEY"] = _instance_secret(app)

    from . import accounts, calendar, catalog, decide, plans, reminders, schema, settings, web
    from .extensions import csrf, db, limiter, login_manager

    catalog.init_app(app)
    db.init_app(app)
    schema.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    web.init_app(app)
    accounts.init_app(app)
    decide.init_app(app)
    plans.init_app(app)
    calendar.init_app(app)
    settings.init_app(app)
    reminders.init_app(app)
    if not limits_are_shared(app):
        app.logger.warning("%s web processes count rate limits alone (memory://): set "
                           "TRACKER_RATELIMIT_STORAGE_URI to redis://…",
                           app.config["WEB_PROCESSES"])
    if app.config["PROXIES"]:
        # Behind nginx every request comes from 127.0.0.1: the rate limits would be global.
        n = int(app.config["PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    return app


def limits_are_shared(app: Flask) -> bool:
    """Say whether every process serving the app counts rate limits in one place."""
    in_memory = str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://")
    return not in_memory or int(app.config["WEB_PROCESSES"]) <= 1


def _instance_secret(app: Flask) -> str:
    # Without TRACKER_SECRET_KEY, keep a random key in instance/ so sessions survive
    # restarts of `make run`; production sets the variable.
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
