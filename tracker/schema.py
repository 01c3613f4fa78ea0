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
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one, and with foreign
            # keys on, dropping "user" would cascade to every plan. They can only be turned
            # off outside a transaction: on the driver's connection, before SQLAlchemy
            # begins one.
            _driver_execute(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                command.upgrade(alembic_config(connection), revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                _driver_execute(connection, "PRAGMA foreign_keys=ON")


def _driver_execute(connection: sa.Connection, sql: str) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(sql)


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
