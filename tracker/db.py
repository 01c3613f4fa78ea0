"""The database: one engine per app, a session per request, Alembic migrations."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask, current_app, g, has_app_context
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

db = SQLAlchemy()
F = TypeVar("F", bound=Callable[..., Any])


class Model(DeclarativeBase):
    """Base class of every table."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; the busy timeout makes a writer wait
    # for the lock instead of failing with "database is locked"; SQLite leaves foreign
    # keys off unless asked. Autocommit mode hands transaction control to _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is
    # locked" when another writer committed in between (the busy timeout cannot help);
    # taking the write lock up front makes it wait its turn instead. A read_only
    # connection runs one SELECT at a time, each atomic on its own, beside the writer (WAL).
    if connection.get_execution_options().get("read_only"):
        return
    # A view marked @reads_only takes a snapshot beside the writer instead of the write
    # lock, so pages render in parallel and ticks do not queue behind them.
    reads_only = has_app_context() and g.get("reads_only", False)
    connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


def reads_only(view: F) -> F:
    """Mark a view that never writes: on SQLite it reads without taking the write lock.

    Put it above ``login_required``, which loads the user. A write in such a view may
    fail with "database is locked" when another writer commits first: do not add one.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.reads_only = True
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def read(engine: sa.Engine, statement: sa.Executable, **params: Any) -> sa.Row[Any] | None:
    """Run one read-only statement on its own connection and return its first row."""
    with engine.connect().execution_options(read_only=True) as connection:
        return connection.execute(statement, params).first()


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
    from . import models  # noqa: F401  (registers the tables on the metadata)

    with db.engine.begin() as connection:
        config = alembic_config(connection)
        config.attributes["target_metadata"] = Model.metadata
        command.revision(config, message=message, autogenerate=True)


def init_app(app: Flask) -> None:
    """Create the engine from config and add the ``db`` commands."""
    db.init_app(app)
    # The extension also registers an async teardown for async sessions, which we never
    # use; Flask runs it through asgiref, which starts a thread for every app context:
    # ~1 ms per request, most of what a bare route costs.
    app.teardown_appcontext_funcs[:] = [
        f for f in app.teardown_appcontext_funcs if f.__name__ != "_close_async_sessions"
    ]
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    app.cli.add_command(db_cli)
