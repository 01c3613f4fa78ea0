"""The database: one engine per app, a session per request, Alembic migrations."""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask, g, has_app_context
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Session

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


class QueuedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue for the write lock in the kernel.

    SQLite's busy handler polls a taken lock with sleeps of 1, 2, 5, 10, 15 ms..., so under
    steady writes a waiter keeps missing the moment the lock is free while others cut in:
    waits of 30 ms and more behind transactions of 1 ms. Writers here first take an flock
    on a file beside the database: the kernel wakes a waiter the moment the holder
    commits, and BEGIN IMMEDIATE then seldom waits. It is only a queue: SQLite's lock
    stays the authority, and a process that does not queue (the sqlite3 shell, a backup)
    still waits by the busy timeout.
    """

    queue: int | None = None  # the lock file's descriptor; None for an in-memory database
    queue_path = ""
    queued = False  # this connection holds the queue's flock

    def open_queue(self) -> None:
        """Open the lock file beside the database file, if there is one."""
        path = self.execute("PRAGMA database_list").fetchone()[2]
        if path:
            self.queue_path = f"{path}-queue"
            try:
                self.queue = os.open(self.queue_path, os.O_RDONLY | os.O_CREAT, 0o644)
            except OSError:  # a read-only directory: writers wait by the busy timeout alone
                self.queue = None

    def enter_queue(self) -> None:
        """Wait until this connection is the writer of this process and of every other."""
        # A thread that already writes through another connection would wait for itself
        # forever: it skips the queue and fails after the busy timeout, as without one.
        if self.queue is None or _queue_holders.get(self.queue_path) == threading.get_ident():
            return
        fcntl.flock(self.queue, fcntl.LOCK_EX)  # releases the GIL while it waits
        _queue_holders[self.queue_path] = threading.get_ident()
        self.queued = True

    def leave_queue(self) -> None:
        """Let the next writer in, once this transaction is over."""
        if self.queued:
            self.queued = False
            del _queue_holders[self.queue_path]
            fcntl.flock(self.queue, fcntl.LOCK_UN)  # type: ignore[arg-type]

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_queue()
            if self.queue is not None:
                os.close(self.queue)
                self.queue = None


# Per lock file, the thread of this process whose connection holds its flock.
_queue_holders: dict[str, int] = {}


def _sqlite_factory(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
    cparams["factory"] = QueuedConnection


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
    if isinstance(dbapi_connection, QueuedConnection):
        dbapi_connection.open_queue()


def _sqlite_begin(connection: sa.Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is
    # locked" when another writer committed in between (the busy timeout cannot help);
    # taking the write lock up front makes it wait its turn instead. A read_only
    # connection runs one SELECT at a time, each atomic on its own, beside the writer (WAL).
    if connection.get_execution_options().get("read_only"):
        return
    # A view marked @reads_only or @reads_first takes a snapshot beside the writer instead
    # of the write lock, so pages render in parallel and ticks do not queue behind them.
    if has_app_context() and g.get("snapshot", False):
        connection.exec_driver_sql("BEGIN")
    else:
        _begin_write(connection)


def _begin_write(connection: sa.Connection) -> None:
    dbapi_connection = connection.connection.dbapi_connection
    if not isinstance(dbapi_connection, QueuedConnection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    dbapi_connection.enter_queue()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        dbapi_connection.leave_queue()
        raise


def reads_only(view: F) -> F:
    """Mark a view that never writes: on SQLite it reads without taking the write lock.

    On PostgreSQL its statements run without a transaction. Put it above
    ``login_required``, which loads the user. A flush of changes in it raises: on SQLite
    such a write fails whenever another writer commits first.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        # On SQLite the page's reads share a snapshot (the BEGIN is in-process); a READ
        # COMMITTED transaction on PostgreSQL never gave them one, only two round trips.
        if db.engine.dialect.name != "sqlite":
            db.session.connection(execution_options=no_transaction(db.engine))
        return view(*args, **kwargs)

    return reads_first(wrapped)  # type: ignore[return-value]


def reads_first(view: F) -> F:
    """Mark a view that reads, then writes only inside ``with writing():``.

    On SQLite its reads take a snapshot beside the writer, as in @reads_only, and the
    write lock is held for the block alone. Put it above ``login_required``.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.snapshot = True
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@contextmanager
def writing() -> Iterator[None]:
    """Run the block as the request's write transaction and commit it at the end.

    In a @reads_first view on SQLite the block leaves the snapshot the view read in and
    queues for the write lock, which it holds until the commit. What the view loaded
    before the block is as of that snapshot: load inside the block what the write depends
    on (an object already in the session is not reloaded by a query that finds it again).
    """
    snapshot = g.get("snapshot", False)
    g.snapshot = False  # a transaction begun in the block takes the write lock
    try:
        if snapshot and db.session.in_transaction():
            connection = db.session.connection()
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("COMMIT")  # the snapshot; nothing was written
                _begin_write(connection)
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        g.snapshot = snapshot


@sa.event.listens_for(Session, "before_flush")
def _no_writes_in_a_snapshot(_session: Session, _context: Any, _instances: Any) -> None:
    # On SQLite such a write fails with "database is locked" only when another writer
    # committed since the snapshot began: make it fail every time, on both engines, so
    # the tests see it.
    if has_app_context() and g.get("snapshot", False):
        raise RuntimeError("a write in a @reads_only view, or outside `with writing():`")


def no_transaction(engine: sa.Engine) -> dict[str, Any]:
    """Return the execution options under which each statement runs on its own."""
    if engine.dialect.name == "sqlite":
        # Seen by _sqlite_begin. The pysqlite dialect's AUTOCOMMIT would, when the pool
        # resets the connection, hand transactions back to the driver.
        return {"read_only": True}
    # No BEGIN and ROLLBACK round trips: each statement commits as it ends.
    return {"isolation_level": "AUTOCOMMIT"}


def read(engine: sa.Engine, statement: sa.Executable, **params: Any) -> sa.Row[Any] | None:
    """Run one read-only statement on its own connection and return its first row."""
    with engine.connect().execution_options(**no_transaction(engine)) as connection:
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
        if engine.dialect.driver == "pysqlite":
            sa.event.listen(engine, "do_connect", _sqlite_factory)
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    app.cli.add_command(db_cli)
