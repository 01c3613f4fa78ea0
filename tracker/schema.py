"""The schema's migrations (Alembic): ``flask --app app db upgrade`` and ``db revision``."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask

from .database import db
from .models import Model

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Return an Alembic config for our migrations, bound to a connection if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


@click.group("db")
def db_cli() -> None:
    """Manage the database schema (Alembic migrations)."""


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Create or upgrade the schema to the latest migration."""
    upgrade(db.engine, revision)
    click.echo(f"Database at {db.engine.url.render_as_string(hide_password=True)} is up to date.")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def revision_command(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    with db.engine.begin() as connection:
        config = alembic_config(connection)
        config.attributes["target_metadata"] = Model.metadata
        command.revision(config, message=message, autogenerate=True)


def init_app(app: Flask) -> None:
    """Add the ``db`` commands."""
    app.cli.add_command(db_cli)
