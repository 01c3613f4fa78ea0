"""The landing page."""

from __future__ import annotations

from flask import Flask, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user


def index() -> ResponseReturnValue:
    """Show the landing page, or the dashboard to a learner who is logged in."""
    if current_user.is_authenticated:
        return redirect(url_for("plans.dashboard"))
    return render_template("index.html")


def init_app(app: Flask) -> None:
    """Add the landing page at /."""
    app.add_url_rule("/", endpoint="index", view_func=index)
