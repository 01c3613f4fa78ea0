"""The roadmaps and decision flow the app serves, loaded once at start-up; ``check-plans``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from .core.checks import PlanError
from .core.roadmaps import PLANS_DIR, Catalog, check_files, load_catalog


def init_app(app: Flask) -> None:
    """Load and validate ``plans/``; a bad plan file stops the app from starting."""
    app.extensions["catalog"] = load_catalog(Path(app.config.get("PLANS_DIR", PLANS_DIR)))


def get_catalog() -> Catalog:
    """Return the current app's catalog."""
    catalog: Catalog = current_app.extensions["catalog"]
    return catalog


@click.command("check-plans")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def check_plans_command(files: tuple[Path, ...]) -> None:
    """Validate plan files (default: every file in plans/) and list each problem."""
    paths = list(files) or sorted(PLANS_DIR.glob("*.toml"))
    problems = check_files(paths)
    if not files and not problems:
        try:  # cross-file checks: outcomes must name roadmaps that exist
            load_catalog(PLANS_DIR)
        except PlanError as e:
            problems = str(e).splitlines()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{len(paths)} plan file(s) OK.")
